/** Lifecycle errors: typed classes over the runtime's wire codes, all with docker's exit code 125. */
import { fromWire, NsboxError, RuntimeError, type WireError } from '../errors.js';

/** No container with that id, name or id prefix (`ERR_NO_SUCH_CONTAINER`). */
export class ContainerNotFoundError extends NsboxError {
  constructor(ref: string) {
    super({ code: 'ERR_NO_SUCH_CONTAINER', op: 'find container', path: null, errno: null, message: `no such container: ${ref}` });
  }
}

/** The name is taken (`ERR_NAME_IN_USE`). */
export class NameInUseError extends NsboxError {}

/**
 * The operation needs a running container (`ERR_NOT_RUNNING`), a stopped one (`ERR_IS_RUNNING`), a
 * created one (`ERR_NOT_CREATED`), a paused one (`ERR_NOT_PAUSED`), or one that is not paused (`ERR_PAUSED`).
 */
export class ContainerStateError extends NsboxError {}

/** An unknown signal name or number (`ERR_BAD_SIGNAL`). */
export class BadSignalError extends NsboxError {}

export function lifecycleError(code: string, op: string, path: string | null, message: string): NsboxError {
  return fromLifecycleWire({ code, op, path, errno: null, message });
}

/** Like fromWire, with the lifecycle codes mapped to their classes. */
export function fromLifecycleWire(w: WireError & { exitCode?: number }): NsboxError {
  switch (w.code) {
    case 'ERR_NO_SUCH_CONTAINER':
      return new ContainerNotFoundError(w.message.replace(/^no such container: /, ''));
    case 'ERR_NAME_IN_USE':
      return new NameInUseError(w);
    case 'ERR_NOT_RUNNING':
    case 'ERR_IS_RUNNING':
    case 'ERR_NOT_CREATED':
    case 'ERR_PAUSED':
    case 'ERR_NOT_PAUSED':
      return new ContainerStateError(w);
    case 'ERR_BAD_SIGNAL':
      return new BadSignalError(w);
    case 'ERR_AMBIGUOUS_ID':
    case 'ERR_STATE':
      return new RuntimeError(w);
    default:
      return fromWire(w);
  }
}

/** The runtime's `--json` stderr: one JSON object per error line; anything else becomes a RuntimeError. */
export function fromStderr(op: string, stderr: string, exitCode: number | null): NsboxError {
  for (const line of stderr.split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    try {
      return fromLifecycleWire(JSON.parse(line) as WireError);
    } catch {
      /* not ours */
    }
  }
  return new RuntimeError({ code: 'ERR_RUNTIME', op, path: null, errno: null, message: stderr.trim() || `nsbox-runtime exited with ${exitCode}` });
}
