/**
 * Typed errors built from the structured `WireError` every layer passes on
 * (`{code, op, path, errno, message}`), so callers branch on classes or `code`
 * instead of parsing text.
 */

/** The JSON shape the runtime and the addon report failures in (docs/protocol.md). */
export interface WireError {
  /** errno name (`EPERM`, `ENOENT`, …) or `ERR_INVALID_SPEC`, `ERR_RUNTIME`, `ERR_PROTOCOL`. */
  code: string;
  /** The step that failed (`pivot_root`, `write uid_map`, …) or, for spec errors, the option at fault. */
  op: string;
  path: string | null;
  errno: number | null;
  message: string;
  /** Only on runtime error frames: what the runtime exits with (125, or 126/127 for exec failures). */
  exitCode?: number;
}

export class NsboxError extends Error {
  readonly code: string;
  readonly op: string;
  readonly path: string | null;
  readonly errno: number | null;
  /** The exit status a shell would report for this failure (docker's: 125, 126, 127). */
  readonly exitCode: number;

  constructor(wire: WireError, exitCode = wire.exitCode ?? 125) {
    super(formatWire(wire));
    this.name = new.target.name;
    this.code = wire.code;
    this.op = wire.op;
    this.path = wire.path ?? null;
    this.errno = wire.errno ?? null;
    this.exitCode = exitCode;
  }
}

/** An option was rejected; `field` names it (`namespaces`, `volumes[0].source`, …). */
export class InvalidSpecError extends NsboxError {
  get field(): string {
    return this.op;
  }
}

/** The kernel said EPERM or EACCES. */
export class PermissionError extends NsboxError {}

/** A file or directory the container needed does not exist (ENOENT). */
export class NotFoundError extends NsboxError {}

/** The command could not be found (exit code 127). */
export class CommandNotFoundError extends NsboxError {}

/** The command exists but could not be executed (exit code 126). */
export class CommandNotExecutableError extends NsboxError {}

/** Any other runtime failure (exit code 125), including protocol violations. */
export class RuntimeError extends NsboxError {}

/**
 * An image or archive is unusable, and the base of every image failure: a blob that does not hash to
 * its digest (`ERR_DIGEST_MISMATCH`, from a registry or an archive), a hostile or unsupported layer
 * entry (`ERR_LAYER_REFUSED`), a malformed manifest or archive (`ERR_INVALID_IMAGE`), or images asked
 * of a rootless store (`ERR_ROOTLESS_IMAGE`).
 */
export class ImageError extends NsboxError {}

/** No such image in the store or the registry (`ERR_IMAGE_NOT_FOUND`): pull or load it. */
export class ImageNotFoundError extends ImageError {}

/** The image is used by a container (`ERR_IMAGE_IN_USE`): remove the container, or force. */
export class ImageInUseError extends ImageError {}

/**
 * A registry failure: `code` says which (`ERR_REGISTRY_UNAUTHORIZED`, `ERR_REGISTRY_DENIED`,
 * `ERR_REGISTRY_UNREACHABLE`, `ERR_REGISTRY_REFUSED`, `ERR_IMAGE_MANIFEST`, `ERR_INVALID_REFERENCE`, …);
 * the message names the reference (and digest).
 */
export class RegistryError extends ImageError {}

/** A network start hook's teardown failed; every failure is kept, cleaning went on regardless. */
export class TeardownError extends NsboxError {
  readonly errors: unknown[];
  constructor(errors: unknown[]) {
    const first = errors[0] instanceof Error ? errors[0].message : String(errors[0]);
    super({ code: 'ERR_RUNTIME', op: 'teardown', path: null, errno: null, message: `${errors.length} teardown step(s) failed; first: ${first}` });
    this.errors = errors;
  }
}

/**
 * Like child_process: aborting through `options.signal` rejects with an error named `AbortError`
 * (code `ABORT_ERR`), with the AbortSignal's reason as `cause`.
 */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(cause?: unknown) {
    super('The operation was aborted', { cause });
    this.name = 'AbortError';
  }
}

/** `op(path): CODE: message`, the one format humans see everywhere (same as the runtime's stderr). */
export function formatWire(w: Pick<WireError, 'code' | 'op' | 'path' | 'message'>): string {
  const where = w.path ? `${w.op}(${w.path})` : w.op;
  return `${where}: ${w.code}: ${w.message}`;
}

/** Picks the error class for a WireError (from an `error` frame or the addon). */
export function fromWire(obj: unknown): NsboxError {
  const wire = toWire(obj);
  if (wire.exitCode === 127) return new CommandNotFoundError(wire);
  if (wire.exitCode === 126) return new CommandNotExecutableError(wire);
  switch (wire.code) {
    case 'ERR_INVALID_SPEC':
      return new InvalidSpecError(wire);
    case 'EPERM':
    case 'EACCES':
      return new PermissionError(wire);
    case 'ENOENT':
      return new NotFoundError(wire);
    case 'ERR_IMAGE_NOT_FOUND':
      return new ImageNotFoundError(wire);
    case 'ERR_IMAGE_IN_USE':
      return new ImageInUseError(wire);
    case 'ERR_DIGEST_MISMATCH':
    case 'ERR_LAYER_REFUSED':
    case 'ERR_INVALID_IMAGE':
    case 'ERR_ROOTLESS_IMAGE':
      return new ImageError(wire);
    default:
      if (/^ERR_(REGISTRY|IMAGE|DIGEST|INVALID_REFERENCE)/.test(wire.code)) return new RegistryError(wire);
      return new RuntimeError(wire);
  }
}

/** Spec errors raised in TS, before anything reaches the addon. */
export function invalidSpec(field: string, message: string): InvalidSpecError {
  return new InvalidSpecError({ code: 'ERR_INVALID_SPEC', op: field, path: null, errno: null, message });
}

export function protocolError(op: string, message: string): RuntimeError {
  return new RuntimeError({ code: 'ERR_PROTOCOL', op, path: null, errno: null, message });
}

const PREFIX = 'NSBOX_ERROR:';

/** The addon throws `Error('NSBOX_ERROR:{json}')`; anything else is passed through unchanged. */
export function fromNative(err: unknown): unknown {
  if (err instanceof Error && err.message.startsWith(PREFIX)) {
    try {
      return fromWire(JSON.parse(err.message.slice(PREFIX.length)));
    } catch {
      return err;
    }
  }
  return err;
}

/** Normalises a loosely typed object into a WireError, so a malformed frame still yields a usable error. */
function toWire(obj: unknown): WireError {
  const o = (typeof obj === 'object' && obj !== null ? obj : {}) as Record<string, unknown>;
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const exitCode = num(o.exitCode);
  return {
    code: str(o.code) ?? 'ERR_RUNTIME',
    op: str(o.op) ?? 'unknown',
    path: str(o.path),
    errno: num(o.errno),
    message: str(o.message) ?? (typeof obj === 'string' ? obj : JSON.stringify(obj)),
    ...(exitCode === null ? {} : { exitCode }),
  };
}
