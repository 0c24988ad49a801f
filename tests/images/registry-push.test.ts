/**
 * Push against a real docker-registry on 127.0.0.1 (helpers/registry.ts), seen through the counting
 * TCP proxy of helpers/registry.ts (every request line, in order): an image loaded into the store is
 * pushed to repository a (every blob uploaded once), then to b of the same registry (every blob
 * mounted from a: `POST …/blobs/uploads/?mount=…&from=nsbox%2Fa`, no upload), then pulled back from b
 * into another store by digest; a mount the registry declines (a source that does not hold the blob)
 * falls back to an upload into the session the registry answered with; rmi frees the source records.
 * CI budget: ~8 s (one registry, one load, three pushes and one pull of a ~2 MB image).
 */
import { appendFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { inspectImage, loadImage, pull, removeImage, tagImage } from '../../ts/src/index.js';
import { runCli } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { isolatedRegistryEnv, startProxy, startRegistry, type Proxy, type Registry } from '../helpers/registry.js';
import { box, layeredImage } from './helpers.js';

const { scratch } = isolatedRegistryEnv('nsbox-registry-push-test');
let reg: Registry;
let proxy: Proxy;

test.before(async () => {
  reg = await startRegistry('none');
  proxy = await startProxy(reg.host);
});

test.after.always(async () => {
  const failures: unknown[] = [];
  await proxy?.stop().catch((e: unknown) => failures.push(e));
  await reg?.stop().catch((e: unknown) => failures.push(e));
  rmSync(scratch, { recursive: true, force: true });
  if (failures.length) throw new Error(failures.map(String).join('; '));
});

const uploads = (repo: string) => proxy.requests.filter((r) => r.startsWith(`PUT /v2/nsbox/${repo}/blobs/uploads/`));
const mounts = (repo: string) => proxy.requests.filter((r) => r.startsWith(`POST /v2/nsbox/${repo}/blobs/uploads/?mount=`));

test('push to a uploads each blob once; the same image pushed to b is mounted from a, uploading nothing', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const img = layeredImage({}, 'mountme');
  await loadImage(img.dockerArchive, { store: b.store });
  const blobs = img.layers.length + 1; // and the config
  const push = async (repo: string) => {
    const ref = `${proxy.host}/nsbox/${repo}:1`;
    await tagImage(img.ref, ref, { store: b.store });
    const r = await runCli(['push', ref], { env: b.env });
    t.is(r.code, 0, r.stderr);
    return r.stdout;
  };

  await push('a');
  t.is(uploads('a').length, blobs, 'each blob uploaded once');
  t.deepEqual(mounts('a'), [], 'nothing known in this registry yet');

  const out = await push('b');
  t.deepEqual(uploads('b'), [], 'no layer uploaded twice');
  t.is(mounts('b').length, blobs);
  t.true(mounts('b').every((m) => m.includes('&from=nsbox%2Fa')), mounts('b').join('\n'));
  t.is(out.split('\n').filter((l) => l.endsWith(': Mounted from nsbox/a')).length, img.layers.length, out);
  const { digest } = await inspectImage(`${proxy.host}/nsbox/b:1`, { store: b.store });
  const back = box();
  t.teardown(() => back.dispose());
  const p = await pull(`${reg.host}/nsbox/b@${digest}`, { store: back.store });
  t.deepEqual(p.layers.map((l) => l.diffId), img.layers.map((l) => l.diffId), 'b serves the mounted blobs');

  // A source that does not hold the blob: the registry answers the mount with an upload session (202).
  // The store's own blob digests (a docker archive's layers are stored as it has them): from b's mounts.
  const top = decodeURIComponent(/mount=([^&]+)/.exec(mounts('b').at(-1)!)![1]!);
  appendFileSync(path.join(b.store, 'sources', top.slice(7)), `${proxy.host}/nsbox/ghost\n`);
  await push('c');
  t.true(mounts('c').some((m) => m.includes('from=nsbox%2Fghost')));
  t.is(uploads('c').length, 1, 'only the blob the mount was declined for is uploaded');
  t.true(uploads('c')[0]!.includes(`digest=${top.replace(':', '%3A')}`), uploads('c')[0]);

  for (const repo of ['a', 'b', 'c']) await removeImage(`${proxy.host}/nsbox/${repo}:1`, { store: b.store });
  await removeImage(img.ref, { store: b.store });
  t.deepEqual(b.ls('sources'), [], 'rmi frees the source records with the blobs');
  t.log(`requests through the proxy: ${proxy.requests.length}`);
});
