// Section "engines": what an engine user waits for, per OCI runtime. `podman run --rm --network none
// IMAGE true` with `--runtime` = nsbox-runtime, crun and runc (the same podman 4.3 + conmon, the same
// image, the same private store), and `ctr run --rm IMAGE ID true` with each as the runc v2 shim's runc
// binary (the same containerd 1.6), side by side, runs interleaved in a new shuffled order every round.
//
// The engines run with private state in a throwaway host (tests/engines/host.ts: private mount and
// cgroup namespaces, /run a tmpfs, cgroups below the bench's own), exactly as the engine tests start
// them; the image is the tests' busybox OCI fixture. Every command goes through `nsenter` into that host:
// the `nsenter true` baseline row is that fixed cost, included in every other row.
//
// A runtime is timed only if its probe (`sh -c 'echo probe-$((1+1))'`, exit 0) works through that
// engine; otherwise its row says `skipped:` with the engine's error.
//   NSBOX_BENCH_ENGINE_RUNS   timed runs per row (default: NSBOX_BENCH_E2E_RUNS, 20)
import path from 'node:path';
import { ratioCI, roundOrder, summarize } from './lib/stats.mjs';
import { checkInterrupted, ensurePeers, envInt, log, repoRoot, which } from './lib/sys.mjs';

const PROBE = ['sh', '-c', 'echo probe-$((1+1))'];

function firstError(r) {
  // (the engines' private state dir shortened to <state>, so the runtime's own words fit)
  const lines = `${r.stderr}\n${r.stdout}`.replace(/\/[^\s:]*\/nsbox-eng-[a-z]+-[A-Za-z0-9]{6}/g, '<state>').split('\n').map((l) => l.trim()).filter(Boolean);
  // podman's own verdict starts with `Error:`, ctr's with `ctr:`; before them podman logs cleanup noise.
  const line = lines.find((l) => /^(Error|ctr):/.test(l)) ?? lines.find((l) => /error|unknown|failed|denied|not found/i.test(l)) ?? lines[0] ?? '(no output)';
  return `exit ${r.code ?? r.signal}: ${line.length > 300 ? `${line.slice(0, 300)}…` : line}`;
}

