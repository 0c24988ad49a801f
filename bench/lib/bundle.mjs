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

// What `nsbox run --memory 64m --pids-limit 100` puts in linux.resources.
export const LIMITS = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 100 } };

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
  const dir = fs.mkdtempSync(path.join(scratch, 'spec-template-'));
  const tool = which('crun') ? 'crun' : which('runc') ? 'runc' : null;
  if (!tool) throw new Error('neither crun nor runc is installed: cannot generate a config.json with `spec`');
  const r = sh(tool, ['spec'], { cwd: dir });
  if (!r.ok) throw new Error(`${tool} spec failed: ${r.stderr.trim()}`);
  template = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  template.__generatedBy = `${tool} spec`;
  return structuredClone(template);
}

// Changes to the stock `crun spec` config, applied to every runtime's bundle alike, only when
// nsbox-runtime fails the stock config with an error matching `match` (see findAdjustments).
export const ADJUSTMENTS = {
  'no-cgroup-mount': {
    what: 'dropped the stock /sys/fs/cgroup mount (type "cgroup")',
    match: /\/sys\/fs\/cgroup/,
    apply: (spec) => {
      spec.mounts = spec.mounts.filter((m) => m.destination !== '/sys/fs/cgroup');
    },
  },
  'inheritable-caps': {
    what: 'set process.capabilities.inheritable to the ambient set (the stock spec has ambient caps that are not inheritable)',
    match: /ambient/i,
    apply: (spec) => {
      const c = spec.process.capabilities;
      if (c?.ambient) c.inheritable = [...new Set([...(c.inheritable ?? []), ...c.ambient])];
    },
  },
};

// opts: { args, namespaces, hostname, adjustments: [keys of ADJUSTMENTS], timeOffsets: bool }
export function makeBundle(scratch, name, rootfs, opts = {}) {
  const spec = specTemplate(scratch);
  const generatedBy = spec.__generatedBy;
  delete spec.__generatedBy;
  spec.process.args = opts.args ?? ['/bin/true'];
  spec.process.terminal = false;
  spec.root = { path: rootfs, readonly: true };
  spec.hostname = opts.hostname ?? 'bench';
  spec.linux.namespaces = (opts.namespaces ?? NAMESPACES).map((type) => ({ type }));
  for (const a of opts.adjustments ?? []) ADJUSTMENTS[a].apply(spec);
  // explicit zero offsets for a time namespace (the runtime-spec's linux.timeOffsets)
  if (opts.timeOffsets) spec.linux.timeOffsets = { monotonic: { secs: 0, nanosecs: 0 }, boottime: { secs: 0, nanosecs: 0 } };
  // `--memory 64m --pids-limit 100`, in every runtime's config.json alike.
  if (opts.limits) spec.linux.resources = { ...spec.linux.resources, ...LIMITS };
  // nsbox's default seccomp filter and docker's device rules, given to every runtime alike.
  if (opts.security) {
    spec.linux.seccomp = opts.security.seccomp;
    spec.linux.resources = { ...spec.linux.resources, devices: opts.security.devices };
  }
  const dir = path.join(scratch, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return { dir, name, generatedBy, namespaces: opts.namespaces ?? NAMESPACES, args: spec.process.args };
}

// What a default `nsbox run` config carries for security (the seccomp section and the device rules),
// from the library's own config builder; null with the reason when this build has no filter.
export async function defaultSecurity() {
  const { ociConfig } = await import('../../ts/dist/index.js');
  const spec = ociConfig({ command: ['/bin/true'], rootfs: '/' });
  const seccomp = spec.linux?.seccomp;
  const devices = spec.linux?.resources?.devices;
  if (!seccomp || !Array.isArray(devices)) return { reason: 'this build puts no seccomp filter or device rules in its default config' };
  return { seccomp, devices, syscalls: seccomp.syscalls?.length ?? 0 };
}

// Probe that prints what the container sees: its pid, hostname and namespace inodes.
export const PROBE_ARGS = [
  '/bin/sh',
  '-c',
  'echo self=$$; echo hostname=$(hostname); for n in pid ipc uts mnt net cgroup time user; do echo ns_$n=$(readlink /proc/self/ns/$n); done',
];

// Probes `rt` with PROBE_ARGS on the stock config; while it fails with an error one of ADJUSTMENTS
// addresses, applies that adjustment and tries again. Returns the adjustments (for all runtimes alike)
// and a note per failure, with the exact command and error.
export function findAdjustments(rt, scratch, rootfs, captureRun, id) {
  const adjustments = [];
  const notes = [];
  for (let attempt = 0; attempt <= Object.keys(ADJUSTMENTS).length; attempt++) {
    const b = makeBundle(scratch, `adjust-probe-${attempt}`, rootfs, { args: PROBE_ARGS, adjustments });
    const r = captureRun(rt, b.dir, `${id}-${attempt}`);
    if (r.ok) break;
    const key = Object.keys(ADJUSTMENTS).find((k) => !adjustments.includes(k) && ADJUSTMENTS[k].match.test(r.stderr));
    if (!key) break;
    adjustments.push(key);
    notes.push(`${rt.name} fails the ${attempt ? 'adjusted' : 'stock'} config: \`${r.command}\` exited ${r.status}: ${r.stderr.split('\n').pop()} → for all runtimes: ${ADJUSTMENTS[key].what}`);
  }
  return { adjustments, notes };
}
