/**
 * Bad resource flags: exit 125, one line naming the flag with docker's message, nothing left
 * behind (no container directory, name or record in the state root). No root needed for most: the
 * values are refused before anything is made.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test from 'ava';

import { runCli } from '../helpers/cli.js';

const CASES: Array<[string[], RegExp]> = [
  [['--memory', '4m'], /^nsbox: --memory: ERR_INVALID_SPEC: Minimum memory limit allowed is 6MB$/],
  [['--memory', 'lots'], /^nsbox: --memory: ERR_INVALID_SPEC: invalid size: 'lots'$/],
  [['--memory-swap', '1g'], /^nsbox: --memory-swap: ERR_INVALID_SPEC: You should always set the Memory limit when using Memoryswap limit, see usage$/],
  [['--memory', '64m', '--memory-swap', '32m'], /^nsbox: --memory-swap: ERR_INVALID_SPEC: Minimum memoryswap limit should be larger than memory limit, see usage$/],
  [['--memory', '64m', '--memory-reservation', '128m'], /^nsbox: --memory-reservation: ERR_INVALID_SPEC: Minimum memory limit can not be less than memory reservation limit/],
  [['--cpus', '999'], /^nsbox: --cpus: ERR_INVALID_SPEC: Range of CPUs is from 0\.01 to \d+\.00, as there are only \d+ CPUs available$/],
  [['--cpus', 'half'], /^nsbox: --cpus: ERR_INVALID_SPEC: failed to parse half as a rational number$/],
  [['--cpus', '1', '--cpu-quota', '50000'], /^nsbox: --cpus: ERR_INVALID_SPEC: Conflicting options: Nano CPUs and CPU Quota cannot both be set$/],
  [['--cpu-period', '10'], /^nsbox: --cpu-period: ERR_INVALID_SPEC: CPU cfs period can not be less than 1ms/],
  [['--cpu-shares', 'x'], /^nsbox: --cpu-shares: ERR_INVALID_SPEC: invalid argument "x" for "--cpu-shares" flag/],
  [['--cpuset-cpus', '99'], /^nsbox: --cpuset-cpus: ERR_INVALID_SPEC: Requested CPUs are not available - requested 99, available: /],
  [['--pids-limit', 'many'], /^nsbox: --pids-limit: ERR_INVALID_SPEC: invalid argument "many"/],
  [['--blkio-weight', '5'], /^nsbox: --blkio-weight: ERR_INVALID_SPEC: Range of blkio weight is from 10 to 1000$/],
  [['--device-read-bps', '/dev/null:1mb'], /^nsbox: --device-read-bps: ERR_INVALID_SPEC: \/dev\/null is not a block device$/],
  [['--device-write-iops', '/dev/vda'], /^nsbox: --device-write-iops: ERR_INVALID_SPEC: bad format: \/dev\/vda$/],
  [['--ulimit', 'nofiles=1'], /^nsbox: --ulimit: ERR_INVALID_SPEC: invalid ulimit type: nofiles$/],
  [['--ulimit', 'nofile=20:10'], /^nsbox: --ulimit: ERR_INVALID_SPEC: ulimit soft limit must be less than or equal to hard limit: 20 > 10$/],
  [['--shm-size', 'big'], /^nsbox: --shm-size: ERR_INVALID_SPEC: invalid size: 'big'$/],
  [['--tmpfs', 'tmp'], /^nsbox: --tmpfs: ERR_INVALID_SPEC: invalid mount path: "tmp": mount path must be absolute$/],
  [['--tmpfs', '/x:size=0'], /^nsbox: --tmpfs: ERR_INVALID_SPEC: size=0 would make the tmpfs unbounded/],
];

for (const [flags, want] of CASES) {
  test(`run -d ${flags.join(' ')}: 125 naming the flag, nothing left`, async (t) => {
    const root = mkdtempSync(path.join(tmpdir(), 'nsbox-res-flags-'));
    try {
      const r = await runCli(['run', '-d', '--root', root, ...flags, '--', 'true']);
      t.is(r.code, 125);
      t.regex(r.stderr.trim(), want);
      t.is(r.stderr.trim().split('\n').length, 1, 'one line');
      t.deepEqual(readdirSync(root).filter((n) => n !== 'names' && n !== '.lock' && n !== 'events.jsonl'), []);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test('--blkio-weight is refused on a host without BFQ; --ulimit above the hard limit without CAP_SYS_RESOURCE names the limit', async (t) => {
  const r = await runCli(['run', '--blkio-weight', '500', '--', 'true']);
  t.is(r.code, 125);
  t.regex(r.stderr, /^nsbox: --blkio-weight: ERR_INVALID_SPEC: this kernel cannot enforce an I\/O weight: no block device uses the BFQ scheduler/);
  const u = await runCli(['run', '--ulimit', 'nofile=99999999:99999999', '--', 'true']);
  // CAP_SYS_RESOURCE (bit 24 of CapEff) lets the kernel raise it; this host withholds it.
  const capEff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
  if ((capEff >> 24n) & 1n) {
    t.log('this host grants CAP_SYS_RESOURCE: the refusal cannot be shown here');
    return;
  }
  t.is(u.code, 125);
  t.regex(u.stderr, /^nsbox: --ulimit: ERR_INVALID_SPEC: nofile: hard limit 99999999 is above the caller's hard limit \d+; raising it needs CAP_SYS_RESOURCE/);
});

test('--kernel-memory is accepted and ignored with a warning, as docker 23+', async (t) => {
  const r = await runCli(['run', '--kernel-memory', '64m', '--', 'true']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /^WARNING: Specifying a kernel memory limit is deprecated/);
});

test('update: nothing to update, or a flag docker update lacks, is a usage error (125)', async (t) => {
  const a = await runCli(['update', 'whatever']);
  t.is(a.code, 125);
  t.regex(a.stderr, /nothing to update/);
  const b = await runCli(['update', '--ulimit', 'nofile=1', 'whatever']);
  t.is(b.code, 125);
});