export default async function engines(ctx) {
  const section = { title: 'engines: `podman run --rm` and `ctr run --rm` of /bin/true, per OCI runtime', rows: [], notes: [] };
  if (!ctx.root) return { ...section, skipped: 'needs root (rootful podman and containerd with private state)' };
  const setup = ensurePeers(['podman', 'conmon', 'containerd', 'crun', 'runc']);
  section.notes.push(...setup);
  const missing = ['podman', 'conmon', 'containerd', 'ctr', 'nsenter', 'unshare'].filter((c) => !which(c));
  if (missing.length) return { ...section, skipped: `missing ${missing.join(', ')}` };

  // The engine harness and the image fixture are the tests' own TypeScript: load them through tsx.
  let mods;
  try {
    const { register } = await import('tsx/esm/api');
    register();
    const t = (p) => import(path.join(repoRoot, p));
    mods = {
      image: await t('tests/helpers/oci-image.ts'),
      podman: await t('tests/engines/podman.ts'),
      containerd: await t('tests/engines/containerd.ts'),
      runtimes: await t('tests/engines/runtimes.ts'),
    };
  } catch (e) {
    return { ...section, skipped: `cannot load the engine harness (tests/engines, through tsx): ${e?.message ?? e}` };
  }

  const runs = envInt('NSBOX_BENCH_ENGINE_RUNS', ctx.e2eRuns);
  const image = mods.image.busyboxImage({ cacheDir: path.join(ctx.scratch, 'oci') });
  const runtimes = [mods.runtimes.describeRuntime(ctx.nsboxBin, 'nsbox-runtime'), mods.runtimes.describeRuntime(which('crun') ?? '/usr/bin/crun', 'crun'), mods.runtimes.describeRuntime(which('runc') ?? '/usr/sbin/runc', 'runc')];
  const usable = runtimes.filter((r) => !r.problem);
  for (const r of runtimes) section.notes.push(`${r.name}: ${r.path} — ${r.version ?? r.problem}`);
  section.notes.push(`image: ${image.ref} (${image.manifestDigest.slice(0, 19)}…), busybox-static, ${image.layers.length} layer`);

  const entrants = [];
  let podman = null;
  let containerd = null;
  try {
    // podman
    const rowName = (engine, rt) => `${engine} run --rm (${rt})`;
    try {
      const started = await mods.podman.startPodman(usable.length ? usable : runtimes.slice(1), image);
      podman = started.podman;
      section.notes.push(`podman: private host ${podman.host.startMs.toFixed(0)} ms, first command (info) ${podman.infoMs.toFixed(0)} ms, load ${started.loadMs.toFixed(0)} ms; cgroup parent ${podman.host.cgroupParent} below the bench's own; storage overlay`);
    } catch (e) {
      for (const rt of runtimes) section.rows.push({ name: rowName('podman', rt.name), skipped: `podman did not start: ${e.message}` });
    }
    if (podman) {
      for (const rt of runtimes) {
        const name = rowName('podman', rt.name);
        if (rt.problem) {
          section.rows.push({ name, skipped: rt.problem });
          continue;
        }
        const p = podman.cmd(['run', '--rm', ...podman.runFlags, image.ref, ...PROBE], { runtime: rt });
        if (p.code !== 0 || p.stdout !== 'probe-2\n') {
          section.rows.push({ name, skipped: `probe failed: ${firstError(p)}` });
          continue;
        }
        entrants.push({ name, reference: rowName('podman', 'nsbox-runtime'), samples: [], failures: 0, firstError: null, run: () => podman.cmd(['run', '--rm', ...podman.runFlags, image.ref, 'true'], { runtime: rt }) });
      }
    }

    // containerd
    try {
      const started = await mods.containerd.startContainerd(image.ociArchive);
      containerd = started.containerd;
      section.notes.push(`containerd: private host ${containerd.host.startMs.toFixed(0)} ms, boot to first answer ${containerd.bootMs.toFixed(0)} ms, import ${started.importMs.toFixed(0)} ms; runc v2 shim, runtime as its runc binary (--runc-binary), overlayfs snapshotter`);
    } catch (e) {
      for (const rt of runtimes) section.rows.push({ name: rowName('ctr', rt.name), skipped: `containerd did not start: ${e.message}` });
    }
    if (containerd) {
      let seq = 0;
      for (const rt of runtimes) {
        const name = rowName('ctr', rt.name);
        if (rt.problem) {
          section.rows.push({ name, skipped: rt.problem });
          continue;
        }
        const id = `${ctx.idPrefix}-probe-${rt.name}`;
        const p = containerd.ctr(['run', '--rm', ...containerd.runFlags(rt, id), image.ref, id, ...PROBE]);
        if (p.code !== 0 || p.stdout !== 'probe-2\n') {
          containerd.ctr(['containers', 'delete', id]);
          section.rows.push({ name, skipped: `probe failed: ${firstError(p)}` });
          continue;
        }
        entrants.push({
          name,
          reference: rowName('ctr', 'nsbox-runtime'),
          samples: [],
          failures: 0,
          firstError: null,
          run: () => {
            const cid = `${ctx.idPrefix}-${rt.name}-${seq++}`;
            return containerd.ctr(['run', '--rm', ...containerd.runFlags(rt, cid), image.ref, cid, 'true']);
          },
        });
      }
    }

    const host = podman?.host ?? containerd?.host;
    if (host) entrants.push({ name: 'nsenter true (harness cost, in every row)', baseline: true, samples: [], failures: 0, firstError: null, run: () => host.run(['true']) });

    const timed = entrants.filter((e) => !e.baseline);
    if (timed.length) {
      log(`engines: ${ctx.warmup} warm-up + ${runs} timed runs each for ${entrants.map((e) => e.name).join(', ')}`);
      for (let round = -ctx.warmup; round < runs; round++) {
        await checkInterrupted();
        for (const e of roundOrder(entrants, round)) {
          const r = e.run();
          if (round < 0) continue;
          if (r.code === 0) e.samples.push(r.ms);
          else {
            e.failures++;
            e.firstError ??= firstError(r);
          }
        }
      }
    }
    for (const e of entrants) {
      section.rows.push({
        name: e.name,
        samples: e.samples,
        baseline: Boolean(e.baseline),
        reference: e.reference,
        note: e.failures ? `${e.failures} failed; first: ${e.firstError}` : '',
      });
    }
  } finally {
    if (podman) {
      const rep = await podman.close();
      if (rep.rm.code !== 0) section.notes.push(`podman rm -af: ${firstError(rep.rm)}`);
      cleanupNotes(section, 'podman', rep);
    }
    if (containerd) cleanupNotes(section, 'containerd', await containerd.stop());
  }

  // Sort rows engine by engine, nsbox first; ratios against each engine's nsbox row; peer ratios as notes
  // (they stay meaningful while nsbox's rows are skipped).
  const order = (n) => (n.startsWith('podman') ? 0 : n.startsWith('ctr') ? 1 : 2) * 10 + (n.includes('nsbox') ? 0 : n.includes('crun') ? 1 : 2);
  section.rows.sort((a, b) => order(a.name) - order(b.name));
  section.reference = 'podman run --rm (nsbox-runtime)';
  for (const engine of ['podman', 'ctr']) {
    const row = (rt) => section.rows.find((r) => r.name === `${engine} run --rm (${rt})` && r.samples?.length);
    const [ns, crun, runc] = ['nsbox-runtime', 'crun', 'runc'].map(row);
    const ratio = (a, b) => {
      const x = summarize(a.samples).median / summarize(b.samples).median;
      const ci = ratioCI(a.samples, b.samples);
      return `${x.toFixed(2)}${ci ? ` (95% CI ${ci[0].toFixed(2)}–${ci[1].toFixed(2)})` : ''}`;
    };
    if (ns && crun) section.notes.push(`${engine}: nsbox/crun = ${ratio(ns, crun)} (target ≤ 1.0)`);
    if (ns && runc) section.notes.push(`${engine}: nsbox/runc = ${ratio(ns, runc)}`);
    if (crun && runc) section.notes.push(`${engine}: crun/runc = ${ratio(crun, runc)}`);
  }
  return section;
}

function cleanupNotes(section, engine, rep) {
  const bad = [
    ...rep.killed.map((k) => `killed ${k}`),
    ...(rep.leftoverTasks ?? []).map((k) => `task ${k}`),
    ...rep.problems,
    ...rep.leakedPaths.map((p) => `created ${p}`),
  ];
  section.notes.push(`${engine} cleanup: ${bad.length ? bad.join('; ') : 'nothing left'}${rep.containerdExit ? ` (containerd stopped by ${rep.containerdExit})` : ''}; ${rep.cgroupsRemoved.length} cgroup dirs below ours removed`);
}
