// Builds the busybox OCI bundles every runtime is measured on.
//
// One rootfs (busybox-static plus its applet symlinks) is shared by several bundle directories; each
// bundle's config.json comes from `crun spec` (or `runc spec`) and is then adjusted identically for all
// runtimes, with root.path pointing at the shared rootfs by absolute path.
import fs from 'node:fs';
import path from 'node:path';
import { sh, which } from './sys.mjs';

// The namespaces compared across crun, runc and nsbox (rootful: no user namespace; no time namespace,
// which crun 1.8 cannot create as root and runc 1.1 does not know).
export const NAMESPACES = ['pid', 'ipc', 'uts', 'mount', 'network', 'cgroup'];

export function buildRootfs(dir) {
  const rootfs = path.join(dir, 'rootfs');
  const bin = path.join(rootfs, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc', 'root']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(bin, 'busybox'));
  fs.chmodSync(path.join(bin, 'busybox'), 0o755);
  const list = sh(path.join(bin, 'busybox'), ['--list']);
  if (!list.ok) throw new Error(`busybox --list failed: ${list.stderr || list.error}`);
  for (const applet of list.stdout.split('\n').map((s) => s.trim())) {
    if (!applet || applet === 'busybox' || applet.includes('/')) continue;
    const link = path.join(bin, applet);
    if (!fs.existsSync(link)) fs.symlinkSync('busybox', link);
  }
  fs.writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\n');
  return rootfs;
}

let template = null;
function specTemplate(scratch) {
  if (template) return structuredClone(template);
  const dir = path.join(scratch, 'spec-template');
  fs.mkdirSync(dir, { recursive: true });
  const tool = which('crun') ? 'crun' : which('runc') ? 'runc' : null;
  if (!tool) throw new Error('neither crun nor runc is installed: cannot generate a config.json with `spec`');
  const r = sh(tool, ['spec'], { cwd: dir });
  if (!r.ok) throw new Error(`${tool} spec failed: ${r.stderr.trim()}`);
  template = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  template.__generatedBy = `${tool} spec`;
  return structuredClone(template);
}

// opts: { args, namespaces, hostname }
export function makeBundle(scratch, name, rootfs, opts = {}) {
  const spec = specTemplate(scratch);
  const generatedBy = spec.__generatedBy;
  delete spec.__generatedBy;
  spec.process.args = opts.args ?? ['/bin/true'];
  spec.process.terminal = false;
  spec.root = { path: rootfs, readonly: true };
  spec.hostname = opts.hostname ?? 'bench';
  spec.linux.namespaces = (opts.namespaces ?? NAMESPACES).map((type) => ({ type }));
  const dir = path.join(scratch, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return { dir, name, generatedBy, namespaces: opts.namespaces ?? NAMESPACES, args: spec.process.args };
}

// Probe that prints what the container sees: its pid, hostname and namespace inodes.
export const PROBE_ARGS = [
  '/bin/sh',
  '-c',
  'echo self=$$; echo hostname=$(hostname); for n in pid ipc uts mnt net cgroup time user; do echo ns_$n=$(readlink /proc/self/ns/$n); done',
];
