#!/usr/bin/env node
// The OCI runtime conformance suite (opencontainers/runtime-tools, validation/*.t) against one or more
// runtimes, side by side. docs/oci-conformance.md says how to run it and what "passed" means.
//
//   node tests/oci/conformance.mjs [--runtime PATH]... [--json FILE] [--min-pass N] [--must-pass FILE]
//                                  [--only a,b] [--timeout S] [--suite TARBALL] [--keep] [--rejudge RUNDIR]
//
// As root. Builds the suite from ../shared/oci/runtime-tools-*.tar.gz (or $NSBOX_OCI_SUITE) into
// target/oci-suite/<sha256>/ once per tarball, then runs every validation test against each runtime,
// one test at a time, each with its own TMPDIR and a timeout (the process group is killed).
//
// Harness namespaces and cgroups (the same for every runtime): each runtime's whole run happens in a
// worker that was first moved into a cgroup the harness creates for it (`<own cgroup>/nsbox-oci-<pid>-<n>`
// in every hierarchy, v1 and the hybrid cgroup2), then started under `unshare --mount --cgroup --propagation private`; in
// that private mount namespace the hybrid layout's cgroup2 (/sys/fs/cgroup/unified) is unmounted (crun
// 1.8 refuses hybrid layouts) and each v1 hierarchy is re-rooted at the harness cgroup. So a
// `cgroupsPath` of "/cgrouptest" (the suite's absolute path) lands below the harness cgroup, never at the
// host's root, and anything left below that cgroup after a test is provably the test's.
//
// Cleanup after each test, only what the test provably made: containers that appeared in the runtime's
// state root during the test AND whose bundle is inside this test's TMPDIR (`RUNTIME state`, or the
// state files naming that TMPDIR) get `RUNTIME delete --force`; processes left in the test's process
// group or in the harness cgroup, and cgroups left below the harness cgroup, are killed/removed; mounts
// left under the test's TMPDIR (in the worker's private namespace) are unmounted. Anything else that
// changed is reported, not touched. After all runtimes the host's mount table, state roots and
// cgroup tree are compared with their state before the run: what this run could have made (below a
// harness cgroup, under the scratch dir, a container whose bundle is there) is "left behind" and makes
// the exit status 3; other changes (other sessions share the machine) are listed as `elsewhere`.
//
// Exit status: 0; 1 when the gated runtime (the first nsbox* runtime, else the first) passes fewer than
// --min-pass tests or fails a test listed in --must-pass; 2 on a harness error; 3 when something was
// left behind.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { sh as benchSh, which as benchWhich } from '../../bench/lib/sys.mjs';

const scriptPath = fileURLToPath(import.meta.url);
const repoRoot = path.resolve(path.dirname(scriptPath), '../..');

// ---------------------------------------------------------------------------------------------
// small helpers

// The bench's process helpers, shared: `sh` with a larger buffer for the suite's long TAP output.
const sh = (cmd, args, opts = {}) => benchSh(cmd, args, { maxBuffer: 64 << 20, ...opts });
const which = (cmd) => (cmd.includes('/') ? (fs.existsSync(cmd) ? path.resolve(cmd) : null) : benchWhich(cmd));
const log = (...a) => process.stderr.write(`[oci] ${a.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const isUnder = (p, dir) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
class HarnessError extends Error {}

// /proc/self/mountinfo as [{id, root, mnt, fstype, source, superOpts}]
function mountinfo() {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const [pre, post] = l.split(' - ');
      const f = pre.split(' ');
      const [fstype, source, superOpts = ''] = post.split(' ');
      const unesc = (s) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
      return { id: f[0], root: unesc(f[3]), mnt: unesc(f[4]), fstype, source, superOpts };
    });
}

// ---------------------------------------------------------------------------------------------
// TAP: what "passed" means
//
// A validation test is one of three kinds, read from its Go source (validation/NAME/NAME.go):
//
//  inside   it calls util.RuntimeInsideValidate: the container runs /runtimetest, which compares what
//           it sees with config.json and prints TAP of its own. With a nil *tap.T the test writes the
//           container's stdout as its own stdout verbatim; with a *tap.T it puts the container's stdout
//           (and stderr) into a YAML diagnostic block ({"stderr": …, "stdout": …}, JSON-encoded by
//           tap-go) before an `ok N - <TestName>` line. That outer ok only checks that the stdout has no
//           "not ok" in it — an EMPTY stdout passes it, which is exactly what a runtime whose `create`
//           does not hand its stdio to the container produces. So we require runtimetest's own output.
//           A runtimetest document is a TAP stream that contains the line only runtimetest prints and
//           always prints (validateHostname runs unconditionally: `ok N # SKIP hostname not set` or
//           `(not )ok N - has expected hostname`; no validation test prints either) and ends with
//           runtimetest's closing plan (`1..N`, AutoPlan) with N equal to the number of its test points
//           (runtimetest ran to the end; its output is complete). Every container stdout the test
//           reports (the top-level stream for a nil *tap.T, every YAML block with a "stdout" key
//           otherwise) must be such a document, and there must be at least one.
//  refuse   it calls RuntimeInsideValidate with an invalid config and calls util.Fatal when that
//           returns no error (process_capabilities_fail: CAP_TEST; process_rlimits_fail: RLIMIT_TEST):
//           the runtime must refuse. Such a test prints NO TAP when the runtime behaves, so there is no
//           plan to demand: passed = exit 0, the test's stderr says the runtime failed to create or start
//           the container, and no runtimetest document reached stdout. The refusal is recorded so a
//           reader can see it names the bad value.
//  outside  anything else (lifecycle, hooks, state, cgroups read from the host, namespaces): the test
//           prints TAP of its own; runtimetest is not involved (config_updates_without_affect runs it but
//           never reads its output).
//
// inside and outside tests pass when all of these hold:
//  - the test exited 0 (util.Fatal exits 1) within the timeout;
//  - every TAP stream it printed has a plan matching its test points (linux_cgroups_cpus prints two
//    streams, each with its own `TAP version 13` header; `1..0` is a valid plan);
//  - no `not ok` line, top-level or inside a reported container stdout, except `not ok N # TODO …`: by
//    TAP 13 a TODO point is an expected failure, and runtimetest prints two for its own limits ("we need
//    an (r)bind spec to test against" for each bind mount, "we need the major/minor from the controlling
//    TTY" for /dev/console); they are counted in the JSON (`todo`), not as failures;
//  - no `error` diagnostic standing before any test point: the hook tests (prestart*, poststart*,
//    poststop*, hooks) never print a test point; they report failure only that way, success as `1..0`;
//  - no "WARNING: The poststart|poststop hook invoke fails" on stderr: the suite prints it, and goes
//    on as if passed, when the hook was never run, which runtime-spec makes a MUST;
//  - for inside tests, the runtimetest documents above.

const RT_MARK = /^(?:not )?ok \d+ (?:- has expected hostname|# SKIP hostname not set)\s*$/;
const TP = /^(not )?ok\b(?: (\d+))?(.*)$/;

// Parses one TAP stream (lines at indentation 0). Returns test points, plan, YAML blocks.
function parseTap(text) {
  const lines = text.split('\n');
  const points = [];
  const yaml = [];
  let plan = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l === '  ---') {
      const body = [];
      let j = i + 1;
      for (; j < lines.length && lines[j] !== '  ...'; j++) body.push(lines[j].startsWith('  ') ? lines[j].slice(2) : lines[j]);
      let obj = null;
      try {
        obj = JSON.parse(body.join('\n'));
      } catch {}
      yaml.push({ after: points.length - 1, raw: body.join('\n'), obj });
      i = j;
      continue;
    }
    const m = l.match(TP);
    if (m) {
      const todo = /#\s*TODO\b/i.test(m[3]);
      const skip = /#\s*SKIP\b/i.test(m[3]);
      points.push({ ok: !m[1], todo, skip, line: l });
      continue;
    }
    const p = l.match(/^1\.\.(\d+)/);
    if (p) plan = Number(p[1]);
  }
  return { points, plan, yaml };
}

