// `nsbox info`: what the host offers, checked against what the test itself reads from /proc and /etc.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import test from 'ava';
import { hostInfo, subordinateRanges, type HostInfo } from 'nsbox';

import { runCli } from './helpers/cli.js';
import { AS_NOBODY, nobodyCannotRun } from './helpers/nobody.js';
import { needsRoot } from './helpers/privileged.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

test('info --format json: versions, cgroup layout, namespaces, roots and counts as this host has them', async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nsbox-info-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const r = await runCli(['info', '--format', 'json', '--root', root]);
  t.is(r.code, 0, r.stderr);
  const i = JSON.parse(r.stdout) as HostInfo;
  t.is(i.versions.nsbox, pkg.version);
  t.regex(i.versions.core ?? '', /^\d+\.\d+\.\d+/);
  t.regex(i.versions.runtime ?? '', /^nsbox-runtime version \d+\.\d+\.\d+/);
  t.is(i.versions.kernel, os.release());
  t.is(i.versions.node, process.version);
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const v2 = /\s-\scgroup2\s/.test(mountinfo);
  const v1 = /\s-\scgroup\s/.test(mountinfo);
  t.is(i.cgroups.layout, v2 && v1 ? 'hybrid' : v2 ? 'v2' : v1 ? 'v1' : 'none');
  t.is(i.userNamespaces.kernel, existsSync('/proc/self/ns/user'));
  t.is(i.timeNamespace, existsSync('/proc/self/ns/time'));
  t.is(i.userNamespaces.maxUserNamespaces, Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')));
  t.is(i.seccomp.kernel, true);
  t.regex(i.seccomp.libseccomp ?? '', /^2\.\d+/, 'the libseccomp the runtime links');
  t.is(i.roots.state, root);
  t.deepEqual(i.containers, { total: 0, running: 0, paused: 0, stopped: 0 });
  t.is(typeof i.networks, 'number');
  t.is(i.nftables.nft !== null, ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft', '/usr/local/sbin/nft'].some((p) => existsSync(p)));
  for (const f of i.features) t.true(f.ok || typeof f.remedy === 'string', `${f.name} has a remedy`);
  t.deepEqual(i, JSON.parse(JSON.stringify({ ...(await hostInfo({ root })), host: i.host })) as HostInfo, 'the CLI prints what hostInfo() returns');
});

test('info: docker-style sections, and WARNING lines only for what is missing', async (t) => {
  const r = await runCli(['info']);
  t.is(r.code, 0, r.stderr);
  for (const s of ['Client:', 'Host:', 'Containers:', 'Networks:', 'Cgroups:', 'User Namespaces:', 'Time Namespace:', 'Overlayfs:', 'Security:', 'nftables:', '/dev/net/tun:', 'Storage:']) {
    t.regex(r.stdout, new RegExp(`^${s.replace(/[/]/g, '\\/')}`, 'm'), s);
  }
  t.regex(r.stdout, /^ Kernel Version: /m);
  t.regex(r.stdout, /^ State Root: /m);
  const info = await hostInfo();
  const missing = info.features.filter((f) => !f.ok).map((f) => f.name);
  t.deepEqual([...r.stdout.matchAll(/^WARNING: ([^:]+):/gm)].map((m) => m[1]), missing);
  t.is((await runCli(['info', '--format', 'yaml'])).code, 125);
});

test('info as nobody: the rootless checklist names the missing subuid range and the command that adds it', async (t) => {
  if (!needsRoot(t)) return;
  const why = nobodyCannotRun();
  if (why) return t.fail(`cannot run the CLI as nobody from this checkout: ${why}`);
  const r = await runCli(['info', '--format', 'json'], { prefix: AS_NOBODY, env: { ...process.env, NSBOX_ROOT: '', XDG_RUNTIME_DIR: '' } });
  t.is(r.code, 0, r.stderr);
  const i = JSON.parse(r.stdout) as HostInfo;
  t.false(i.host.root);
  t.is(i.host.uid, 65534);
  const sub = i.features.find((f) => f.name === 'subuid/subgid')!;
  const hasRanges = subordinateRanges('/etc/subuid', 'nobody', 65534).length > 0 && subordinateRanges('/etc/subgid', 'nobody', 65534).length > 0;
  t.is(sub.ok, hasRanges);
  if (!hasRanges) t.regex(sub.remedy ?? '', /usermod --add-subuids \d+-\d+ --add-subgids \d+-\d+ nobody/);
  t.truthy(i.features.find((f) => f.name === 'unprivileged user namespaces'), 'only asked when not root');
  // Rootless networking: the tun device must be openable by the user, ping sockets allowed for ICMP.
  const icmp = i.features.find((f) => f.name === 'ICMP from rootless containers');
  t.is(icmp?.ok, i.icmp.allowed, JSON.stringify(i.icmp));
  if (!i.icmp.allowed) t.regex(icmp?.remedy ?? '', /sysctl -w net\.ipv4\.ping_group_range="0 2147483647"/);
  const tun = i.features.find((f) => f.name === '/dev/net/tun');
  t.is(tun?.ok, i.tun.present && i.tun.usable);
  if (i.tun.present && !i.tun.usable) t.regex(tun?.remedy ?? '', /chmod 0666 \/dev\/net\/tun/);
});

test('subordinateRanges reads name and uid entries of /etc/subuid', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nsbox-subuid-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'subuid');
  writeFileSync(file, 'alice:100000:65536\n1001:200000:1000\nbob:300000:65536\n# x\nalice:bad:1\n');
  t.deepEqual(subordinateRanges(file, 'alice', 1001), [{ start: 100000, count: 65536 }, { start: 200000, count: 1000 }]);
  t.deepEqual(subordinateRanges(file, 'carol', 5), []);
});
