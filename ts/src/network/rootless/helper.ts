/**
 * Rootless containers reach the network through a user-mode helper: `pasta` (Debian: passt), else
 * `slirp4netns`. Choosing one, checking what it needs (/dev/net/tun), and starting it under our
 * keeper (`nsbox-runtime net-helper`, crates/nsbox-net/src/rootless/), which ties the helper's life
 * to the container's first process. Every failure says what is wrong and what to do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { fromWire, invalidSpec, type NsboxError } from '../../errors.js';
import type { PortMapping } from '../../network-options.js';
import { runtimePath } from '../../platform.js';

export type HelperKind = 'pasta' | 'slirp4netns';

const PACKAGE: Record<HelperKind, string> = { pasta: 'passt', slirp4netns: 'slirp4netns' };
const ENV: Record<HelperKind, string> = { pasta: 'NSBOX_PASTA', slirp4netns: 'NSBOX_SLIRP4NETNS' };
/** The DNS address the container's resolv.conf points at (what each helper forwards). */
export const HELPER_DNS: Record<HelperKind, string> = { pasta: '169.254.1.1', slirp4netns: '10.0.2.3' };

function err(code: string, op: string, p: string | null, message: string): NsboxError {
  return fromWire({ code, op, path: p, errno: null, message });
}

/** `NSBOX_PASTA`/`NSBOX_SLIRP4NETNS` when set, else the first executable on PATH or the usual dirs. */
export function findHelper(kind: HelperKind): string | null {
  const fromEnv = process.env[ENV[kind]];
  const dirs = fromEnv ? [] : [...(process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), '/usr/bin', '/usr/sbin', '/bin', '/sbin'];
  for (const file of fromEnv ? [fromEnv] : dirs.map((d) => path.join(d, kind))) {
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      /* next */
    }
  }
  return null;
}

function missing(kind: HelperKind): NsboxError {
  const where = process.env[ENV[kind]] ? `${ENV[kind]}=${process.env[ENV[kind]]} is not an executable file` : `${kind} is not installed`;
  return err('ENOENT', 'find network helper', kind, `${where}: rootless networking needs it (Debian: apt-get install ${PACKAGE[kind]})`);
}

/** 'pasta'/'slirp4netns': that one; undefined: pasta when installed, else slirp4netns. */
export function chooseHelper(wanted: HelperKind | undefined): { kind: HelperKind; path: string } {
  if (wanted) {
    const p = findHelper(wanted);
    if (!p) throw missing(wanted);
    return { kind: wanted, path: p };
  }
  for (const kind of ['pasta', 'slirp4netns'] as const) {
    const p = findHelper(kind);
    if (p) return { kind, path: p };
  }
  throw err('ENOENT', 'find network helper', 'pasta', 'neither pasta nor slirp4netns is installed: rootless networking needs one (Debian: apt-get install passt, or apt-get install slirp4netns)');
}

