// Section "cli": the `nsbox` CLI's own start-up, above bare Node, and the docker/podman CLIs beside it.
//  - `node -e 0`: Node's start-up, the floor of every CLI run (the reference);
//  - `nsbox --version`, `nsbox ps -a`, `nsbox exec CTR /bin/true`, `nsbox run --rm -- /bin/true`
//    (node cli/dist/main.js, a fresh process each time);
//  - for exec and run, the same operation through the TS API in a fresh Node process, from a script
//    bundled like the CLI (bench/out/api-cold.cjs): the CLI's own start-up there is its row minus that
//    (the library's loading and the cold work are both in it);
//  - `docker --version`, `podman --version`, `podman ps -a` and `docker ps -a` (when a daemon answers):
//    what the CLIs people already use take to start.
// Everything alternates run by run. CPU time (user + system of the process and what it waited for)
// comes from /proc/self/stat's cutime/cstime summed over all runs, which a busy machine disturbs far less
// than wall time.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { commandLine } from './lib/runtimes.mjs';
import { roundOrder } from './lib/stats.mjs';
import { checkInterrupted, log, repoRoot, which } from './lib/sys.mjs';

const CLI = path.join(repoRoot, 'cli/dist/main.js');
const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time of the children this process has waited for, in ms (cutime + cstime, 10 ms ticks). */
function childCpuMs() {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  // after "pid (comm) ": state is field 3, so cutime (16) and cstime (17) are the 14th and 15th here
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * TICK_MS;
}

/** bench/out/api-cold.cjs: `run` or `exec ROOT NAME` of /bin/true through the library, bundled like the CLI. */
async function buildApiScript() {
  const { cjs } = await import('../cli/build.mjs');
  const esbuild = await import('esbuild');
  const outfile = path.join(repoRoot, 'bench/out/api-cold.cjs'); // two levels below the root, like cli/dist/main.js
  await esbuild.build({
    ...cjs,
    metafile: false,
    outfile,
    stdin: {
      resolveDir: repoRoot,
      loader: 'ts',
      contents: `import { run, Runtime } from 'nsbox';
const [op, root, name] = process.argv.slice(2);
const done = op === 'exec'
  ? new Runtime({ root }).get(name).exec(['/bin/true'], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' }).wait()
  : run({ command: ['/bin/true'] });
done.then((r) => { process.exitCode = r.exitCode; });`,
    },
  });
  return outfile;
}

const signed = (x) => `${x < 0 ? '−' : '+'}${Math.abs(x).toFixed(1)}`;

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

