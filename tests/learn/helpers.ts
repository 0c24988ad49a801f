/**
 * Learn mode's tests run everything inside a throwaway `unshare --net --mount --ipc` "host": S12–S15
 * create bridges (as nobody: a rootless holder, which dies with it too), S4 a queue in the host's IPC
 * namespace; both die with it. Each run gets a private
 * state root (NSBOX_ROOT) that the test removes.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { runCli, type CliResult } from '../helpers/cli.js';
import { AS_NOBODY, NOBODY } from '../helpers/nobody.js';
import { runScenarioFile, type ScenarioResult } from '../helpers/scenario.js';

export const THROWAWAY_HOST = ['unshare', '--net', '--mount', '--ipc', '--propagation', 'private', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh'];

/**
 * The throwaway host as an ordinary user's rootless networks need it (as tests/network/scenarios/
 * rootless*.ts build it): an uplink with a default route for the holder's pasta, and a tun node of
 * mode `tun` on a tmpfs over /dev/net of this mount namespace (0666: nobody can open it; 0600: not).
 */
export function throwawayTunHost(tun: '666' | '600'): string[] {
  return ['unshare', '--net', '--mount', '--ipc', '--propagation', 'private', '--', 'sh', '-c', `${tunHostSetup(tun)} && exec "$@"`, 'sh'];
}

/** The shell commands of throwawayTunHost, for a process already inside the throwaway namespace. */
export function tunHostSetup(tun: '666' | '600'): string {
  return [
    'ip link set lo up', 'ip link add h0 type veth peer name h1', 'ip addr add 192.0.2.1/24 dev h0', 'ip addr add 192.0.2.254/24 dev h1',
    'ip link set h0 up', 'ip link set h1 up', 'ip route add default via 192.0.2.254 dev h0',
    'mount -t tmpfs -o mode=755 nsbox-test-tun /dev/net', `mknod -m ${tun} /dev/net/tun c 10 200`,
  ].join(' && ');
}

export interface StateRoot { dir: string; home: string; remove(): void }

/** A private state root and a home for caches (owned by `uid`), removed by `remove()`. */
export function stateRoot(uid = 0): StateRoot {
  const parent = mkdtempSync(path.join(tmpdir(), 'nsbox-learn-test-'));
  chmodSync(parent, 0o755);
  const [dir, home] = ['state', 'home'].map((d) => path.join(parent, d)) as [string, string];
  for (const d of [dir, home]) {
    mkdirSync(d, { mode: 0o700 });
    chownSync(d, uid, uid);
  }
  return { dir, home, remove: () => rmSync(parent, { recursive: true, force: true }) };
}

/**
 * `nsbox learn …` in a throwaway host namespace, as root or as nobody (with a tun node of mode `tun`,
 * or the machine's own /dev/net/tun when `tun` is not given).
 */
export function learnCli(args: string[], root: StateRoot, o: { nobody?: boolean; tun?: '666' | '600' } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NSBOX_ROOT: root.dir, XDG_RUNTIME_DIR: '' };
  if (o.nobody) env.HOME = root.home;
  const host = o.tun ? throwawayTunHost(o.tun) : THROWAWAY_HOST;
  return runCli(['learn', ...args], { prefix: [...host, ...(o.nobody ? AS_NOBODY : [])], env });
}

export function learnScenario<T>(name: string, env: NodeJS.ProcessEnv = {}): Promise<ScenarioResult<T>> {
  const file = fileURLToPath(new URL(`./scenarios/${name}.ts`, import.meta.url));
  return runScenarioFile<T>(file, ['--net', '--mount', '--ipc'], env);
}

/** One `--check` line: `S4  shown   …`, `S12 FAILED  …`, `S12 not shown here: …`. */
export function checkLines(stdout: string): Map<string, { status: string; text: string }> {
  const out = new Map<string, { status: string; text: string }>();
  for (const l of stdout.split('\n')) {
    const m = /^(S\d+)\s+(shown|FAILED|not shown here:)\s+(.*)$/.exec(l);
    if (m) out.set(m[1]!, { status: m[2]!.replace(':', ''), text: m[3]! });
  }
  return out;
}

/** Scratch directories a learn session of a dead process left in the temp directory. */
export function learnScratch(): string[] {
  return readdirSync(tmpdir()).filter((d) => /^nsbox-learn-\d+\.\d+\.\d+-/.test(d));
}

export { NOBODY };
