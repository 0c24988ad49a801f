import test from 'ava';
import { ANNOTATION_SECCOMP_PROFILE, securityProfile } from 'nsbox';
import { FakeApi } from '../../cli/src/tui/fake-api.js';
import { KEY, has, mount } from './helpers.js';

const first = (api: FakeApi) => [...api.containers.values()][0]!;

test('Enter opens the Namespaces tab: eight kinds inside vs host, maps, time offsets, cgroup path', async (t) => {
  const api = new FakeApi({ containers: 2 });
  const m = mount(t, api);
  await m.waitFor(has('box-002'));
  await m.press(KEY.enter);
  const f = await m.waitFor((x) => x.includes('[Namespaces]') && x.includes('of 8 isolated'));
  const c = first(api);
  for (const kind of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts']) t.regex(f, new RegExp(`^${kind}\\s+\\d+\\s+\\d+\\s+(isolated|shared with host)`, 'm'));
  const net = c.namespaces.find((n) => n.kind === 'net')!;
  t.regex(f, new RegExp(`net\\s+${net.id}\\s+${net.hostId}\\s+isolated`));
  t.regex(f, /user\s+(\d+)\s+\1\s+shared with host/);
  t.true(f.includes('6 of 8 isolated: cgroup ipc mnt net pid uts'));
  t.true(f.includes('uid map   0 → 100000 × 65536'));
  t.true(f.includes('gid map   0 → 100000 × 65536'));
  t.true(f.includes('boottime +31536000s (365d00h)'));
  t.true(f.includes(`/sys/fs/cgroup/nsbox/${c.summary.id}`));
  t.true(f.includes('› box-001'), 'top bar names the container');
  await m.press(KEY.esc);
  await m.waitFor(has('NAME▲'));
});

test('Network tab draws bridge (gateway) → host veth → eth0 (address, MAC)', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const m = mount(t, api);
  await m.waitFor(has('box-001'));
  await m.press(KEY.enter, KEY.right);
  const f = await m.waitFor((x) => x.includes('[Network]') && x.includes('bridge '));
  const e = first(api).endpoints[0]!;
  const lines = f.split('\n');
  const row = lines.find((l) => l.includes(`bridge ${e.bridge}`))!;
  t.truthy(row, f);
  t.true(row.indexOf(`bridge ${e.bridge}`) < row.indexOf(e.hostVeth) && row.indexOf(e.hostVeth) < row.indexOf(`eth0 ${e.address}`), row);
  t.true(row.includes('═veth═'));
  t.true(f.includes(`gateway ${e.gateway}`) && f.includes(e.mac) && f.includes('host side #'));
});

test('Network tab for a container without endpoints explains why', async (t) => {
  const api = new FakeApi({ containers: 0 });
  await api.createContainer({ name: 'lonely', command: ['sh'], network: 'none' });
  await api.createContainer({ name: 'hostnet', command: ['sh'], network: 'host', namespaces: ['pid', 'mnt'] });
  const m = mount(t, api, { initial: { view: 'detail', tab: 'network', selectedId: first(api).summary.id } });
  t.true((await m.waitFor(has('No endpoints'))).includes('--network none'));
  await m.press(KEY.esc, KEY.up, KEY.enter, KEY.right);
  await m.waitFor(has("shares the host's network namespace"));
});

test('Network tab of a rootless container draws tap (eth0 as read from its netns) ⇄ helper ⇄ host, and says when the helper died', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const c = first(api);
  c.networkHelper = {
    helper: 'pasta', pid: 4242, running: true, gateway: '192.0.2.254', dns: '169.254.1.1',
    interfaces: [
      { name: 'lo', index: 1, mac: '00:00:00:00:00:00', mtu: 65536, addresses: ['127.0.0.1/8'] },
      { name: 'h0', index: 2, mac: '6a:1b:2c:3d:4e:5f', mtu: 65520, addresses: ['192.0.2.1/24', 'fe80::681b:2cff:fe3d:4e5f/64'] },
    ],
    ports: [{ hostIp: null, hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostIp: '127.0.0.1', hostPort: 9998, containerPort: 9999, protocol: 'udp' }],
    hostLoopback: false, icmp: { allowed: true },
  };
  const m = mount(t, api, { size: { columns: 110, rows: 30 }, initial: { view: 'detail', tab: 'network', selectedId: c.summary.id } });
  const f = await m.waitFor(has('pasta'));
  const row = f.split('\n').find((l) => l.includes('h0 #2'))!;
  t.truthy(row, f);
  // Left to right on one row: the container's tap ⇄ the helper ⇄ the host.
  t.true(row.indexOf('h0 #2 192.0.2.1/24') < row.indexOf('═tap═') && row.indexOf('═tap═') < row.indexOf('pasta') && row.indexOf('pasta') < row.indexOf('host'), row);
  for (const s of ['6a:1b:2c:3d:4e:5f mtu 65520', 'fe80::681b', 'via 192.0.2.254', 'dns 169.254.1.1', 'pid 4242', 'running',
    '*:8080 → 80/tcp', '127.0.0.1:9998 → 9999/udp', 'loopback hidden', 'ICMP on']) t.true(f.includes(s), `${s} in\n${f}`);
  t.false(f.includes('127.0.0.1/8'), 'lo is left out');
  c.networkHelper = { ...c.networkHelper, running: false, exit: 'killed by SIGKILL' };
  t.true((await m.waitFor(has('network down'))).includes('network down: killed by SIGKILL'));
});