export default async function cliStart(ctx) {
  const runs = ctx.e2eRuns;
  const section = {
    title: `CLI start-up (medians of ${runs}; reference: node -e 0)`,
    rows: [],
    notes: [],
    reference: 'node -e 0',
    ratioMode: 'row/ref',
  };
  if (!fs.existsSync(CLI)) {
    section.skipped = 'cli/dist/main.js not built (npm run build:ts)';
    return section;
  }
  const stateRoot = path.join(ctx.scratch, 'cli-state');
  fs.mkdirSync(stateRoot, { recursive: true });
  const env = { ...process.env, NSBOX_ROOT: stateRoot };
  const nsbox = (...args) => [process.execPath, CLI, ...args];
  const entrants = [{ name: 'node -e 0', argv: [process.execPath, '-e', '0'] }];
  const skipped = [];
  let container = null;
  entrants.push({ name: 'nsbox --version', argv: nsbox('--version') });
  entrants.push({ name: 'nsbox ps -a', argv: nsbox('ps', '-a') });

  if (ctx.root) {
    let apiScript = null;
    try {
      apiScript = await buildApiScript();
    } catch (e) {
      skipped.push({ name: 'api run() / exec() (fresh node)', skipped: `could not bundle the API script: ${e.message}` });
    }
    const name = `${ctx.idPrefix}-cli`;
    const d = spawnSync(process.execPath, [CLI, 'run', '-d', '--name', name, '--', '/bin/sleep', '3600'], { env, encoding: 'utf8' });
    if (d.status === 0) {
      container = name;
      entrants.push({ name: 'nsbox exec CTR /bin/true', argv: nsbox('exec', name, '/bin/true'), work: 'api exec() (fresh node)' });
      if (apiScript) entrants.push({ name: 'api exec() (fresh node)', argv: [process.execPath, apiScript, 'exec', stateRoot, name] });
    } else skipped.push({ name: 'nsbox exec CTR /bin/true', skipped: `\`nsbox run -d\` exited ${d.status}: ${d.stderr.trim()}` });
    entrants.push({ name: 'nsbox run --rm -- /bin/true', argv: nsbox('run', '--rm', '--', '/bin/true'), work: 'api run() (fresh node)' });
    if (apiScript) entrants.push({ name: 'api run() (fresh node)', argv: [process.execPath, apiScript, 'run'] });
  } else skipped.push({ name: 'nsbox run / exec', skipped: 'needs root' });

  for (const tool of ['docker', 'podman']) {
    if (!which(tool)) {
      skipped.push({ name: `${tool} --version`, skipped: 'not installed' });
      continue;
    }
    entrants.push({ name: `${tool} --version`, argv: [tool, '--version'] });
    const ps = spawnSync(tool, ['ps', '-a', '-q'], { encoding: 'utf8', timeout: 10000 });
    if (ps.status === 0) entrants.push({ name: `${tool} ps -a`, argv: [tool, 'ps', '-a', '-q'] });
    else skipped.push({ name: `${tool} ps -a`, skipped: `\`${tool} ps\` exited ${ps.status ?? ps.signal}: ${(ps.stderr || String(ps.error ?? '')).trim().split('\n')[0]}` });
  }
  for (const e of entrants) Object.assign(e, { samples: [], cpuMs: 0, failures: 0, firstError: null });

  const once = (e) => {
    const t0 = process.hrtime.bigint();
    const cpu0 = childCpuMs();
    const r = spawnSync(e.argv[0], e.argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env, timeout: 60000 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { ms, cpu: childCpuMs() - cpu0, ok: r.status === 0, error: r.status === 0 ? null : `\`${commandLine(e.argv[0], e.argv.slice(1))}\` exited ${r.status ?? r.signal}: ${r.stderr.trim()}` };
  };

  try {
    const warmup = Math.min(ctx.warmup, 2);
    log(`cli: ${warmup} warm-up + ${runs} timed runs each for ${entrants.map((e) => e.name).join(', ')}`);
    for (let round = -warmup; round < runs; round++) {
      await checkInterrupted();
      for (const e of roundOrder(entrants, round)) {
        const r = once(e);
        if (round < 0) continue;
        if (r.ok) {
          e.samples.push(r.ms);
          e.cpuMs += r.cpu ?? 0;
        } else {
          e.failures++;
          e.firstError ??= r.error;
        }
      }
    }
  } finally {
    if (container) spawnSync(process.execPath, [CLI, 'rm', '-f', container], { env, stdio: 'ignore' });
  }

  const node = entrants[0];
  const nodeMed = median(node.samples);
  const nodeCpu = node.cpuMs / (node.samples.length || 1);
  const byName = new Map(entrants.map((e) => [e.name, e]));
  for (const e of entrants) {
    const med = median(e.samples);
    const cpu = e.cpuMs / (e.samples.length || 1);
    const notes = [];
    if (e !== node && Number.isFinite(med)) notes.push(`${signed(med - nodeMed)} ms against node; cpu ${cpu.toFixed(1)} ms (${signed(cpu - nodeCpu)})`);
    if (e === node) notes.push(`cpu ${cpu.toFixed(1)} ms: Node's own start-up, in every CLI run`);
    const work = e.work && byName.get(e.work);
    if (work?.samples.length && e.samples.length) {
      const own = med - median(work.samples);
      const workCpu = work.cpuMs / work.samples.length;
      const ownCpu = cpu - workCpu;
      notes.push(`the CLI's own start-up ≈ ${own.toFixed(1)} ms, cpu ${ownCpu.toFixed(1)} ms (row − ${e.work})`);
      section.notes.push(`${e.name}: the CLI's own start-up ≈ ${own.toFixed(1)} ms wall (median ${med.toFixed(1)} − ${e.work} ${median(work.samples).toFixed(1)}), ${ownCpu.toFixed(1)} ms cpu`);
    }
    if (e.name.startsWith('api ')) notes.push('the same work without the CLI: Node, the bundled library, the operation');
    if (e.failures) notes.push(`${e.failures} failed; first: ${e.firstError}`);
    section.rows.push({ name: e.name, samples: e.samples, failures: e.failures, cpuMs: cpu, note: notes.join('; ') });
  }
  section.rows.push(...skipped);
  section.notes.push('target: the CLI\'s own start-up at most 15 ms for --version and ps (row − node -e 0), exec and run (row − the same work through the API)');
  return section;
}