/** Both helpers open /dev/net/tun for the container's tap device: say so before they fail. */
export function checkTun(kind: HelperKind, dev = '/dev/net/tun'): void {
  try {
    accessSync(dev, constants.R_OK | constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EACCES';
    let mode = '';
    try {
      const st = statSync(dev);
      mode = `is mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${st.uid}, so `;
    } catch {
      /* missing */
    }
    const fix = code === 'ENOENT'
      ? 'load the tun module (modprobe tun) or create it: mknod /dev/net/tun c 10 200; chmod 0666 /dev/net/tun'
      : `as root: chmod 0666 ${dev} (Debian's default; keep it with a udev rule KERNEL=="tun", MODE="0666")`;
    throw err(code, 'open tun device', dev, `${mode}uid ${process.getuid?.()} cannot open it, and ${kind} needs it for the container's tap device; fix: ${fix}`);
  }
}

export interface HelperOptions {
  kind: HelperKind;
  helper: string;
  /**
   * The keeper's socket (in `dir`), which the runtime connects to as soon as the container's
   * namespaces exist (its annotation org.nsbox.net-helper-socket) to hand them over.
   */
  socket: string;
  dir: string;
  hostLoopback: boolean;
  ports: PortMapping[];
  cleanup: string[];
  /**
   * The keeper makes the container's user and network namespaces itself and starts the helper on
   * them before the runtime needs them (the runtime's org.nsbox.net-helper-namespaces: receive).
   * The keeper is then spawned at once, before the runtime, which waits for those namespaces.
   */
  makeNamespaces?: boolean;
}

export interface StartedHelper {
  kind: HelperKind;
  helperPid: number;
  keeperPid: number;
  dir: string;
  /** Stops the helper (the keeper does it and removes its files) and waits for the keeper. */
  stop(): Promise<void>;
}

export interface PendingHelper {
  /** Resolves once the runtime handed the container over and the helper is up. */
  ready(): Promise<StartedHelper>;
  /** The runtime never got to the hand-over (it failed): the keeper leaves; resolves once it is gone. */
  abandon(): Promise<void>;
}

type Answer = { ready?: boolean; helperPid?: number; keeperPid?: number; code?: string; message?: string };

/**
 * Starts the keeper before the runtime (on the next turn of the event loop, so that the runtime's
 * own spawn goes first): it listens on `socket` for the container's namespaces and starts the
 * helper on them while the runtime sets the container up (crates/nsbox-net/src/rootless/handover.rs).
 */
export function spawnKeeper(o: HelperOptions): PendingHelper {
  const config = { kind: o.kind, helper: o.helper, socket: o.socket, dir: o.dir, hostLoopback: o.hostLoopback, cleanup: o.cleanup, makeNamespaces: o.makeNamespaces ?? false,
    ports: o.ports.map((p) => ({ hostIp: p.hostIp ?? null, hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol ?? 'tcp' })) };
  let child: ChildProcess | undefined;
  let cancelled = false;
  let spawnError: NodeJS.ErrnoException | undefined;
  let exited: Promise<void> = Promise.resolve();
  let first: Promise<string> = Promise.resolve('');
  const launch = (resolve: () => void) => {
    if (!cancelled) {
      // detached: its own session, so a terminal's ^C reaches the container, not the helper. Its
      // stdin is ours until the hand-over: closed (we gave up, or died), the keeper leaves.
      const c = spawn(runtimePath(), ['net-helper', JSON.stringify(config)], { detached: true, stdio: ['pipe', 'pipe', 'ignore'] });
      child = c;
      exited = new Promise<void>((res) => c.once('exit', () => res()));
      first = new Promise<string>((res) => {
        c.once('error', (e) => {
          spawnError = e;
          res('');
        });
        const lines = createInterface({ input: c.stdout! });
        lines.once('line', (l) => res(l));
        lines.once('close', () => res(''));
      });
      c.stdin?.on('error', () => {});
    }
    resolve();
  };
  // Making the namespaces, the keeper is what the runtime waits for: it goes first. Otherwise the
  // runtime's own spawn goes first, and the keeper follows on the event loop's next turn.
  const launched = new Promise<void>((resolve) => (o.makeNamespaces ? launch(resolve) : setImmediate(() => launch(resolve))));
  return {
    async ready() {
      await launched;
      const line = await first;
      const c = child!;
      if (spawnError) throw err(spawnError.code ?? 'ERR_RUNTIME', 'start network helper keeper', runtimePath(), spawnError.message);
      c.stdout?.destroy();
      c.stdin?.destroy();
      let answer: Answer = {};
      try {
        answer = JSON.parse(line) as Answer;
      } catch {
        /* below */
      }
      if (!answer.ready || !answer.helperPid) {
        await exited;
        // The keeper's message is already `op(path): CODE: detail`: keep its parts.
        const m = /^(.+?)\((.*?)\): (\S+): (.*)$/s.exec(answer.message ?? '');
        if (m) throw err(m[3]!, m[1]!, m[2]!, m[4]!);
        throw err(answer.code ?? 'ERR_NETWORK_HELPER', `start ${o.kind}`, o.helper, answer.message ?? `the keeper ended without an answer (${line || 'no output'})`);
      }
      c.unref();
      return {
        kind: o.kind, helperPid: answer.helperPid, keeperPid: answer.keeperPid ?? c.pid!, dir: o.dir,
        async stop() {
          // Already gone (the container ended first, so the keeper did its work): nothing to signal,
          // and its pid may not be ours any more.
          if (c.exitCode !== null || c.signalCode !== null) return;
          // Referenced again: waiting for it must keep the process alive (it was unref'd so that a
          // detached container's starter can exit while the keeper runs on).
          c.ref();
          c.kill('SIGTERM');
          await exited;
        },
      };
    },
    async abandon() {
      cancelled = true;
      await launched;
      const c = child;
      if (!c || spawnError) return;
      c.stdout?.destroy();
      // Before the hand-over this is enough (end of stdin); after it the keeper stops its helper
      // on SIGTERM as at any teardown.
      c.stdin?.destroy();
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      await exited;
    },
  };
}

/** The rootless helper names `network` may take. */
export function helperOf(network: string): HelperKind | undefined {
  return network === 'pasta' || network === 'slirp4netns' ? network : undefined;
}

/** What a rootless container may not ask for with a helper. */
export function refuseBridgeOnly(o: { ip?: string; mac?: string }, network: string): void {
  if (o.ip !== undefined) throw invalidSpec('ip', `network ${network} (a user-mode helper) takes the host's address; --ip needs a bridge network`);
  if (o.mac !== undefined) throw invalidSpec('mac', `network ${network} (a user-mode helper) does not take --mac-address; it needs a bridge network`);
}