test('Network tab of a rootless container at 80 columns: ICMP off explained, host loopback asked for, interfaces unread', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const c = first(api);
  c.networkHelper = {
    helper: 'slirp4netns', pid: 77, running: true, ports: [], hostLoopback: true, insideError: 'the container is exited',
    icmp: { allowed: false, reason: 'net.ipv4.ping_group_range is "1 0", which includes none of the user\'s groups (1000)' },
  };
  const m = mount(t, api, { size: { columns: 80, rows: 30 }, initial: { view: 'detail', tab: 'network', selectedId: c.summary.id } });
  const f = await m.waitFor(has('slirp4netns'));
  for (const s of ['unread: the container', 'no published ports', 'loopback reachable', 'ICMP off', 'ping_group_range is "1 0"']) {
    t.true(f.includes(s), `${s} in\n${f}`);
  }
  t.false(f.includes('─sockets─'), 'narrower than 100 columns: short links, so the boxes keep their lines');
});

test('Network tab of a container on a rootless user-defined network draws eth0 ═veth═ bridge ⇄ holder', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const c = first(api);
  c.networkHelper = {
    helper: 'holder of red', pid: 4343, running: true, network: 'red', address: '10.89.0.2/24', bridge: 'nsbox-abc',
    ports: [{ hostIp: null, hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostIp: '127.0.0.1', hostPort: 9998, containerPort: 99, protocol: 'udp' }],
  };
  const m = mount(t, api, { initial: { view: 'detail', tab: 'network', selectedId: c.summary.id } });
  const f = await m.waitFor(has('holder'));
  t.regex(f, /eth0 10\.89\.0\.2\/24 ═veth═ nsbox-abc \(red\) ⇄ holder \(pid 4343 running\)/);
  t.regex(f, /published: \*:8080 → 80\/tcp · 127\.0\.0\.1:9998 → 99\/udp/, 'the watcher\'s ports, UDP as TCP');
  c.networkHelper = { ...c.networkHelper, running: false, exit: 'gone' };
  t.true((await m.waitFor(has('network down'))).includes('gone: network down'));
});

test('Processes tab shows pid inside and on the host', async (t) => {
  const m = mount(t, new FakeApi({ containers: 1 }));
  await m.waitFor(has('box-001'));
  await m.press(KEY.enter, KEY.right, KEY.right);
  const f = await m.waitFor(has('HOST PID'));
  t.regex(f, /^\s+1\s+10001\s+1 0\s+sleep infinity/m);
  t.regex(f, /^\s+7\s+10002\s+10001 0\s+sh -c worker/m);
});

test('Inspect tab shows the JSON and scrolls', async (t) => {
  const m = mount(t, new FakeApi({ containers: 1 }), { size: { columns: 110, rows: 16 } });
  await m.waitFor(has('box-001'));
  await m.press(KEY.enter, KEY.left, KEY.left);
  let f = await m.waitFor((x) => x.includes('[Inspect]') && x.includes('"Id":'));
  t.true(f.includes('"Id":'));
  t.regex(f, /lines 1–\d+ of \d+/);
  await m.press('G');
  f = await m.waitFor((x) => !x.includes('"Id":'));
  t.regex(f, /lines \d+–(\d+) of \1/);
  await m.press('g');
  await m.waitFor(has('"Id":'));
});

