// Section "start-to-exit": `nsbox-runtime run` vs `crun run` vs `runc run` of /bin/true on one busybox
// bundle with the same namespaces, alternating runtimes run by run (a new shuffled order every round so
// drift and ordering effects hit all of them equally).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultSecurity, findAdjustments, LIMITS, makeBundle, NAMESPACES, PROBE_ARGS } from './lib/bundle.mjs';
import { sweepCgroups } from './lib/cgroups.mjs';
import { runInPrivateMountNs } from './lib/privns.mjs';
import { checkProbe } from './lib/probe.mjs';
import { captureRun, CGROUP_POLICY, makeRuntimes, timedRun } from './lib/runtimes.mjs';
import { roundOrder } from './lib/stats.mjs';
import { checkInterrupted, log } from './lib/sys.mjs';

const SELF = fileURLToPath(import.meta.url);

export default async function startToExit(ctx) {
  const section = { title: 'start-to-exit: `RUNTIME run --bundle DIR ID` of /bin/true', rows: [], notes: [] };
  if (!ctx.root) {
    section.skipped = 'needs root (rootful comparison)';
    return section;
  }
  const r = runInPrivateMountNs(SELF, 'inner', { scratch: ctx.scratch, rootfs: ctx.rootfs, runs: ctx.runs, warmup: ctx.warmup, nsboxBin: ctx.nsboxBin, prefix: ctx.idPrefix }, ctx.scratch);
  section.notes.push(`bundle: busybox-static rootfs (read-only root), config.json from \`${r.generatedBy}\` with args ["/bin/true"], terminal false, namespaces ${NAMESPACES.join(', ')}`);
  section.adjustments = r.adjustments;
  section.notes.push(`cgroups: ${r.cgroupNote}`);
  for (const [name, policy] of Object.entries(CGROUP_POLICY)) section.notes.push(`cgroups, ${name}: ${policy}`);
  for (const n of r.notes) section.notes.push(n);
  section.rows = r.rows;
  section.reference = 'nsbox-runtime run';
  section.probes = r.probes;
  return section;
}

const LIMITS_TAG = '(+memory 64m +pids 100)';
// Under the limits, 100 MiB must be OOM-killed and the 120th process must not start.
const LIMITS_PROBE = ['/bin/sh', '-c', 'dd if=/dev/zero of=/dev/null bs=100M count=1 2>/dev/null && echo mem=unlimited; echo forking; i=0; while [ $i -lt 120 ]; do sleep 5 & i=$((i+1)); done; echo forked=$i'];

// Each runtime's overhead from the limits (its limits row against its plain row), and nsbox's time
// with limits against each peer's with the same limits.
function limitsNotes(entrants) {
  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.floor(s.length / 2)] : NaN;
  };
  const min = (xs) => Math.min(...xs);
  const out = [`${LIMITS_TAG}: linux.resources ${JSON.stringify(LIMITS)} in every runtime's config.json; a runtime is timed with them only if its probe shows them enforced (100 MiB OOM-killed, the 120th fork refused)`];
  const byName = new Map(entrants.map((e) => [e.name, e]));
  const limited = entrants.filter((e) => e.plain && e.samples.length);
  for (const e of limited) {
    const plain = byName.get(e.plain);
    if (!plain?.samples.length) continue;
    const pct = (a, b) => `${((a / b - 1) * 100).toFixed(1)}%`;
    out.push(`limits overhead, ${e.plain}: median ${pct(med(e.samples), med(plain.samples))}, by min ${pct(min(e.samples), min(plain.samples))}${e.rt.name === 'nsbox-runtime' ? ' (target ≤ 10%)' : ''}`);
  }
  const ns = limited.find((e) => e.rt.name === 'nsbox-runtime');
  for (const e of limited) {
    if (e === ns || !ns) continue;
    out.push(`with limits, nsbox/${e.rt.name} = ${(med(ns.samples) / med(e.samples)).toFixed(2)} by median, ${(min(ns.samples) / min(e.samples)).toFixed(2)} by min (target < 1)`);
  }
  return out;
}

function errorText(e) {
  return `\`${e.command}\` exited ${e.status ?? e.signal}: ${e.stderr.split('\n').slice(-3).join(' | ') || '(no stderr)'}`;
}

