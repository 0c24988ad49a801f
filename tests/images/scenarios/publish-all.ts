/**
 * `-P` from the library, in a throwaway namespace playing the host: the image's ExposedPorts are
 * published on free host ports and answer there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createNetwork, inspectNetwork, loadImage, removeNetwork, spawn } from 'nsbox';

import { busyboxImage, file } from '../../helpers/oci-image.js';
import { prepare, report, sh, until } from '../../network/scenarios/common.js';

prepare();
const store = mkdtempSync(path.join(tmpdir(), 'nsbox-img-pub-'));
const img = busyboxImage({ tag: 'publish-all', config: { ExposedPorts: { '80/tcp': {} } }, layers: [[file('www/index.html', 'hello-P\n')]] });
await loadImage(img.ociArchive, { store });
await createNetwork({ name: 'pub', subnet: '10.202.0.0/24' });
const c = spawn({ image: img.ref, store, network: 'pub', publishAll: true, command: ['httpd', '-f', '-p', '80', '-h', '/www'], stdout: 'ignore', stderr: 'inherit' });
await c.started;
const ports = (await inspectNetwork('pub')).endpoints[0]?.ports ?? [];
const port = ports[0]?.hostPort ?? 0;
await until(() => sh(`nsenter --net=/proc/${c.pid}/ns/net sh -c "grep -q ':0050 ' /proc/net/tcp"`).ok);
const answer = sh(`printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | timeout 5 socat -T2 - TCP:127.0.0.1:${port},connect-timeout=2`).out;
c.kill('SIGKILL');
await c.wait().catch(() => undefined);
await removeNetwork('pub');
rmSync(store, { recursive: true, force: true });
report({ ports, answer });
