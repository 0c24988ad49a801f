/**
 * A full disk mid-pull, against a real docker-registry on 127.0.0.1 (helpers/registry.ts): the store
 * is a 3 MiB tmpfs mounted in a private mount namespace (`unshare --mount`, so the machine's mounts are
 * never touched and the tmpfs goes away with the namespace), the image ~4 MiB of incompressible
 * layers. The pull fails with exit code 125 (every image command's) and one line naming the reference, the
 * layer's digest and ENOSPC; afterwards `nsbox images` lists nothing, no layer blob or unpacked layer
 * is there, and tmp/ is empty.
 * CI budget: ~5 s (one registry, one skopeo push, one failing pull).
 */
import { execFile } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { CLI } from '../helpers/cli.js';
import { busyboxImage, file } from '../helpers/oci-image.js';
import { needsRoot } from '../helpers/privileged.js';
import { isolatedRegistryEnv, skopeoPush, startRegistry, type Registry } from '../helpers/registry.js';

const { scratch } = isolatedRegistryEnv('nsbox-full-disk-test');
const MiB = 1 << 20;

/** Deterministic noise: gzip cannot shrink it, so each layer takes its full size on the tmpfs. */
function noise(seed: number, size: number): Buffer {
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16, 0)).update(Buffer.alloc(size));
}

const image = busyboxImage({ tag: 'full', noBase: true, layers: [[file('data/a', noise(1, 2 * MiB))], [file('data/b', noise(2, 2 * MiB))]] });
let reg: Registry;

test.before(async () => {
  reg = await startRegistry('none');
  await skopeoPush(image.layout, `${reg.host}/nsbox/full:1`);
});

test.after.always(async () => {
  await reg?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * Inside one private mount namespace: mount the tmpfs on the store, pull, list, and print what the
 * store holds. Sections are separated by marker lines; the pull's stderr is kept apart.
 */
const SCRIPT = `
set -u
mount -t tmpfs -o size=3m,mode=0700 nsbox-full-disk-test "$STORE" || exit 99
"$NODE" "$CLI" pull "$REF" >/dev/null 2>"$PULL_ERR"
echo "== pull $?"
"$NODE" "$CLI" images -q
echo "== images $?"
for d in blobs/sha256 layers tmp; do echo "== ls $d"; ls -A "$STORE/$d" 2>/dev/null; done
echo "== sums"
(cd "$STORE/blobs/sha256" && for b in *; do [ -f "$b" ] && echo "$b $(sha256sum < "$b" | cut -d' ' -f1)"; done)
"$NODE" "$CLI" image prune -f >/dev/null
echo "== prune $?"
echo "== pruned"
ls -A "$STORE/blobs/sha256" 2>/dev/null
echo "== end"
`;

test('a full disk mid-pull: exit 125, one line naming the reference and ENOSPC, nothing half there', async (t) => {
  if (!needsRoot(t)) return;
  const ref = `${reg.host}/nsbox/full:1`;
  const store = path.join(scratch, 'store');
  const pullErr = path.join(scratch, 'pull.err');
  mkdirSync(store);
  const env = { ...process.env, STORE: store, NODE: process.execPath, CLI, REF: ref, PULL_ERR: pullErr, NSBOX_STORE: store };
  const out = await new Promise<string>((resolve, reject) =>
    execFile('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', SCRIPT], { env, encoding: 'utf8' }, (err, stdout, stderr) =>
      err ? reject(new Error(`unshare: ${err.message}: ${stderr}`)) : resolve(stdout),
    ),
  );
  const sections = new Map<string, string[]>();
  let cur = '';
  for (const line of out.split('\n')) {
    if (line.startsWith('== ')) sections.set((cur = line.slice(3)), []);
    else if (line) sections.get(cur)?.push(line);
  }
  const stderr = readFileSync(pullErr, 'utf8');
  t.log(stderr.trim());
  t.true(sections.has('pull 125'), `pull exit code: ${[...sections.keys()].join(', ')}`);
  const lines = stderr.trim().split('\n');
  t.is(lines.length, 1, 'one line');
  t.true(lines[0]!.startsWith(`nsbox: pull: ENOSPC: ${ref}: `), lines[0]);
  t.regex(lines[0]!, /sha256:[0-9a-f]{64}/, 'the digest being written');
  t.regex(lines[0]!, /No space left on device/);

  t.true(sections.has('images 0'), [...sections.keys()].join(', '));
  t.deepEqual(sections.get('images 0')?.filter((l) => l.trim()), [], 'nsbox images lists nothing');
  const layerHexes = image.layers.map((l) => l.digest.slice(7));
  const blobs = sections.get('ls blobs/sha256') ?? [];
  // Blobs written in full before the disk filled (the config, a layer downloaded in parallel) may
  // stay: they were verified before they were renamed in, and a later pull reuses them. Never a
  // partial one, never the manifest (so nothing names the image).
  t.false(blobs.includes(image.manifestDigest.slice(7)), 'no manifest stored');
  t.true(blobs.length < layerHexes.length + 1, `not every blob: ${blobs.join(' ')}`);
  for (const b of blobs) t.true(layerHexes.includes(b) || b === image.configDigest.slice(7), `an unknown blob: ${b}`);
  for (const l of sections.get('sums') ?? []) {
    const [name, sum] = l.split(' ');
    t.is(sum, name, `blob ${name} is whole`);
  }
  t.is(sections.get('sums')?.length, blobs.length);
  t.true(sections.has('prune 0'), [...sections.keys()].join(', '));
  t.deepEqual(sections.get('pruned'), [], 'image prune frees what the failed pull kept');
  t.deepEqual(sections.get('ls layers'), [], 'no unpacked layer');
  t.deepEqual(sections.get('ls tmp'), [], 'tmp/ is empty');
  t.true(sections.has('end'));
  t.deepEqual(readdirSync(store), [], 'the tmpfs went away with the namespace: nothing reached the disk underneath');
});
