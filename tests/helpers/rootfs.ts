/**
 * A throwaway busybox root filesystem for `--rootfs` tests, built from Debian's busybox-static:
 * one static binary plus a symlink per applet, so it needs nothing from the host at run time.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const BUSYBOX = '/bin/busybox';

export interface Rootfs {
  /** The temp directory holding everything (rootfs and any scratch files). */
  dir: string;
  /** The root filesystem itself. */
  root: string;
  remove(): void;
}

/** Static binaries have no ELF interpreter; Debian's dynamic `busybox` package does. */
function isStatic(file: string): boolean {
  return !readFileSync(file).includes('/lib64/ld-linux');
}

function ensureBusyboxStatic(): void {
  if (existsSync(BUSYBOX) && isStatic(BUSYBOX)) return;
  execFileSync('apt-get', ['install', '-y', '-q', 'busybox-static'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (!existsSync(BUSYBOX) || !isStatic(BUSYBOX)) throw new Error(`${BUSYBOX} is not a static busybox even after installing busybox-static`);
}

export function makeBusyboxRootfs(): Rootfs {
  ensureBusyboxStatic();
  const dir = mkdtempSync(path.join(tmpdir(), 'nsbox-test-'));
  // mkdtemp makes 0700 dirs; a container root mapped to another host uid must still traverse them.
  chmodSync(dir, 0o755);
  const root = path.join(dir, 'rootfs');
  for (const d of ['bin', 'dev', 'etc', 'proc', 'sys', 'tmp', 'run', 'root', 'mnt', 'data']) mkdirSync(path.join(root, d), { recursive: true });
  chmodSync(path.join(root, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, path.join(root, 'bin', 'busybox'));
  chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', path.join(root, 'bin', a));
  mkdirSync(path.join(root, 'usr'));
  symlinkSync('../bin', path.join(root, 'usr', 'bin'));
  symlinkSync('bin', path.join(root, 'sbin'));
  writeFileSync(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(path.join(root, 'etc', 'group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  return { dir, root, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
