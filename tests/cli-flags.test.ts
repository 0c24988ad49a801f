// `nsbox run` flags → RunOptions, and the CLI's start-up behaviour: no runtime needed.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import test from 'ava';
import { InvalidSpecError } from 'nsbox';

import { idMapping, networkFlag, publish, runOptionsFromFlags, volume } from '../cli/src/run-flags.js';
import { REPO, runCli } from './helpers/cli.js';

test('docker-style flags become options', (t) => {
  const o = runOptionsFromFlags({
    hostname: 'box', ns: ['pid,uts', 'user'], uidmap: ['0:100000:65536'], env: ['A=1', 'HOME', 'UNSET_VAR_X'], user: '1:2',
    volume: ['/src:/dst:ro', 'rel:/x'], boottimeOffset: '-30', publish: ['127.0.0.1:8080:80/udp', '[::1]:1:2', '9:10'],
    network: 'br0', macAddress: '02:00:00:00:00:01', init: true, interactive: true,
  }, ['/bin/sh', '-c', 'x'], { HOME: '/home/me' });
  t.like(o, {
    command: ['/bin/sh', '-c', 'x'], hostname: 'box', namespaces: ['pid', 'uts', 'user'], user: '1:2', boottimeOffset: -30,
    network: 'br0', mac: '02:00:00:00:00:01', init: true, stdin: 'inherit', stdout: 'inherit', stderr: 'inherit', newSession: true,
  });
  t.deepEqual(o.uidMap, [{ inside: 0, outside: 100000, length: 65536 }]);
  t.deepEqual(o.env, ['A=1', 'HOME=/home/me']);
  t.deepEqual(o.volumes, [{ source: '/src', target: '/dst', readOnly: true }, { source: 'rel', target: '/x', readOnly: false }]);
  t.deepEqual(o.ports, [
    { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'udp' }, { hostIp: '::1', hostPort: 1, containerPort: 2 },
    { hostPort: 9, containerPort: 10 },
  ]);
  t.is(runOptionsFromFlags({ ns: ['pid', 'all'] }, ['x']).namespaces, 'all');
  t.is(runOptionsFromFlags({}, ['x']).stdin, 'ignore');
  t.false(runOptionsFromFlags({ tty: true }, ['x']).newSession);
});

test('malformed flag values name the flag', (t) => {
  t.is(t.throws(() => idMapping('--uidmap', '0:1'), { instanceOf: InvalidSpecError })?.field, '--uidmap');
  t.is(t.throws(() => idMapping('--gidmap', '0:-1:1'), { instanceOf: InvalidSpecError })?.field, '--gidmap');
  t.is(t.throws(() => volume('/only'), { instanceOf: InvalidSpecError })?.field, '--volume');
  t.is(t.throws(() => volume('/a:/b:rx'), { instanceOf: InvalidSpecError })?.field, '--volume');
  t.is(t.throws(() => publish('80'), { instanceOf: InvalidSpecError })?.field, '--publish');
  t.is(t.throws(() => runOptionsFromFlags({ monotonicOffset: '1h' }, ['x']), { instanceOf: InvalidSpecError })?.field, '--monotonic-offset');
});

test('--network: a rootless helper with its one option turns the host loopback on; other options are refused', (t) => {
  t.deepEqual(networkFlag('pasta'), { network: 'pasta' });
  t.deepEqual(networkFlag('pasta:--map-gw'), { network: 'pasta', hostLoopback: true });
  t.deepEqual(networkFlag('slirp4netns:allow_host_loopback=true'), { network: 'slirp4netns', hostLoopback: true });
  t.like(runOptionsFromFlags({ network: 'pasta:--map-gw', publish: ['8080:80'] }, ['x']), { network: 'pasta', hostLoopback: true, ports: [{ hostPort: 8080, containerPort: 80 }] });
  t.regex(t.throws(() => networkFlag('pasta:-T,auto'), { instanceOf: InvalidSpecError })?.message ?? '', /only --map-gw/);
  t.regex(t.throws(() => networkFlag('blue:x'), { instanceOf: InvalidSpecError })?.message ?? '', /only pasta and slirp4netns take options/);
});

test('--version reports the package and the Rust core; --help works', async (t) => {
  const v = await runCli(['--version']);
  t.is(v.code, 0);
  t.regex(v.stdout, /^nsbox \d+\.\d+\.\d+ \(core \d+\.\d+\.\d+\)\n$/);
  const h = await runCli(['run', '--help']);
  t.is(h.code, 0);
  t.regex(h.stdout, /--hostname/);
  t.regex(h.stdout, /--boottime-offset/);
});

test('usage errors exit 125; invalid options print op: CODE: message and exit 125', async (t) => {
  t.is((await runCli(['run', '--bogus', 'x'])).code, 125);
  t.is((await runCli(['run'])).code, 125);
  const r = await runCli(['run', '--ns', 'pid,bogus', '--', '/bin/true']);
  t.is(r.code, 125);
  t.regex(r.stderr, /^nsbox: namespaces: ERR_INVALID_SPEC: unknown namespace "bogus"/m);
  const m = await runCli(['run', '--uidmap', '0:0', '--', '/bin/true']);
  t.is(m.code, 125);
  t.regex(m.stderr, /^nsbox: --uidmap: ERR_INVALID_SPEC: /m);
});

test('start-up does not load the TUI (nor ink/react)', async (t) => {
  const traced = await runCli(['--version'], { env: { ...process.env, NODE_OPTIONS: `--import=${new URL('./helpers/trace-imports.mjs', import.meta.url).href}` } });
  t.is(traced.code, 0);
  const loaded = traced.stderr.split('\n').filter((l) => l.startsWith('import '));
  t.true(loaded.length > 0, 'the tracer saw the CLI load');
  t.deepEqual(loaded.filter((l) => /\/tui\/|\/tui\.mjs|[/'"]ink[/'"]|\breact\b/.test(l)), []);
  // The CLI is a bundle (cli/build.mjs): what went into each file it loaded is in esbuild's metafile.
  const meta = JSON.parse(readFileSync(path.join(REPO, 'cli/dist/meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const files = loaded.map((l) => l.slice('import '.length)).filter((u) => u.startsWith('file:')).map((u) => path.relative(REPO, fileURLToPath(u)));
  const bundled = files.filter((f) => meta.outputs[f]);
  t.true(bundled.includes('cli/dist/main.js'), `the bundle was loaded: ${files.join(' ')}`);
  const heavy = bundled.flatMap((f) => Object.keys(meta.outputs[f]!.inputs)).filter((i) => /node_modules\/(ink|react|react-reconciler|yoga-layout)\/|cli\/src\/tui\//.test(i));
  t.deepEqual(heavy, [], 'no TUI, ink or react code in what start-up loads');
});

test('ps --format {{.Ports}}: a rootless helper\'s or watcher\'s ports and the endpoints\', docker\'s way', async (t) => {
  const { ports } = await import('../cli/src/commands/ps.js');
  const udp = { hostIp: null, hostPort: 9998, containerPort: 99, protocol: 'udp' as const };
  const s = { networkHelper: { helper: 'holder of red', pid: 1, running: true, ports: [udp] }, endpoints: [{ network: 'n', ports: [{ hostIp: '::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }] };
  t.is(ports(s as unknown as Parameters<typeof ports>[0]), '0.0.0.0:9998->99/udp, [::1]:8080->80/tcp');
  t.is(ports({ networkHelper: null, endpoints: [{ network: 'n' }] } as unknown as Parameters<typeof ports>[0]), '');
});
