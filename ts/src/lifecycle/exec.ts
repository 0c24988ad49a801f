/** `container.exec()`: a process started inside a running container by `nsbox-runtime exec`. */
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';

import type { ExitStatus } from '../container.js';
import type { StdioOption } from '../options.js';
import { controlSession, type ControlSession } from './driver.js';

export interface ExecOptions {
  /** Extra environment, `K=V` strings or a record. */
  env?: Record<string, string> | string[];
  /** Working directory inside. */
  cwd?: string;
  /** `UID[:GID]` (numeric) or a uid. */
  user?: string | number;
  tty?: boolean;
  /** Defaults: all 'pipe'. */
  stdin?: StdioOption;
  stdout?: StdioOption;
  stderr?: StdioOption;
}

export interface ExecProcess {
  /** Host pid of the exec'd process, once it runs; rejects if it could not be started. */
  readonly pid: Promise<number>;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Its exit status; rejects with a typed error (126/127/125, ContainerStateError when not running). */
  wait(): Promise<ExitStatus>;
  /** Signals the exec'd process (through the runtime). */
  kill(signal?: NodeJS.Signals | number): boolean;
}

export function execArgs(id: string, command: string[], o: ExecOptions): string[] {
  const args = ['exec', '--control-fd', '3'];
  if (o.tty) args.push('-t');
  const env = Array.isArray(o.env) ? o.env : Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of env) args.push('-e', e);
  if (o.cwd !== undefined) args.push('-w', o.cwd);
  if (o.user !== undefined) args.push('-u', String(o.user));
  return [...args, id, '--', ...command];
}

export function startExec(root: string, id: string, command: string[], o: ExecOptions = {}): ExecProcess {
  let resolvePid!: (pid: number) => void;
  let rejectPid!: (e: unknown) => void;
  const pid = new Promise<number>((res, rej) => ((resolvePid = res), (rejectPid = rej)));
  pid.catch(() => {});
  const session: ControlSession = controlSession(root, execArgs(id, command, o), [o.stdin ?? 'pipe', o.stdout ?? 'pipe', o.stderr ?? 'pipe'], (f) => {
    if (f.type === 'started') resolvePid(f.pid);
  });
  const finished = session.done.then(({ frames, error, code }) => {
    if (error) {
      rejectPid(error);
      throw error;
    }
    const exited = frames.find((f) => f.type === 'exited');
    rejectPid(new Error('the exec ended before it started'));
    return exited?.type === 'exited' ? { exitCode: exited.exitCode, signal: exited.signal } : { exitCode: code ?? 125, signal: null };
  });
  finished.catch(() => {});
  return {
    pid,
    stdin: session.child.stdin,
    stdout: session.child.stdout,
    stderr: session.child.stderr,
    wait: () => finished,
    kill: (signal = 'SIGTERM') => {
      const num = typeof signal === 'number' ? signal : osConstants.signals[signal];
      if (num === undefined) throw new TypeError(`Unknown signal: ${String(signal)}`);
      return session.send({ type: 'kill', signal: num });
    },
  };
}