function runtimetestDoc(text) {
  const t = parseTap(text);
  const marked = text.split('\n').some((l) => RT_MARK.test(l));
  const complete = t.plan !== null && t.plan === t.points.length && t.points.length > 0;
  return { ...t, marked, complete, isDoc: marked && complete };
}

function firstLines(s, n = 1) {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, n)
    .join(' | ');
}

// The runtime's own complaint in a test's stderr: the line(s) after "failed to create/start…".
function runtimeError(stderr) {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const i = lines.findIndex((l) => /^failed to (create|start|delete) the container/.test(l));
  if (i >= 0) return `${lines[i]}: ${lines.slice(i + 1, i + 3).join(' | ') || '(no runtime stderr)'}`;
  return lines.slice(0, 2).join(' | ');
}

// Some tests print more than one TAP stream (linux_cgroups_cpus runs two sub-tests, each with its own
// `TAP version 13` header and closing plan; the second may be `1..0`): each stream needs its own plan.
function tapDocs(text) {
  const docs = [];
  let cur = [];
  for (const l of text.split('\n')) {
    if (/^TAP version \d+/.test(l) && cur.some((x) => x.trim())) {
      docs.push(cur.join('\n'));
      cur = [];
    }
    cur.push(l);
  }
  if (cur.some((x) => x.trim())) docs.push(cur.join('\n'));
  return docs.map(parseTap);
}

