/**
 * Starting a detached container: `nsbox-runtime run --detach` (or `create`) with the spec on the
 * control socket. The hooks (networking) run when the runtime reports `created`; what they attached
 * is recorded in the container's endpoints.json before the command may start, so whichever process
 * removes the container later can release it.
 */
import { constants as osConstants } from 'node:os';

import { invalidSpec, type NsboxError } from '../errors.js';
import { prepareHooks, startHooks, type Teardown } from '../hooks.js';
import type { Endpoint } from '../network/types.js';
import { validateOptions, type RunOptions } from '../options.js';
import { randomHex } from '../random.js';
import { buildSpec } from '../spec.js';
import { prepareImage } from '../images/prepare.js';
import { ensureImage } from '../images/ensure.js';
import { controlSession, runtimeCommand } from './driver.js';
import { recordOf, releaseEndpoints, writeEndpoints, type EndpointRecord } from './endpoints.js';

/** Options of a detached container: the run options (stdio is the log), plus lifecycle ones. */
export interface DetachedRunOptions extends Omit<RunOptions, 'stdin' | 'stdout' | 'stderr' | 'signal' | 'newSession' | 'interactive'> {
  /** Remove everything when the container exits (`--rm`). */
  rm?: boolean;
  /** Rotate the log at this many bytes (default 10 MiB). */
  logMaxSize?: number;
  /**
   * Keep the container's stdin open (docker's `-d -i`): a pipe held by the monitor, written by
   * `attach` clients; without a tty it reads EOF only when an attach client closes it.
   */
  interactive?: boolean;
  /**
   * Kill the container when the process with this pid ends (`--die-with`), even by SIGKILL; the
   * container then exits as any other (status exited, `rm` removes it). A pid already gone kills it at once.
   */
  dieWith?: number;
}

export interface Launched {
  id: string;
  name: string | undefined;
  pid: number | null;
  /** Teardowns of this process's hooks other than network endpoints (those are in endpoints.json). */
  teardowns: Teardown[];
}

/** Runs (mode 'run') or creates (mode 'create': held before its command) a detached container. */
export async function launch(root: string, options: DetachedRunOptions, mode: 'run' | 'create'): Promise<Launched> {
  const { rm, logMaxSize, interactive, dieWith, ...rest } = options;
  if (dieWith !== undefined && !(Number.isSafeInteger(dieWith) && dieWith > 0)) throw invalidSpec('dieWith', 'must be a process id (a positive whole number)');
  if (logMaxSize !== undefined && !(Number.isSafeInteger(logMaxSize) && logMaxSize > 0)) throw invalidSpec('logMaxSize', 'must be a positive whole number of bytes');
  // The pull policy first (an image missing from the store is pulled, like docker run).
  const validated = await ensureImage(validateOptions({ ...rest, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' }));
  const id = randomHex(32);
  // An image: the container's writable layer in the store (the runtime's delete and --rm remove it).
  const image = prepareImage(id, validated);
  // Hooks' prepare stages (networking's /etc files) add volumes; undone below if starting fails.
  let prepared: ReturnType<typeof prepareHooks>;
  try {
    prepared = prepareHooks(id, image.options);
  } catch (e) {
    for (const t of image.teardowns) await t.teardown().catch(() => {});
    throw e;
  }
  const teardowns: Teardown[] = [...image.teardowns, ...prepared.teardowns];
  const records: EndpointRecord[] = [];
  const undo = async () => {
    await releaseEndpoints(records.splice(0));
    for (const t of teardowns.splice(0).reverse()) await Promise.resolve(t.teardown()).catch(() => {});
  };
  let spec;
  try {
    spec = buildSpec(prepared.options, { ...image.annotations, ...prepared.annotations }).spec;
  } catch (e) {
    await undo();
    throw e;
  }
  const args = mode === 'run' ? ['run', '--detach'] : ['create', '--monitor'];
  args.push('--config-fd', '3', '--control-fd', '3');
  if (options.name !== undefined) args.push('--name', options.name);
  if (rm) args.push('--rm');
  if (interactive) args.push('-i');
  if (logMaxSize !== undefined) args.push('--log-max-size', String(logMaxSize));
  if (dieWith !== undefined) args.push('--die-with', String(dieWith));
  let hookError: NsboxError | undefined;
  let hooksDone: Promise<void> = Promise.resolve();
  const session = controlSession(root, [...args, id], ['ignore', 'ignore', 'pipe'], (f) => {
    if (f.type === 'created') hooksDone = runHooks(f.pid);
  });
  const runHooks = async (pid: number) => {
    for (const hook of startHooks()) {
      try {
        // The options before prepare, as container.ts gives them: the prepared ones bind the /etc
        // files already, which networking would take for the caller's own (and then not fill them in).
        const t = await hook({ id, pid, spec, options: image.options });
        const ep = (t as { endpoint?: Endpoint } | undefined)?.endpoint;
        if (ep) records.push(await recordOf(id, ep, process.env.NSBOX_ROOT || undefined));
        else if (t) teardowns.push(t);
      } catch (e) {
        hookError = e as NsboxError;
        break;
      }
    }
    if (!hookError && records.length) {
      try {
        writeEndpoints(root, id, records);
      } catch (e) {
        hookError = e as NsboxError;
      }
    }
    if (hookError) session.send({ type: 'kill', signal: osConstants.signals.SIGKILL });
    // run: the runtime waits for `start` even after the kill (then it reports the exit).
    if (mode === 'run') session.send({ type: 'start' });
  };
  session.send({ type: 'config', spec });
  const { frames, error } = await session.done;
  await hooksDone;
  if (hookError && mode === 'create') {
    // The runtime has already left the container to its monitor: remove it.
    await runtimeCommand(root, ['delete', '--force', id]).catch(() => {});
  }
  if (hookError || error) {
    await undo();
    throw hookError ?? error;
  }
  const f = frames.find((x) => x.type === 'started' || x.type === 'created');
  return { id, name: options.name, pid: f && 'pid' in f ? f.pid : null, teardowns };
}
