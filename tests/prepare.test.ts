// package.json `prepare` (scripts/prepare.mjs): `npx nsbox` in a built clone (npm exec runs `prepare`
// there) does not rebuild; `npm install` in a clone, and npm exec in a clone never built, still build.
// A stand-in `npm` on PATH records the call instead of building. CI budget: ~1 s.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test from 'ava';

import { REPO } from './helpers/cli.js';

function prepare(env: Record<string, string>): { code: number | null; out: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'nsbox-prepare-'));
  try {
    writeFileSync(path.join(dir, 'npm'), '#!/bin/sh\necho "stand-in npm: $*"\n', { mode: 0o755 });
    chmodSync(path.join(dir, 'npm'), 0o755);
    // No npm_* variables from an `npm test` around us (npm_execpath would bypass the stand-in).
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const r = spawnSync(process.execPath, [path.join(REPO, 'scripts/prepare.mjs')], {
      cwd: REPO,
      env: { ...base, PATH: `${dir}:${process.env.PATH ?? ''}`, ...env },
      encoding: 'utf8',
    });
    return { code: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('prepare: skipped under npm exec when built, a build otherwise', (t) => {
  // This checkout is built (tests run after `npm run build`).
  const exec = prepare({ npm_command: 'exec' });
  t.is(exec.code, 0);
  t.regex(exec.out, /already built, not rebuilding/);
  t.notRegex(exec.out, /stand-in npm/);
  for (const command of ['install', 'ci', 'pack']) {
    const r = prepare({ npm_command: command });
    t.is(r.code, 0, command);
    t.regex(r.out, /stand-in npm: run build/, `${command} builds`);
  }
  // A clone never built (its runtime missing) is built under npm exec too.
  const unbuilt = prepare({ npm_command: 'exec', NSBOX_RUNTIME: '/nonexistent/nsbox-runtime' });
  t.regex(unbuilt.out, /stand-in npm: run build/);
});
