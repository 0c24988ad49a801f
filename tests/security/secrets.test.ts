/**
 * Issue #9, class 6: state files that hold secrets are readable by their owner only. Root starts
 * containers with a password in their environment (`run -d -e`, and `create -e`); the state root is
 * 0711 as /run/nsbox is, so other local users can traverse it. The attack: as `nobody`, read every file
 * under the state root that holds the password. Refused means: nobody reads none of them, each such file
 * has no group or other permission bits (mode & 0o077 == 0), config.json is 0600 and the container's
 * directory 0700, all with the caller's umask at 000 (a mode left to the umask would be 0644/0666).
 * (Started from the shared attack test in /work/main/tests/security; see the report for changes.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { AS_NOBODY } from '../helpers/nobody.js';
import { needsRoot } from '../helpers/privileged.js';
import { Box, told } from './helpers.js';

/** Every regular file under `dir`. */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : e.isFile() ? [p] : [];
  });
}

/** Whether `nobody` can read `file` (the real kernel answer, not a guess from mode bits). */
function nobodyReads(file: string): boolean {
  try {
    execFileSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), 'cat', file], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const UMASK_000 = ['sh', '-c', 'umask 000; exec "$@"', 'sh'];

for (const how of ['run -d', 'create'] as const) {
  test(`${how} -e PASSWORD=…: no other user reads the password from the state root; config.json 0600, its directory 0700`, async (t) => {
    if (!needsRoot(t)) return;
    const box = new Box(t);
    chmodSync(box.root, 0o711); // as /run/nsbox: others may traverse
    const secret = `hunter2-MARKER-${process.pid}-${how.replace(/\W/g, '')}`;
    const name = `sec-secret-${process.pid}`;
    box.track(name);
    const args = how === 'run -d' ? ['run', '-d'] : ['create'];
    // run -d also prints it, so the log holds the secret too.
    const command = how === 'run -d' ? ['/bin/sh', '-c', 'echo "pw=$PASSWORD"; exec sleep 600'] : ['sleep', '600'];
    const r = await box.cli([...args, '--name', name, '-e', `PASSWORD=${secret}`, '--', ...command], { prefix: UMASK_000 });
    t.is(r.code, 0, told(r));
    const id = r.stdout.trim();
    if (how === 'run -d') {
      // The monitor writes the output to the log once it has read it: wait for it (no time limit asserted).
      for (let i = 0; i < 200 && !(await box.cli(['logs', name])).stdout.includes(secret); i++) spawnSync('sleep', ['0.05']);
    }

    const holding = files(box.root).filter((f) => readFileSync(f).includes(secret));
    const names = holding.map((f) => path.basename(f));
    t.true(names.includes('config.json'), `the environment is kept in config.json: ${files(box.root).join(', ')}`);
    if (how === 'run -d') t.true(names.includes('container.log'), `the output is in the log: ${names.join(', ')}`);
    const problems: string[] = [];
    for (const f of holding) {
      const mode = statSync(f).mode & 0o777;
      const rel = path.relative(box.root, f);
      if (nobodyReads(f)) problems.push(`${rel}: nobody read the password from it (mode ${mode.toString(8)})`);
      if (mode & 0o077) problems.push(`${rel}: mode ${mode.toString(8)} gives group/others access`);
      if (path.basename(f) === 'config.json' && mode !== 0o600) problems.push(`${rel}: mode ${mode.toString(8)}, not 600`);
    }
    const dir = path.join(box.root, id);
    const dirMode = statSync(dir).mode & 0o777;
    if (dirMode !== 0o700) problems.push(`the container's directory is ${dirMode.toString(8)}, not 700`);
    for (const f of files(dir)) {
      const mode = statSync(f).mode & 0o777;
      if (mode & 0o077) problems.push(`${path.basename(f)} in the container's directory is ${mode.toString(8)}`);
    }
    t.deepEqual(problems, [], problems.join('\n'));

    // The owner's own tools still read it all: ps lists it, exec gets its environment from config.json.
    const ps = await box.cli(['ps', '-a']);
    t.is(ps.code, 0, told(ps));
    t.true(ps.stdout.includes(name), told(ps));
    if (how === 'run -d') {
      const ex = await box.cli(['exec', name, '/bin/sh', '-c', 'echo "seen=$PASSWORD"']);
      t.is(ex.code, 0, told(ex));
      t.true(ex.stdout.includes(`seen=${secret}`), told(ex));
    }
  });
}