test('Logs tab (l): follows new lines, scrolls back, searches', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const m = mount(t, api, { size: { columns: 110, rows: 20 } });
  await m.waitFor(has('box-001'));
  await m.press('l');
  let f = await m.waitFor(has('line 30 from'));
  t.true(f.includes('[Logs]') && f.includes('following'));
  t.false(f.includes('line 1 from'));
  api.appendLog(first(api).summary.id, 'fresh news');
  await m.waitFor(has('fresh news'));
  await m.press(KEY.pageUp);
  f = await m.waitFor(has('paused'));
  t.false(f.includes('fresh news'));
  await m.press('g');
  await m.waitFor(has('line 1 from'));
  await m.press('f');
  await m.waitFor((x) => x.includes('following') && x.includes('fresh news'));
  await m.press('/');
  await m.type('line 3');
  await m.press(KEY.enter);
  f = await m.waitFor(has('"line 3": 2 matches'));
  t.true(f.includes('line 30 from'), 'jumped to the last match');
  await m.press('[');
  f = await m.waitFor(has('line 3 from'));
  t.true(f.includes('paused'));
  t.false(f.includes('line 30 from'));
  await m.press(']');
  await m.waitFor(has('line 30 from'));
  await m.press(KEY.esc);
  await m.waitFor((x) => !x.includes('matches'));
});

test('Inspect tab leads with the security profile: asked for, and live from /proc', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const config = {
    process: { capabilities: { bounding: ['CAP_CHOWN', 'CAP_KILL'] }, noNewPrivileges: true },
    annotations: { [ANNOTATION_SECCOMP_PROFILE]: 'default' },
    linux: {
      seccomp: { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], syscalls: [{}, {}, {}] },
      resources: { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] },
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
    },
  };
  // The live half is what /proc/PID/status says; pid 1 of this machine stands in (no filter there).
  const security = securityProfile(config, null);
  security.live = { seccomp: 'disabled', noNewPrivs: false, capEff: '000001ffffffffff', capBnd: '000001ffffffffff' };
  const real = api.inspectContainer.bind(api);
  api.inspectContainer = async (id) => {
    const d = await real(id);
    return { ...d, raw: { ...(d.raw as object), security } };
  };
  const m = mount(t, api, { size: { columns: 140, rows: 24 } });
  await m.waitFor(has('box-001'));
  await m.press(KEY.enter, KEY.left, KEY.left);
  const f = await m.waitFor((x) => x.includes('[Inspect]') && x.includes('Security'));
  t.regex(f, /capabilities\s+2 chown kill/);
  t.regex(f, /seccomp\s+filter · profile default · default SCMP_ACT_ERRNO · 3 rules · SCMP_ARCH_X86_64,SCMP_ARCH_X86/);
  t.regex(f, /no_new_privs\s+on/);
  t.regex(f, /devices\s+deny a \*:\* rwm · allow c 1:3 rwm/);
  t.regex(f, /masked\s+\/proc\/kcore/);
  t.regex(f, /read-only\s+\/proc\/sys/);
  // Asked for a filter and no_new_privs, but the kernel says neither is in force: shown, not hidden.
  t.regex(f, /live \(\/proc\)\s+seccomp disabled · no_new_privs off · CapEff 000001ffffffffff/);
});

test('Stats tab: CPU, memory bar against the limit, pids, net and block I/O rates as sparklines', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const m = mount(t, api, { size: { columns: 100, rows: 20 } });
  await m.waitFor(has('box-001'));
  await m.press(KEY.enter, KEY.right, KEY.right, KEY.right);
  // Three readings (one a second): rates need two, the sparklines grow with each.
  const f = await m.waitFor((x) => x.includes('[Stats]') && /3 readings over 2s/.test(x), 8000);
  t.regex(f, /^CPU %\s+\d+\.\d%\s+[ ▁▂▃▄▅▆▇█]+$/m);
  t.regex(f, /^MEM\s+2\.0MiB \/ 64\.0MiB\s+█*░+$/m);
  t.regex(f, /^PIDS\s+2 \/ 100\s/m);
  t.regex(f, /^NET rx\s+1\.5KiB\/s \(4\.4KiB\)\s+[ ▁▂▃▄▅▆▇█]+$/m);
  t.regex(f, /^BLOCK write\s+8\.0KiB\/s \(24\.0KiB\)\s/m);
  t.true(f.includes('without inactive page cache'));
  // The list has the PIDS column.
  await m.press(KEY.esc);
  t.regex(await m.waitFor(has('NAME▲')), /MEM\s+PIDS\n.*\s2$/m);
});
