// Option validation and the translation to the Rust core's options: no runtime needed.
import path from 'node:path';

import test from 'ava';
import { InvalidSpecError, ociConfig, registerStartHook, validateOptions, type RunOptions } from 'nsbox';

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof InvalidSpecError) return e.field;
    throw e;
  }
  throw new Error('expected an InvalidSpecError');
}

const cmd = ['/bin/true'];

test('rejections name the field at fault', (t) => {
  const cases: Array<[Partial<RunOptions> & Record<string, unknown>, string]> = [
    [{ command: [] }, 'command'],
    [{ command: [''] }, 'command[0]'],
    [{ command: ['a', 1 as unknown as string] }, 'command[1]'],
    [{ namespaces: ['pid', 'bogus' as 'pid'] }, 'namespaces'],
    [{ uidMap: [{ inside: 0, outside: -1, length: 1 }] }, 'uidMap[0].outside'],
    [{ gidMap: [{ inside: 0, outside: 0, length: 0 }] }, 'gidMap[0].length'],
    [{ env: ['NOEQUALS'] }, 'env[0]'],
    [{ env: { '': 'x' } }, 'env.'],
    [{ user: 'alice' }, 'user'],
    [{ user: { uid: 1, gid: -2 } }, 'user.gid'],
    [{ volumes: [{ source: '/a', target: 'relative' }] }, 'volumes[0].target'],
    [{ boottimeOffset: 1.5 }, 'boottimeOffset'],
    [{ stdout: 'file' as 'pipe' }, 'stdout'],
    [{ cwd: 'relative' }, 'cwd'],
    [{ privileged: 'yes' as unknown as boolean }, 'privileged'],
    [{ hostnmae: 'typo' }, 'hostnmae'],
    [{ ip: '10.0.0.300', network: 'br0' }, 'ip'],
    [{ ip: '10.0.0.3' }, 'ip'],
    [{ mac: 'zz:00:00:00:00:00', network: 'br0' }, 'mac'],
    [{ ports: [{ hostPort: 0, containerPort: 80 }], network: 'br0' }, 'ports[0].hostPort'],
    [{ ports: [{ hostPort: 8080, containerPort: 80, protocol: 'sctp' as 'tcp' }], network: 'br0' }, 'ports[0].protocol'],
    [{ dns: ['not-an-ip'] }, 'dns[0]'],
    [{ network: 'bad name' }, 'network'],
  ];
  for (const [extra, field] of cases) {
    t.is(fieldOf(() => validateOptions({ command: cmd, ...extra } as RunOptions)), field, JSON.stringify(extra));
  }
});

test('the Rust core validates too, and its errors name fields the same way', (t) => {
  t.is(fieldOf(() => ociConfig({ command: cmd, uidMap: [{ inside: 0, outside: 0, length: 10 }, { inside: 5, outside: 100, length: 1 }] })), 'uidMap');
  t.is(fieldOf(() => ociConfig({ command: cmd, capAdd: ['CAP_BOGUS'] })), 'capAdd');
  t.is(fieldOf(() => ociConfig({ command: cmd, namespaces: ['pid'], rootfs: '/x' })), 'rootfs');
  t.is(fieldOf(() => ociConfig({ command: cmd, namespaces: ['pid'], hostname: 'x' })), 'hostname');
  const e = t.throws(() => ociConfig({ command: cmd, namespaces: ['pid'], hostname: 'x' }), { instanceOf: InvalidSpecError });
  t.is(e?.code, 'ERR_INVALID_SPEC');
  t.regex(e?.message ?? '', /^hostname: ERR_INVALID_SPEC: .*uts/);
});

test('normalises: relative paths, user forms, env forms, namespace aliases', (t) => {
  const o = validateOptions({
    command: cmd, rootfs: 'some/dir', volumes: [{ source: 'data', target: '/data' }], user: '1000:100',
    env: { A: '1', B: 'x=y' }, namespaces: ['mount', 'network', 'pid', 'pid'],
  });
  t.is(o.rootfs, path.resolve('some/dir'));
  t.deepEqual(o.volumes, [{ source: path.resolve('data'), target: '/data', readOnly: false }]);
  t.deepEqual(o.user, { uid: 1000, gid: 100 });
  t.deepEqual(o.env, ['A=1', 'B=x=y']);
  t.deepEqual(o.namespaces, ['mnt', 'net', 'pid']);
  t.deepEqual(validateOptions({ command: cmd, user: 7 }).user, { uid: 7 });
  t.deepEqual(validateOptions({ command: cmd, namespaces: 'all' }).namespaces, ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts']);
});

test('the OCI config carries the options', (t) => {
  const spec = ociConfig({
    command: ['/bin/sh', '-c', 'echo hi'], hostname: 'box', env: ['FOO=bar'], user: '5:6', uidMap: [{ inside: 0, outside: 100000, length: 65536 }],
    gidMap: [{ inside: 0, outside: 100000, length: 65536 }], boottimeOffset: -5, init: true, volumes: [{ source: '/srv', target: '/srv', readOnly: true }],
  });
  t.deepEqual(spec.process?.args, ['/bin/sh', '-c', 'echo hi']);
  t.is(spec.hostname, 'box');
  t.true((spec.process?.env as string[]).includes('FOO=bar'));
  t.deepEqual((spec.process?.user as { uid: number; gid: number }), { uid: 5, gid: 6, additionalGids: [] });
  t.deepEqual(spec.linux?.uidMappings, [{ containerID: 0, hostID: 100000, size: 65536 }]);
  t.deepEqual((spec.linux?.timeOffsets as { boottime: unknown }).boottime, { secs: -5, nanosecs: 0 });
  t.is(spec.annotations?.['org.nsbox.init'], 'true');
  t.true((spec.mounts as Array<{ destination: string; options: string[] }>).some((m) => m.destination === '/srv' && m.options.includes('ro')));
});

test("network 'host' drops the net namespace, 'none' keeps one", (t) => {
  const types = (o: Partial<RunOptions>) => (ociConfig({ command: cmd, ...o }).linux?.namespaces ?? []).map((n) => n.type);
  t.false(types({ network: 'host' }).includes('network'));
  t.true(types({ network: 'host' }).includes('pid'));
  t.true(types({ network: 'none' }).includes('network'));
  t.true(types({ network: 'none', namespaces: ['pid'] }).includes('network'));
  t.false(types({ network: 'host', namespaces: ['pid', 'uts'] }).includes('network'));
  t.is(fieldOf(() => ociConfig({ command: cmd, network: 'host', namespaces: ['net'] })), 'network');
});

test('a named network needs a start hook; with one, the runtime is told to wait for start', (t) => {
  // Importing 'nsbox' registers the networking hook under 'network': replace it, then remove ours,
  // so this test process has no hook at all.
  registerStartHook('network', async () => {})();
  const e = t.throws(() => ociConfig({ command: cmd, network: 'br0' }), { instanceOf: InvalidSpecError });
  t.is(e?.field, 'network');
  t.regex(e?.message ?? '', /networking not available/);
  const unregister = registerStartHook('test', async () => {});
  try {
    const spec = ociConfig({ command: cmd, network: 'br0', ip: '10.1.0.5', ports: [{ hostPort: 8080, containerPort: 80 }] });
    t.is(spec.annotations?.['org.nsbox.wait-start'], 'true');
    t.true((spec.linux?.namespaces ?? []).some((n) => n.type === 'network'));
  } finally {
    unregister();
  }
  t.throws(() => ociConfig({ command: cmd, network: 'br0' }), { instanceOf: InvalidSpecError });
});
