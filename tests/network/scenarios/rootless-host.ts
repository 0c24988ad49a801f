/**
 * The throwaway "host" the rootless scenarios share (rootless.ts, rootless-extra.ts), inside the
 * `unshare --net --mount` namespace they run in: a veth pair h0/h1 is "the host's network" (h0
 * 192.0.2.1 and 192.0.2.9, h1 192.0.2.254 the gateway; pasta gives the container h0's first
 * address, so test servers listen on the second). The tun device is /dev/net/tun on a tmpfs of this
 * mount namespace (mode 0666), the machine's own node untouched (it is 0600 here). State lives
 * under an XDG_RUNTIME_DIR of nobody's on a tmpfs; /tmp is a tmpfs of this namespace too. The
 * host's resolv.conf (what pasta and slirp4netns forward DNS to) names 192.0.2.9. Sysctls set here
 * (ping_group_range) are this network namespace's own: the machine's are never touched.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../../cli/dist/main.js', import.meta.url));
export const NOBODY = 65534;
export const AS_NOBODY = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
export const XDG = '/mnt/xdg';

/** Builds the fake host; `pingGroups` is this netns's net.ipv4.ping_group_range. */
export function setupHost(pingGroups = '0 2147483647'): void {
  for (const c of [
    'ip link set lo up', 'ip link add h0 type veth peer name h1', 'ip addr add 192.0.2.1/24 dev h0', 'ip addr add 192.0.2.9/24 dev h0',
    'ip addr add 192.0.2.254/24 dev h1', 'ip link set h0 up', 'ip link set h1 up', 'ip route add default via 192.0.2.254 dev h0',
    'mount -t tmpfs -o mode=755 nsbox-test-tun /dev/net', 'mknod -m 666 /dev/net/tun c 10 200',
    'mount -t tmpfs -o mode=1777 nsbox-test-tmp /tmp', 'mount -t tmpfs -o mode=755 nsbox-test-xdg /mnt',
    // The host's resolver, as the helpers read it: a test listener on 192.0.2.9.
    'echo nameserver 192.0.2.9 > /mnt/resolv.conf', 'mount --bind /mnt/resolv.conf /etc/resolv.conf',
  ]) execFileSync('sh', ['-c', c]);
  setPingGroups(pingGroups);
  mkdirSync(XDG, { mode: 0o700 });
  chownSync(XDG, NOBODY, NOBODY);
}

/** Ping sockets for the helpers: this namespace's sysctl only (it is per network namespace). */
export function setPingGroups(range: string): void {
  execFileSync('sysctl', ['-qw', `net.ipv4.ping_group_range=${range}`]);
}

export type Cli = { code: number | null; stdout: string; stderr: string };

/** The CLI as nobody, with its own XDG_RUNTIME_DIR; logs how long it took on stderr. */
export function cli(args: string[], env: Record<string, string> = {}): Cli {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), process.execPath, CLI, ...args], {
    encoding: 'utf8', timeout: 30_000, cwd: '/', env: { PATH: process.env.PATH!, HOME: '/nonexistent', XDG_RUNTIME_DIR: XDG, ...env },
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stderr.write(`nsbox ${args.slice(0, 4).join(' ')}: ${ms.toFixed(0)} ms\n`);
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * Whether `pid` belongs to this scenario: in its network namespace (pasta and slirp4netns keep their
 * sockets there, though pasta sandboxes itself in a mount namespace of its own) or its mount
 * namespace (processes that moved to another network namespace). Other test files' scenarios, run
 * at the same time by ava, have both of their own, so their helpers are not taken for ours.
 */
export function ofThisScenario(pid: number): boolean {
  const same = (ns: string) => {
    try {
      return readlinkSync(`/proc/${pid}/ns/${ns}`) === readlinkSync(`/proc/self/ns/${ns}`);
    } catch {
      return false;
    }
  };
  return same('net') || same('mnt');
}

/** Live (not zombie: this machine's PID 1 reaps nothing) processes whose command line names `tag`. */
export function liveProcs(tag: string): Array<{ pid: number; name: string; args: string }> {
  const out: Array<{ pid: number; name: string; args: string }> = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      const state = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmd.includes(tag) && state !== 'Z' && Number(p) !== process.pid) out.push({ pid: Number(p), name: cmd.split('\0')[0]!.split('/').pop()!, args: cmd });
    } catch {
      /* gone */
    }
  }
  return out;
}