function judge(kind, run) {
  const { stdout, stderr, exitCode, signal, timedOut, seconds } = run;
  const v = { passed: false, reason: '', todo: 0, runtimetestDocs: 0 };
  if (timedOut) return { ...v, reason: `timeout after ${seconds.toFixed(0)} s` };
  if (kind === 'refuse') {
    const docs = stdout.trim() ? [runtimetestDoc(stdout)].filter((d) => d.isDoc).length : 0;
    const refused = /failed to (create|start) the container/.test(stderr);
    v.refusal = refused ? runtimeError(stderr) : '';
    if (exitCode === 0 && refused && docs === 0) return { ...v, passed: true, reason: `refused: ${v.refusal}` };
    if (docs > 0 || /MUST (cause|generate) an error/.test(stderr)) return { ...v, reason: `invalid config accepted: ${firstLines(stderr)}` };
    return { ...v, reason: `exit ${exitCode ?? signal}: ${runtimeError(stderr) || '(no stderr)'}` };
  }
  const top = parseTap(stdout);
  const containerOut = [];
  if (kind === 'inside') {
    const blocks = top.yaml.filter((y) => y.obj && typeof y.obj === 'object' && 'stdout' in y.obj);
    if (blocks.length) for (const b of blocks) containerOut.push({ text: String(b.obj.stdout), stderr: String(b.obj.stderr ?? ''), where: top.points[b.after + 1]?.line ?? '' });
    else if (stdout.trim()) containerOut.push({ text: stdout, where: '' });
  }
  const docs = containerOut.map((c) => ({ ...c, doc: runtimetestDoc(c.text) }));
  v.runtimetestDocs = docs.filter((d) => d.doc.isDoc).length;
  const nested = docs.flatMap((d) => (d.text === stdout ? [] : d.doc.points.map((p) => ({ ...p, where: d.where }))));
  const all = [...top.points, ...nested];
  v.todo = all.filter((p) => !p.ok && p.todo).length;
  // first failing line: an inner runtimetest not-ok explains more than the outer one, so look there first
  const innerBad = nested.find((p) => !p.ok && !p.todo);
  const topBad = top.points.find((p) => !p.ok && !p.todo);
  if (innerBad) return { ...v, reason: `${innerBad.line}${innerBad.where ? `  (in: ${innerBad.where})` : ''}` };
  if (topBad) {
    const y = top.yaml.find((b) => b.after === top.points.indexOf(topBad));
    const detail = y?.obj?.error ?? y?.obj?.stderr ?? '';
    return { ...v, reason: `${topBad.line}${detail ? `  [${firstLines(String(detail), 2)}]` : ''}` };
  }
  if (exitCode !== 0) return { ...v, reason: `exit ${exitCode ?? signal}: ${runtimeError(stderr) || '(no stderr)'}` };
  const streams = tapDocs(stdout);
  const unplanned = streams.find((d) => d.plan === null);
  if (kind === 'inside' && !stdout.trim() && exitCode === 0) return { ...v, reason: 'runtimetest output did not reach the suite: the container\'s stdout (the test\'s own stdout) was empty' };
  if (!streams.length || unplanned) return { ...v, reason: `no TAP plan${stdout.trim() ? '' : ' (empty stdout)'}: ${runtimeError(stderr) || '(no stderr)'}` };
  const miscount = streams.find((d) => d.plan !== d.points.length);
  if (miscount) return { ...v, reason: `plan 1..${miscount.plan} but ${miscount.points.length} test points` };
  // the hook tests (prestart*, poststart*, poststop*, hooks) never print a test point: they report a
  // failure only as an `error` diagnostic before any test point, and success as a bare `1..0`
  const orphan = streams.flatMap((d) => d.yaml.filter((y) => y.after === -1 && y.obj && typeof y.obj === 'object' && 'error' in y.obj))[0];
  if (orphan) return { ...v, reason: `error diagnostic: ${firstLines(String(orphan.obj.error))}${orphan.obj.stderr ? `  [${firstLines(String(orphan.obj.stderr), 2)}]` : ''}` };
  // poststart/poststop print this (and carry on as if passed) when the hook was never invoked, which
  // runtime-spec makes a MUST ("The poststart hooks MUST be invoked by the runtime")
  const warning = stderr.split('\n').find((l) => /^WARNING: The \w+ hook invoke fails/.test(l));
  if (warning) return { ...v, reason: `the suite warned: ${warning.trim()}` };
  if (kind === 'inside') {
    const bad = docs.find((d) => !d.doc.isDoc);
    if (docs.length === 0 || bad) {
      const what = bad && bad.text.trim() === '' ? 'the container\'s stdout was empty' : bad ? `the container's stdout is not a complete runtimetest stream: ${firstLines(bad.text)}` : 'no container stdout';
      const cerr = bad?.stderr?.trim() ? `  [container stderr: ${firstLines(bad.stderr, 2)}]` : '';
      return { ...v, reason: `runtimetest output did not reach the suite: ${what}${bad?.where ? `  (at: ${bad.where})` : ''}${cerr}` };
    }
  }
  return { ...v, passed: true, reason: top.points.some((p) => p.skip) ? `${top.points.filter((p) => p.skip).length} skip(s)` : '' };
}

function classify(goSource) {
  if (!/RuntimeInsideValidate\(/.test(goSource)) return 'outside';
  if (/RuntimeInsideValidate\([^)]*\)\s*\n\s*if err == nil \{\s*\n\s*util\.Fatal/.test(goSource)) return 'refuse';
  return 'inside';
}

// ---------------------------------------------------------------------------------------------
// cgroups

function ownCgroups() {
  const own = new Map();
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const m = line.match(/^\d+:([^:]*):(.*)$/);
    if (m) own.set(m[1], m[2]);
  }
  return own;
}

// The cgroup hierarchies mounted here: [{mnt, root, own (our cgroup path in it), v2}].
function hierarchies() {
  const own = ownCgroups();
  const out = [];
  for (const m of mountinfo()) {
    if (m.fstype === 'cgroup2' && own.has('') && !out.some((h) => h.mnt === m.mnt)) {
      out.push({ mnt: m.mnt, root: m.root, own: own.get(''), v2: true });
      continue;
    }
    if (m.fstype !== 'cgroup') continue;
    const opts = m.superOpts.split(',');
    const entry = [...own].find(([ctrls]) => ctrls && ctrls.split(',').every((c) => opts.includes(c)));
    if (!entry || out.some((h) => h.mnt === m.mnt)) continue;
    out.push({ mnt: m.mnt, root: m.root, own: entry[1], v2: false });
  }
  return out;
}

function listCgroupDirs() {
  const dirs = [];
  const walk = (d, depth) => {
    let es;
    try {
      es = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of es) {
      if (!e.isDirectory()) continue;
      const p = path.join(d, e.name);
      dirs.push(p);
      if (depth < 12) walk(p, depth + 1);
    }
  };
  for (const m of mountinfo()) if (m.fstype === 'cgroup' || m.fstype === 'cgroup2') walk(m.mnt, 0);
  return dirs;
}

