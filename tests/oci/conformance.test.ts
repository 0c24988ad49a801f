/**
 * The OCI conformance suite (runtime-tools, built offline from ../shared/oci) against nsbox-runtime,
 * in `npm test`: every test in tests/oci/must-pass.txt must pass (a test counts only when the
 * container's own TAP reached the suite; docs/oci-conformance.md), and the run must leave nothing
 * behind. The per-test table is logged. CI budget: about 5 minutes (a one-off build of ~1 minute,
 * then one validation test at a time).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import test from 'ava';

import { runtimePath } from 'nsbox';
import { needsRoot } from '../helpers/privileged.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');

/** The suite's tarball, as CI lays it out beside the clone (or $NSBOX_OCI_SUITE). */
function suiteTarball(): string | null {
  if (process.env.NSBOX_OCI_SUITE) return process.env.NSBOX_OCI_SUITE;
  const dir = path.resolve(REPO, '../shared/oci');
  const tgz = existsSync(dir) ? readdirSync(dir).find((f) => f.startsWith('runtime-tools-') && f.endsWith('.tar.gz')) : undefined;
  return tgz ? path.join(dir, tgz) : null;
}

test('OCI conformance: every test in must-pass.txt passes for nsbox-runtime, nothing left behind', async (t) => {
  t.timeout(15 * 60_000);
  if (!needsRoot(t)) return;
  const suite = suiteTarball();
  if (!suite) return t.fail('the conformance suite is not beside this checkout (../shared/oci/runtime-tools-*.tar.gz) and NSBOX_OCI_SUITE is not set');
  const args = [path.join(HERE, 'conformance.mjs'), '--runtime', runtimePath(), '--suite', suite, '--must-pass', path.join(HERE, 'must-pass.txt')];
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.log(out.trim());
  t.is(code, 0, `conformance.mjs exited ${code}: ${err.trim().split('\n').slice(-15).join('\n')}`);
  t.regex(out, /nsbox-runtime \(.*\): \d+\/\d+ passed/);
  t.regex(out, /left behind: nothing/);
});