export async function inner({ scratch, rootfs, runs, warmup, nsboxBin, prefix, cgroupNote }) {
  const notes = [];
  const probes = {};
  const rows = [];
  let seq = 0;
  const nextId = (tag) => `${prefix}-${tag}-${seq++}`;

  // Config changes nsbox needs (applied to every runtime alike), then the bundles.
  const nsbox = makeRuntimes(nsboxBin).find((r) => r.name === 'nsbox-runtime');
  const adj = nsbox ? findAdjustments(nsbox, scratch, rootfs, captureRun, nextId('adjust')) : { adjustments: [], notes: [] };
  notes.push(...adj.notes);
  const adjustments = adj.adjustments;
  const security = await defaultSecurity().catch((e) => ({ reason: `building the default config failed: ${e.message}` }));
  const b = {
    std: makeBundle(scratch, 'start-std', rootfs, { adjustments }),
    time: makeBundle(scratch, 'start-time', rootfs, { namespaces: [...NAMESPACES, 'time'], adjustments, timeOffsets: true }),
    secure: security.seccomp ? makeBundle(scratch, 'start-secure', rootfs, { adjustments, security }) : null,
    limits: makeBundle(scratch, 'start-limits', rootfs, { adjustments, limits: true }),
    probeLimits: makeBundle(scratch, 'probe-limits', rootfs, { args: LIMITS_PROBE, adjustments, limits: true }),
    probe: makeBundle(scratch, 'probe-std', rootfs, { args: PROBE_ARGS, adjustments }),
    probeTime: makeBundle(scratch, 'probe-time', rootfs, { args: PROBE_ARGS, namespaces: [...NAMESPACES, 'time'], adjustments, timeOffsets: true }),
    probeTimeNoOffsets: makeBundle(scratch, 'probe-time-nooffsets', rootfs, { args: PROBE_ARGS, namespaces: [...NAMESPACES, 'time'], adjustments }),
    cgprobe: makeBundle(scratch, 'probe-cgroup', rootfs, {
      args: ['/bin/cat', '/proc/self/cgroup'],
      namespaces: NAMESPACES.filter((n) => n !== 'cgroup'),
      adjustments,
    }),
  };

  // Entrants: each runtime on the standard bundle, nsbox again with a time namespace, and a no-container
  // baseline (spawning /bin/true directly) to show the fixed cost of spawning from Node.
  const entrants = [];
  if (!nsboxBin || !fs.existsSync(nsboxBin)) {
    rows.push({ name: 'nsbox-runtime run', skipped: `nsbox-runtime not built (${nsboxBin}); run \`cargo build --release -p nsbox-runtime\`` });
  }
  for (const rt of makeRuntimes(nsboxBin)) {
    const probe = captureRun(rt, b.probe.dir, nextId('probe'));
    const name = rt.variantOf ? `${rt.variantOf} run ${rt.name.slice(rt.variantOf.length + 1)}` : `${rt.name} run`;
    if (!probe.ok) {
      rows.push({ name, skipped: `probe failed: ${errorText(probe)}` });
      probes[rt.name] = { ok: false, ...probe };
      continue;
    }
    const problems = checkProbe(probe.stdout, NAMESPACES);
    const cg = captureRun(rt, b.cgprobe.dir, nextId('cgprobe'));
    probes[rt.name] = {
      ok: problems.length === 0,
      problems,
      output: probe.stdout,
      cgroup: !cg.ok ? `failed: ${errorText(cg)}` : cg.stdout.trim() ? cg.stdout.trim().split('\n') : '(no output)',
    };
    if (problems.length) {
      rows.push({ name, skipped: `probe output wrong: ${problems.join('; ')}` });
      continue;
    }
    entrants.push({ name, rt, bundle: b.std.dir, samples: [], failures: 0, firstError: null, lingered: 0, extra: Boolean(rt.variantOf) });
    if (rt.variantOf) continue;
    // The same with nsbox's default seccomp filter and docker's device rules, for every runtime.
    if (b.secure) entrants.push({ name: `${name} (+seccomp +devices)`, rt, bundle: b.secure.dir, samples: [], failures: 0, firstError: null, lingered: 0 });
    // The same with --memory 64m --pids-limit 100 in every runtime's config.json (issue 11): its
    // overhead against the runtime's own plain row, and nsbox's time against each peer's with limits.
    // Timed only if it enforces them: a 100 MiB allocation is killed and the 120th fork fails.
    const lp = captureRun(rt, b.probeLimits.dir, nextId('lprobe'));
    if (/mem=unlimited|forked=120/.test(lp.stdout) || !/forking/.test(lp.stdout)) {
      rows.push({ name: `${name} ${LIMITS_TAG}`, skipped: `limits probe: not enforced (${JSON.stringify(lp.stdout.trim())}, exit ${lp.status}: ${lp.stderr.split('\n').pop()})` });
    } else {
      entrants.push({
        name: `${name} ${LIMITS_TAG}`, rt, bundle: b.limits.dir, samples: [], failures: 0, firstError: null, lingered: 0, plain: name,
        ...(rt.name === 'nsbox-runtime' ? {} : { reference: `nsbox-runtime run ${LIMITS_TAG}` }),
      });
    }

    // Time namespace: expected to work for nsbox; crun 1.8 (rootful) and runc 1.1 are recorded as they are.
    const tp = captureRun(rt, b.probeTime.dir, nextId('tprobe'));
    const tproblems = tp.ok ? checkProbe(tp.stdout, [...NAMESPACES, 'time']) : [errorText(tp)];
    probes[`${rt.name}+time`] = { ok: tproblems.length === 0, problems: tproblems };
    if (rt.name === 'nsbox-runtime') {
      // Also without linux.timeOffsets: a {type: "time"} namespace alone must still be created.
      const tn = captureRun(rt, b.probeTimeNoOffsets.dir, nextId('tprobe'));
      const tnproblems = tn.ok ? checkProbe(tn.stdout, [...NAMESPACES, 'time']) : [errorText(tn)];
      if (tnproblems.length) notes.push(`${rt.name} with {type: "time"} but no linux.timeOffsets: ${tnproblems.join('; ')} (\`${tn.command}\`); the +time row uses explicit zero offsets`);
      if (tproblems.length === 0) entrants.push({ name: `${rt.name} run (+time ns)`, rt, bundle: b.time.dir, samples: [], failures: 0, firstError: null, lingered: 0, extra: true });
      else rows.push({ name: `${rt.name} run (+time ns)`, skipped: `time namespace probe: ${tproblems.join('; ')}` });
    } else {
      notes.push(`time namespace with ${rt.name}: ${tproblems.length === 0 ? 'works' : tproblems.join('; ')}`);
    }
  }
  if (b.secure) notes.push(`+seccomp +devices: linux.seccomp of nsbox's default profile (${security.syscalls} rules) and docker's ${security.devices.length} device rules, in every runtime's config.json`);
  else rows.push({ name: 'RUNTIME run (+seccomp +devices)', skipped: security.reason });
  entrants.push({ name: 'spawn /bin/true (no container)', baseline: true, samples: [], failures: 0, firstError: null, lingered: 0 });

  const once = (e, id) => {
    if (e.baseline) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync('/bin/true', [], { stdio: ['ignore', 'ignore', 'pipe'] });
      return { ms: Number(process.hrtime.bigint() - t0) / 1e6, ok: r.status === 0, error: null };
    }
    return timedRun(e.rt, e.bundle, id);
  };

  log(`start-to-exit: ${warmup} warm-up + ${runs} timed runs each for ${entrants.map((e) => e.name).join(', ')}`);
  for (let round = -warmup; round < runs; round++) {
    await checkInterrupted();
    for (const e of roundOrder(entrants, round)) {
      const r = once(e, nextId(e.rt?.name.slice(0, 5) ?? 'base'));
      if (r.lingered) e.lingered++;
      if (round < 0) continue;
      if (r.ok) e.samples.push(r.ms);
      else {
        e.failures++;
        e.firstError ??= r.error;
      }
    }
  }

  for (const e of entrants) {
    rows.push({
      name: e.name,
      ...(e.reference ? { reference: e.reference } : {}),
      samples: e.samples,
      failures: e.failures,
      baseline: Boolean(e.baseline),
      note: [
        e.baseline ? 'fixed cost of spawnSync from Node' : null,
        e.extra ? 'extra row' : null,
        e.failures ? `${e.failures} failed; first: ${errorText(e.firstError)}` : null,
        e.lingered ? `state lingered after ${e.lingered} runs (removed with delete -f)` : null,
      ].filter(Boolean).join('; '),
    });
  }

  notes.push(...limitsNotes(entrants));
  const sweep = sweepCgroups([prefix, `nsbox-${prefix}`]);
  if (sweep.found.length) notes.push(`leftover cgroups removed after the runs: ${sweep.found.length} (${sweep.found.slice(0, 3).join(', ')}${sweep.found.length > 3 ? ', …' : ''})`);
  if (sweep.outside.length) notes.push(`WARNING: cgroups created outside the bench's own cgroup: ${sweep.outside.join(', ')}`);
  if (sweep.errors.length) notes.push(`could not remove: ${sweep.errors.join(', ')}`);
  const own = new Set(fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n'));
  for (const [name, p] of Object.entries(probes)) {
    if (Array.isArray(p.cgroup)) {
      const moved = p.cgroup.filter((l) => !own.has(l)).map((l) => l.split(':').slice(1).join(':'));
      notes.push(`cgroup placement, ${name} (below the bench's own cgroup): ${moved.length ? moved.join(' ') : 'none (stays in the bench\'s own cgroups)'}`);
    } else if (p.cgroup) notes.push(`cgroup placement, ${name}: ${p.cgroup}`);
  }
  return { rows, notes, probes, cgroupNote, adjustments, generatedBy: b.std.generatedBy };
}