function readProcs(dir) {
  try {
    return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
function comm(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 120) || fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}
function subdirs(dir) {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
}

// Removes a cgroup subtree that is provably ours (below the harness cgroup): thaw, kill what is in
// it, rmdir bottom-up. Returns a list of notes.
async function removeCgroupTree(dir) {
  const notes = [];
  const all = [];
  const walk = (d) => {
    for (const s of subdirs(d)) walk(s);
    all.push(d);
  };
  walk(dir);
  for (const d of all) {
    const fz = path.join(d, 'freezer.state');
    try {
      if (fs.readFileSync(fz, 'utf8').trim() !== 'THAWED') {
        fs.writeFileSync(fz, 'THAWED');
        notes.push(`thawed ${d}`);
      }
    } catch {}
  }
  for (let round = 0; round < 20; round++) {
    const pids = all.flatMap(readProcs);
    if (!pids.length) break;
    for (const pid of pids) {
      if (round === 0) notes.push(`killed pid ${pid} (${comm(pid)}) in ${path.dirname(path.join(dir, 'x'))}`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    await sleep(100);
  }
  for (const d of all) {
    for (let i = 0; i < 20; i++) {
      try {
        fs.rmdirSync(d);
        break;
      } catch (e) {
        if (e.code === 'ENOENT') break;
        if (i === 19) notes.push(`could not remove ${d}: ${e.code}`);
        await sleep(50);
      }
    }
  }
  return notes;
}

// ---------------------------------------------------------------------------------------------
// runtimes

function stateRootOf(rtPath, explicit) {
  if (explicit) return explicit;
  const b = path.basename(rtPath);
  if (b.startsWith('nsbox')) return process.env.NSBOX_ROOT || '/run/nsbox';
  if (b === 'crun') return '/run/crun';
  if (b === 'runc') return '/run/runc';
  if (b === 'youki') return '/run/youki';
  return null;
}
// The suite names every container with uuid.NewString(); other entries of a state root are the runtime's
// own bookkeeping (nsbox-runtime keeps names/, events.jsonl and .lock there) and are never touched.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
function listIds(root) {
  try {
    return fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory() && UUID.test(e.name)).map((e) => e.name);
  } catch {
    return [];
  }
}
function grepDir(dir, needle, depth = 0) {
  let es;
  try {
    es = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of es) {
    const p = path.join(dir, e.name);
    if (e.isFile()) {
      try {
        if (fs.statSync(p).size < 4 << 20 && fs.readFileSync(p, 'latin1').includes(needle)) return true;
      } catch {}
    } else if (e.isDirectory() && depth < 2 && grepDir(p, needle, depth + 1)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// the worker: runs one runtime's tests inside the harness namespaces (see the top of this file)

async function worker(argsFile) {
  const a = JSON.parse(fs.readFileSync(argsFile, 'utf8'));
  const notes = [];
  const run = (cmd, args) => {
    const r = sh(cmd, args);
    if (!r.ok) throw new HarnessError(`\`${cmd} ${args.join(' ')}\` (harness, private mount namespace) failed: ${r.stderr.trim() || r.error || r.status}`);
  };
  if (mountinfo().some((m) => m.mnt === '/sys/fs/cgroup/unified')) {
    run('umount', ['/sys/fs/cgroup/unified']);
    notes.push('cgroup2 at /sys/fs/cgroup/unified unmounted (private mount namespace)');
  }
  for (const h of a.hierarchies) {
    const aside = fs.mkdtempSync(path.join(a.scratch, 'cg-'));
    run('mount', ['--bind', h.harnessDir, aside]);
    run('umount', [h.mnt]);
    run('mount', ['--move', aside, h.mnt]);
    fs.rmdirSync(aside);
  }
  notes.push(`v1 hierarchies re-rooted at the harness cgroup (${a.hierarchies[0]?.harnessRel ?? '-'}), own cgroup namespace`);
  const rt = a.runtime;
  const results = [];
  const t0 = process.hrtime.bigint();
  // A must-pass test that fails is run once more: a few suite tests race the container's own start-up
  // (killsig signals `sh` before it may have set its trap), which a loaded machine loses now and then.
  // Both outcomes stay in the log; the gate counts the second.
  const runOne = async (test, attempt) => {
    const tmp = path.join(a.scratch, rt.name, attempt ? `${test.name}.retry` : test.name);
    fs.mkdirSync(tmp, { recursive: true });
    const idsBefore = new Set(listIds(rt.stateRoot));
    const mountsBefore = new Set(mountinfo().map((m) => m.mnt));
    const outFile = path.join(a.logDir, `${test.name}${attempt ? '.retry' : ''}.tap`);
    const errFile = path.join(a.logDir, `${test.name}${attempt ? '.retry' : ''}.stderr`);
    const outFd = fs.openSync(outFile, 'w');
    const errFd = fs.openSync(errFile, 'w');
    const start = process.hrtime.bigint();
    const child = spawn(path.join(a.suiteDir, test.exe), [], {
      cwd: a.suiteDir,
      env: { ...process.env, RUNTIME: rt.path, TMPDIR: tmp },
      detached: true,
      stdio: ['ignore', outFd, errFd],
    });
    fs.closeSync(outFd);
    fs.closeSync(errFd);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, a.timeoutMs);
    const [exitCode, signal] = await new Promise((resolve) => {
      child.on('exit', (c, s) => resolve([c, s]));
      child.on('error', (e) => resolve([null, String(e)]));
    });
    clearTimeout(timer);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const stdout = fs.readFileSync(outFile, 'utf8');
    const stderr = fs.readFileSync(errFile, 'utf8');
    const verdict = judge(test.kind, { stdout, stderr, exitCode, signal, timedOut, seconds });
    const cleanup = await cleanupAfterTest({ rt, tmp, idsBefore, mountsBefore, pgid: child.pid, a });
    const result = { test: test.name, kind: test.kind, ...verdict, exitCode, signal, timedOut, seconds: Number(seconds.toFixed(2)), cleanup };
    fs.writeFileSync(path.join(a.logDir, `${test.name}${attempt ? '.retry' : ''}.json`), JSON.stringify(result, null, 1));
    const mark = verdict.passed ? 'PASS' : timedOut ? 'TIME' : 'FAIL';
    const cl = cleanup.actions.length + cleanup.reported.length ? `  [cleanup: ${[...cleanup.actions, ...cleanup.reported].length}]` : '';
    log(`${rt.name.padEnd(14)} ${test.name.padEnd(36)} ${attempt ? 'retry ' : ''}${mark} ${seconds.toFixed(1).padStart(5)} s${verdict.passed ? '' : `  ${verdict.reason.slice(0, 110)}`}${cl}`);
    return result;
  };
  for (const test of a.tests) {
    let result = await runOne(test, 0);
    if (!result.passed && a.retry.includes(test.name)) {
      const first = result;
      result = { ...(await runOne(test, 1)), firstAttempt: { reason: first.reason, seconds: first.seconds } };
      result.cleanup = { actions: [...first.cleanup.actions, ...result.cleanup.actions], reported: [...first.cleanup.reported, ...result.cleanup.reported] };
    }
    results.push(result);
  }
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.writeFileSync(a.outFile, JSON.stringify({ results, wallSeconds, notes }));
}

async function cleanupAfterTest({ rt, tmp, idsBefore, mountsBefore, pgid, a }) {
  const actions = [];
  const reported = [];
  // 1. containers the test created and left: new in the state root and with their bundle in our TMPDIR
  for (const id of listIds(rt.stateRoot).filter((i) => !idsBefore.has(i))) {
    let bundle = null;
    const st = sh(rt.path, ['state', id]);
    try {
      bundle = JSON.parse(st.stdout).bundle ?? null;
    } catch {}
    const ours = bundle ? isUnder(path.resolve(bundle), tmp) : grepDir(path.join(rt.stateRoot, id), tmp);
    if (!ours) {
      reported.push(`container ${id} appeared in ${rt.stateRoot} during the test but is not provably the test's (bundle ${bundle ?? 'unknown'}): left alone`);
      continue;
    }
    const d = sh(rt.path, ['delete', '--force', id], { timeout: 30000 });
    const gone = !fs.existsSync(path.join(rt.stateRoot, id));
    actions.push(`container ${id} left by the test: \`delete --force\` exit ${d.status}${gone ? '' : ', state dir still there'}${d.ok ? '' : ` (${firstLines(d.stderr)})`}`);
    if (!gone) reported.push(`container ${id}: state dir ${path.join(rt.stateRoot, id)} still there after delete --force`);
  }
  // 2. processes left in the test's process group (the test binary started it; kill what remains)
  try {
    process.kill(-pgid, 0);
    actions.push(`processes left in the test's process group ${pgid}: killed`);
    process.kill(-pgid, 'SIGKILL');
  } catch {}
  // 3. processes left in the harness cgroup itself (only the worker belongs there) and cgroups below it
  for (const h of a.hierarchies) {
    const extra = readProcs(h.mnt).filter((p) => p !== process.pid);
    for (const pid of extra) {
      actions.push(`pid ${pid} (${comm(pid)}) left in the harness cgroup ${h.mnt}: killed`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
  if (a.hierarchies.some((h) => readProcs(h.mnt).some((p) => p !== process.pid))) await sleep(200);
  for (const h of a.hierarchies) {
    for (const d of subdirs(h.mnt)) {
      const rel = path.relative(h.mnt, d);
      const notes = await removeCgroupTree(d);
      actions.push(`cgroup ${path.basename(h.mnt)}:<harness>/${rel} left by the test: removed${notes.length ? ` (${notes.join('; ')})` : ''}`);
      if (fs.existsSync(d)) reported.push(`cgroup ${d} could not be removed`);
    }
  }
  // 4. mounts left in the worker's (private) mount namespace
  for (const m of mountinfo().filter((x) => !mountsBefore.has(x.mnt)).reverse()) {
    if (isUnder(m.mnt, tmp)) {
      const u = sh('umount', ['-l', m.mnt]);
      actions.push(`mount ${m.mnt} (${m.fstype}) left under the test's TMPDIR: unmounted${u.ok ? '' : ` FAILED: ${u.stderr.trim()}`}`);
    } else reported.push(`mount ${m.mnt} (${m.fstype}) appeared during the test (private mount namespace of the harness; gone with it)`);
  }
  // 5. files the test left in its TMPDIR (bundles it did not remove): removed unless a mount is below
  const leftFiles = fs.existsSync(tmp) ? fs.readdirSync(tmp) : [];
  if (leftFiles.length) {
    if (mountinfo().some((m) => isUnder(m.mnt, tmp))) reported.push(`TMPDIR ${tmp} still has mounts below it: not removed`);
    else {
      fs.rmSync(tmp, { recursive: true, force: true });
      actions.push(`TMPDIR left with ${leftFiles.length} entr${leftFiles.length === 1 ? 'y' : 'ies'} (${leftFiles.slice(0, 3).join(', ')}): removed`);
    }
  }
  return { actions, reported };
}

// ---------------------------------------------------------------------------------------------
// build

function suiteTarball(opt) {
  const t = opt.suite || process.env.NSBOX_OCI_SUITE;
  if (t) return path.resolve(t);
  const dir = path.resolve(repoRoot, '../shared/oci');
  let names = [];
  try {
    names = fs.readdirSync(dir).filter((n) => /^runtime-tools-.*\.tar\.gz$/.test(n)).sort();
  } catch {}
  if (!names.length) throw new HarnessError(`no runtime-tools-*.tar.gz in ${dir}; set NSBOX_OCI_SUITE=/path/to/tarball or --suite`);
  return path.join(dir, names.at(-1));
}

function buildSuite(tarball, cacheRoot) {
  if (!fs.existsSync(tarball)) throw new HarnessError(`suite tarball ${tarball} not found`);
  const sha = crypto.createHash('sha256').update(fs.readFileSync(tarball)).digest('hex');
  const dir = path.join(cacheRoot, sha.slice(0, 16));
  const src = path.join(dir, 'runtime-tools');
  const stamp = path.join(dir, 'built.json');
  const testsIn = (d) => {
    try {
      return fs.readdirSync(path.join(d, 'validation'), { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'util').map((e) => e.name).sort();
    } catch {
      return [];
    }
  };
  const complete = () => fs.existsSync(path.join(src, 'runtimetest')) && testsIn(src).every((n) => fs.existsSync(path.join(src, 'validation', n, `${n}.t`)));
  if (fs.existsSync(stamp) && complete()) {
    log(`suite: reusing ${src} (sha256 ${sha.slice(0, 16)}…)`);
    return { dir: src, sha, tests: testsIn(src), built: false, buildSeconds: 0 };
  }
  const go = which('go');
  if (!go) throw new HarnessError('`go` not found: the suite is Go (go.mod says go 1.21; Debian 12\'s golang-go is 1.19, too old). Install Go ≥ 1.21 and put it on PATH.');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  log(`suite: extracting ${tarball} into ${dir}`);
  let r = sh('tar', ['-xzf', tarball, '-C', dir]);
  if (!r.ok) throw new HarnessError(`tar -xzf ${tarball}: ${r.stderr.trim()}`);
  if (!fs.existsSync(src)) throw new HarnessError(`${tarball} has no runtime-tools/ directory at its top`);
  log(`suite: building runtimetest and the validation executables with ${sh(go, ['version']).stdout.trim()} (offline, vendored)`);
  const t0 = Date.now();
  r = sh('make', ['runtimetest', 'validation-executables'], {
    cwd: src,
    env: { ...process.env, GOFLAGS: '-mod=vendor', GOPROXY: 'off', GOTOOLCHAIN: 'local' },
  });
  const buildSeconds = (Date.now() - t0) / 1000;
  fs.writeFileSync(path.join(dir, 'build.log'), r.stdout + r.stderr);
  if (!r.ok || !complete()) throw new HarnessError(`building the suite failed (log: ${path.join(dir, 'build.log')}): ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  fs.writeFileSync(stamp, JSON.stringify({ tarball, sha256: sha, go: sh(go, ['version']).stdout.trim(), seconds: buildSeconds, at: new Date().toISOString() }, null, 1));
  log(`suite: built in ${buildSeconds.toFixed(0)} s`);
  return { dir: src, sha, tests: testsIn(src), built: true, buildSeconds };
}

// ---------------------------------------------------------------------------------------------
// main

function parseArgs(argv) {
  const o = { runtimes: [], json: null, minPass: null, mustPass: null, only: null, timeout: 60, suite: null, keep: false, cache: path.join(repoRoot, 'target/oci-suite') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [k, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const val = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new HarnessError(`${k} needs a value`);
      return v;
    };
    switch (k) {
      case '--runtime': o.runtimes.push(val()); break;
      case '--json': o.json = path.resolve(val()); break;
      case '--min-pass': o.minPass = Number(val()); break;
      case '--must-pass': o.mustPass = path.resolve(val()); break;
      case '--only': o.only = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--timeout': o.timeout = Number(val()); break;
      case '--suite': o.suite = val(); break;
      case '--cache': o.cache = path.resolve(val()); break;
      case '--keep': o.keep = true; break;
      case '--rejudge': o.rejudge = path.resolve(val()); break;
      case '-h': case '--help':
        process.stdout.write(fs.readFileSync(scriptPath, 'utf8').split('\n').slice(1, 6).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
        process.exit(0);
      default: throw new HarnessError(`unknown argument ${arg}`);
    }
  }
  if (!o.runtimes.length) o.runtimes.push(path.join(repoRoot, 'target/release/nsbox-runtime'));
  if (!(o.timeout > 0)) throw new HarnessError('--timeout must be a positive number of seconds');
  return o;
}

function hostSnapshot(runtimes) {
  return {
    mounts: mountinfo().map((m) => `${m.mnt} ${m.fstype} ${m.source}`),
    ids: Object.fromEntries(runtimes.map((r) => [r.name, listIds(r.stateRoot)])),
    cgroups: listCgroupDirs(),
  };
}
function diff(before, after) {
  const b = new Set(before);
  return after.filter((x) => !b.has(x));
}

async function main(opt) {
  if (process.getuid() !== 0) throw new HarnessError('run as root: the suite creates containers, cgroups and namespaces');
  for (const tool of ['unshare', 'mount', 'umount', 'tar', 'make']) if (!which(tool)) throw new HarnessError(`${tool} not found`);

  const runtimes = opt.runtimes.map((spec, i) => {
    const [p, root] = spec.split(':');
    const abs = which(p);
    if (!abs) throw new HarnessError(`runtime ${p} not found${['crun', 'runc'].includes(p) ? ` (Debian: apt-get install ${p})` : ''}`);
    const stateRoot = stateRootOf(abs, root);
    if (!stateRoot) throw new HarnessError(`no known state root for ${abs}: give it as --runtime ${p}:/run/STATE_ROOT`);
    const v = sh(abs, ['--version']);
    return { name: path.basename(abs), path: abs, stateRoot, version: (v.stdout || v.stderr).trim().split('\n')[0] ?? '?', index: i };
  });
  const seen = new Map();
  for (const r of runtimes) {
    const n = seen.get(r.name) ?? 0;
    seen.set(r.name, n + 1);
    if (n) r.name = `${r.name}#${n + 1}`;
  }
  const gated = runtimes.find((r) => r.name.startsWith('nsbox')) ?? runtimes[0];

  const tarball = suiteTarball(opt);
  const suite = buildSuite(tarball, opt.cache);
  let tests = suite.tests.map((name) => ({
    name,
    exe: `validation/${name}/${name}.t`,
    kind: classify(fs.readFileSync(path.join(suite.dir, 'validation', name, `${name}.go`), 'utf8')),
  }));
  if (opt.only) {
    const unknown = opt.only.filter((n) => !tests.some((t) => t.name === n));
    if (unknown.length) throw new HarnessError(`--only: no such test ${unknown.join(', ')}`);
    tests = tests.filter((t) => opt.only.includes(t.name));
  }
  const mustPass = opt.mustPass
    ? fs.readFileSync(opt.mustPass, 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean)
    : [];
  const unknownMust = mustPass.filter((n) => !suite.tests.includes(n));
  if (unknownMust.length) throw new HarnessError(`--must-pass lists tests the suite does not have: ${unknownMust.join(', ')}`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logRoot = path.join(opt.cache, 'runs', stamp);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-oci-'));
  const before = hostSnapshot(runtimes);
  const hier = hierarchies();
  if (!hier.some((h) => !h.v2)) throw new HarnessError('no cgroup v1 hierarchy mounted: this harness (and the suite, whose cgroup checks are v1-only) needs a v1 or hybrid layout');
  fs.chmodSync(scratch, 0o755); // as /tmp would be: user-namespace tests need to traverse it
  log(`${tests.length} tests × ${runtimes.map((r) => `${r.name} (${r.version})`).join(', ')}; logs in ${logRoot}`);
  fs.mkdirSync(logRoot, { recursive: true });
  fs.writeFileSync(path.join(logRoot, 'run.json'), JSON.stringify({ runtimes, tests, tarball, sha256: suite.sha, timeoutSeconds: opt.timeout }, null, 1));

  const perRuntime = {};
  const leftovers = [];
  const hierarchiesHarness = [];
  for (const rt of runtimes) {
    const harnessRel = `nsbox-oci-${process.pid}-${rt.index}`;
    const hierarchies = [];
    try {
      for (const h of hier) {
        const parent = path.join(h.mnt, path.relative(h.root, h.own));
        const harnessDir = path.join(parent, harnessRel);
        fs.mkdirSync(harnessDir);
        hierarchiesHarness.push(harnessDir);
        hierarchies.push({ mnt: h.mnt, harnessDir, harnessRel: path.join(h.own, harnessRel), v2: h.v2 });
        if (fs.existsSync(path.join(harnessDir, 'cpuset.cpus'))) {
          for (const f of ['cpuset.cpus', 'cpuset.mems']) fs.writeFileSync(path.join(harnessDir, f), fs.readFileSync(path.join(parent, f), 'utf8').trim() || '\n');
        }
      }
      const logDir = path.join(logRoot, rt.name);
      fs.mkdirSync(logDir, { recursive: true });
      const argsFile = path.join(scratch, `${rt.name}.args.json`);
      const outFile = path.join(scratch, `${rt.name}.out.json`);
      // the worker re-roots the v1 hierarchies; cgroup2 (hybrid) it unmounts, but it still joins the
      // harness cgroup there, so that its cgroup namespace is rooted below ours in every hierarchy
      fs.writeFileSync(argsFile, JSON.stringify({ runtime: rt, tests, suiteDir: suite.dir, scratch, logDir, outFile, timeoutMs: opt.timeout * 1000, hierarchies: hierarchies.filter((h) => !h.v2), retry: rt === gated ? mustPass : [] }));
      const procs = hierarchies.map((h) => path.join(h.harnessDir, 'cgroup.procs')).join(':');
      const t0 = Date.now();
      const r = spawnSync(
        'sh',
        ['-c', 'IFS=:; for f in $NSBOX_OCI_PROCS; do echo $$ > "$f" || exit 125; done; unset NSBOX_OCI_PROCS; exec unshare --mount --cgroup --propagation private -- "$@"', 'sh', process.execPath, scriptPath, '--worker', argsFile],
        { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, NSBOX_OCI_PROCS: procs } },
      );
      if (!fs.existsSync(outFile)) throw new HarnessError(`the worker for ${rt.name} exited ${r.status ?? r.signal} without results`);
      perRuntime[rt.name] = { ...JSON.parse(fs.readFileSync(outFile, 'utf8')), outerSeconds: (Date.now() - t0) / 1000 };
    } finally {
      for (const h of hierarchies.reverse()) {
        const notes = fs.existsSync(h.harnessDir) ? await removeCgroupTree(h.harnessDir) : [];
        if (notes.length) leftovers.push(`harness cgroup ${h.harnessDir}: ${notes.join('; ')}`);
        if (fs.existsSync(h.harnessDir)) leftovers.push(`harness cgroup ${h.harnessDir} could not be removed`);
      }
    }
  }

  // What the whole run left on the host. By construction the tests could only create cgroups below the
  // harness cgroups (removed above) and mounts in the worker's private mount namespace; so a host-wide
  // change elsewhere is another process's doing (other sessions share this machine) and is listed as
  // such, never touched. Containers count as ours only when their bundle lies in our scratch dir.
  const after = hostSnapshot(runtimes);
  const elsewhere = [];
  for (const m of diff(before.mounts, after.mounts)) (m.split(' ').some((f) => isUnder(f, scratch)) ? leftovers : elsewhere).push(`host mount appeared: ${m}`);
  for (const m of diff(after.mounts, before.mounts)) elsewhere.push(`host mount disappeared: ${m}`);
  for (const rt of runtimes) {
    for (const id of diff(before.ids[rt.name], after.ids[rt.name])) {
      let bundle = null;
      try {
        bundle = JSON.parse(sh(rt.path, ['state', id]).stdout).bundle ?? null;
      } catch {}
      const ours = bundle ? isUnder(bundle, scratch) : grepDir(path.join(rt.stateRoot, id), scratch);
      (ours ? leftovers : elsewhere).push(`${rt.name}: container ${id} in ${rt.stateRoot} (bundle ${bundle ?? 'unknown'}) appeared during the run (not touched)`);
    }
  }
  for (const d of diff(before.cgroups, after.cgroups)) (hierarchiesHarness.some((h) => isUnder(d, h)) ? leftovers : elsewhere).push(`cgroup appeared during the run: ${d} (not touched)`);
  for (const rt of runtimes) for (const r of perRuntime[rt.name]?.results ?? []) for (const x of r.cleanup.reported) leftovers.push(`${rt.name}/${r.test}: ${x}`);
  const scratchLeft = [];
  const mountsUnderScratch = mountinfo().filter((m) => isUnder(m.mnt, scratch));
  if (mountsUnderScratch.length) leftovers.push(`mounts under the scratch dir ${scratch}: ${mountsUnderScratch.map((m) => m.mnt).join(', ')} (scratch kept)`);
  else if (!opt.keep) fs.rmSync(scratch, { recursive: true, force: true });
  else scratchLeft.push(scratch);

  const gate = report({ tests, runtimes, perRuntime, suite, tarball, leftovers, elsewhere, opt, gated, mustPass, logRoot });
  process.exitCode = leftovers.length ? 3 : gate.length ? 1 : 0;
}

// Prints the table and the summary, writes --json, returns the gate failures.
function report({ tests, runtimes, perRuntime, suite, tarball, leftovers, elsewhere, opt, gated, mustPass, logRoot }) {
  const table = tests.map((t) => ({
    test: t.name,
    kind: t.kind,
    results: Object.fromEntries(runtimes.map((rt) => [rt.name, (perRuntime[rt.name]?.results ?? []).find((r) => r.test === t.name) ?? null])),
  }));
  const summary = runtimes.map((rt) => {
    const rs = perRuntime[rt.name]?.results ?? [];
    return { name: rt.name, path: rt.path, version: rt.version, stateRoot: rt.stateRoot, passed: rs.filter((r) => r.passed).length, total: rs.length, wallSeconds: Number((perRuntime[rt.name]?.wallSeconds ?? 0).toFixed(1)), notes: perRuntime[rt.name]?.notes ?? [] };
  });
  const w = Math.max(...tests.map((t) => t.name.length), 4);
  const cols = runtimes.map((r) => Math.max(r.name.length, 4));
  const out = [];
  out.push(`${'test'.padEnd(w)}  ${'kind'.padEnd(7)}  ${runtimes.map((r, i) => r.name.padEnd(cols[i])).join('  ')}  first failing line`);
  for (const row of table) {
    const cells = runtimes.map((rt, i) => {
      const r = row.results[rt.name];
      return (r ? (r.passed ? 'pass' : r.timedOut ? 'TIME' : 'FAIL') : '-').padEnd(cols[i]);
    });
    const why = runtimes
      .filter((rt) => row.results[rt.name] && !row.results[rt.name].passed)
      .map((rt) => `${rt.name}: ${row.results[rt.name].reason}`)
      .join(' ‖ ');
    out.push(`${row.test.padEnd(w)}  ${row.kind.padEnd(7)}  ${cells.join('  ')}  ${why}`);
  }
  out.push('');
  for (const s of summary) out.push(`${s.name} (${s.version}): ${s.passed}/${s.total} passed in ${s.wallSeconds} s`);
  if (suite.built) out.push(`suite built in ${suite.buildSeconds.toFixed(0)} s`);
  for (const rt of runtimes) {
    for (const r of perRuntime[rt.name]?.results ?? []) if (r.firstAttempt) out.push(`${rt.name}: ${r.test} ${r.passed ? 'passed' : 'failed'} on a second attempt (first: ${r.firstAttempt.reason.slice(0, 110)})`);
  }
  if (opt.rejudge) out.push(`re-judged from the logs in ${logRoot} (nothing run, no host checks)`);
  else out.push(leftovers.length ? `LEFT BEHIND:\n  ${leftovers.join('\n  ')}` : 'left behind: nothing (containers, cgroups, mounts compared before/after)');
  if (elsewhere.length) out.push(`changed on this machine meanwhile, not by this run (see the JSON): ${elsewhere.length} entr${elsewhere.length === 1 ? 'y' : 'ies'}`);
  process.stdout.write(out.join('\n') + '\n');

  const gate = [];
  const gs = summary.find((s) => s.name === gated.name);
  if (opt.minPass !== null && gs.passed < opt.minPass) gate.push(`${gated.name} passed ${gs.passed}, fewer than --min-pass ${opt.minPass}`);
  for (const n of mustPass) {
    const r = table.find((row) => row.test === n)?.results[gated.name];
    if (!r && opt.only) continue; // outside the --only selection
    if (!r) gate.push(`${n} (in --must-pass) was not run`);
    else if (!r.passed) gate.push(`${n} (in --must-pass) failed for ${gated.name}: ${r.reason}`);
  }
  for (const g of gate) process.stdout.write(`GATE: ${g}\n`);

  if (opt.json) {
    fs.mkdirSync(path.dirname(opt.json), { recursive: true });
    fs.writeFileSync(
      opt.json,
      JSON.stringify(
        {
          suite: { tarball, sha256: suite.sha, dir: suite.dir, built: suite.built, buildSeconds: suite.buildSeconds },
          host: { kernel: os.release(), cgroups: perRuntime[runtimes[0].name]?.notes ?? [] },
          timeoutSeconds: opt.timeout,
          logs: logRoot,
          gated: gated.name,
          runtimes: summary,
          tests: table,
          leftovers,
          elsewhere,
          cleanups: Object.fromEntries(runtimes.map((rt) => [rt.name, (perRuntime[rt.name]?.results ?? []).filter((r) => r.cleanup.actions.length).map((r) => ({ test: r.test, actions: r.cleanup.actions }))])),
          gate,
        },
        null,
        1,
      ),
    );
  }
  return gate;
}

// --rejudge DIR: applies the current rule to a finished run's logs (DIR = target/oci-suite/runs/STAMP)
// and prints the table again, without running anything.
function rejudge(opt) {
  const dir = opt.rejudge;
  const run = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
  const perRuntime = {};
  for (const rt of run.runtimes) {
    const results = [];
    for (const t of run.tests) {
      const base = path.join(dir, rt.name, t.name);
      if (!fs.existsSync(`${base}.json`)) continue;
      const meta = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8'));
      const stdout = fs.readFileSync(`${base}.tap`, 'utf8');
      const stderr = fs.readFileSync(`${base}.stderr`, 'utf8');
      results.push({ ...meta, ...judge(t.kind, { stdout, stderr, exitCode: meta.exitCode, signal: meta.signal, timedOut: meta.timedOut, seconds: meta.seconds }) });
    }
    perRuntime[rt.name] = { results, wallSeconds: results.reduce((a, r) => a + r.seconds, 0), notes: ['re-judged from logs; wall time = sum of test times'] };
  }
  const gated = run.runtimes.find((r) => r.name.startsWith('nsbox')) ?? run.runtimes[0];
  const mustPass = opt.mustPass ? fs.readFileSync(opt.mustPass, 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean) : [];
  const gate = report({ tests: run.tests, runtimes: run.runtimes, perRuntime, suite: { dir: '', sha: run.sha256, built: false, buildSeconds: 0 }, tarball: run.tarball, leftovers: [], elsewhere: [], opt, gated, mustPass, logRoot: dir });
  process.exitCode = gate.length ? 1 : 0;
}


if (process.argv[2] === '--worker') {
  worker(process.argv[3]).catch((e) => {
    process.stderr.write(`[oci] worker: ${e.stack ?? e}\n`);
    process.exit(2);
  });
} else {
  (async () => {
    const opt = parseArgs(process.argv.slice(2));
    if (opt.rejudge) return rejudge(opt);
    return main(opt);
  })().catch((e) => {
    process.stderr.write(`[oci] ${e instanceof HarnessError ? e.message : e.stack ?? e}\n`);
    process.exit(2);
  });
}
