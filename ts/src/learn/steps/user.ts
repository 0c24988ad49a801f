/** S7 (uid_map/gid_map and what they mean for a file's owner) and S8 (root inside, unprivileged outside). */
import { chownSync, existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { IdMapping } from '../../options.js';
import { isRoot, keyValues, LONG_RUNNING, ownSubuids, parseMap, readText, statusField, t, throughMap, userNamespaces } from '../host.js';
import { SECTIONS, type StepDef } from './def.js';

const explain = (m: [number, number, number][]) => m.map(([i, o, n]) => `${i} ${o} ${n}: ids ${i}–${i + n - 1} inside are ${o}–${o + n - 1} on the host`);

export const s7: StepDef = {
  id: 'S7',
  section: SECTIONS.user,
  title: t('user: ids through a map', 'user：经过映射的 ID'),
  claim: t(
    'A user namespace numbers users and groups its own way. Each line of /proc/PID/uid_map and gid_map reads "inside outside length"; the kernel translates every owner through it, and ids no line covers show as the overflow id 65534.',
    'user namespace 有自己的 UID/GID 编号。/proc/PID/uid_map 和 gid_map 的每一行是“容器内起始 ID、宿主机起始 ID、长度”；内核按它转换每个文件的属主，没有被映射的 ID 显示为溢出 ID 65534。',
  ),
  commands: {
    nsbox: ['nsbox run --ns all --uidmap 0:100000:1000 --uidmap 1000:300000:1000 --gidmap 0:100000:65536 -- cat /proc/self/uid_map', 'nsbox run --ns all --uidmap 0:100000:65536 --gidmap 0:100000:65536 -- stat -c "%n %u:%g" /etc/passwd'],
    manual: ['unshare --user --map-users 100000,0,1000 --map-groups 100000,0,65536 cat /proc/self/uid_map', 'unshare --user --map-root-user stat -c "%n %u:%g" /etc/passwd'],
  },
  extraOptions: [t(
    'as root, explicit --uidmap/--gidmap (two uid ranges); an ordinary user gets one line (its own uid as 0) unless /etc/subuid and /etc/subgid give it ranges (then newuidmap writes the others)',
    'root 使用显式的 --uidmap/--gidmap（两段 UID 映射）；普通用户只有一行（自己的 UID 映射为 0），除非 /etc/subuid 和 /etc/subgid 为其分配了范围（此时由 newuidmap 写入其余各行）',
  )],
  supported: async () => userNamespaces(),
  async body(lab) {
    const dir = lab.dir();
    const files = [path.join(dir, 'made-by-caller')];
    writeFileSync(files[0]!, '');
    const maps: { uidMap?: IdMapping[]; gidMap?: IdMapping[] } = {};
    if (isRoot()) {
      maps.uidMap = [{ inside: 0, outside: 100000, length: 1000 }, { inside: 1000, outside: 300000, length: 1000 }];
      maps.gidMap = [{ inside: 0, outside: 100000, length: 65536 }];
      chownSync(dir, 100000, 100000); // root inside may write here
      for (const [name, uid, gid] of [['owned-100000', 100000, 100000], ['owned-300005', 300005, 100007]] as const) {
        const f = path.join(dir, name);
        writeFileSync(f, '');
        chownSync(f, uid, gid);
        files.push(f);
      }
    }
    files.push('/etc/passwd');
    // The scratch directory appears at its own path (the read-only host view has no other place for it).
    const inside = (f: string) => f;
    const c = await lab.container('box', { ...maps, volumes: [{ source: dir, target: dir }], command: LONG_RUNNING });
    const uidMap = parseMap(readText(`/proc/${c.pid}/uid_map`));
    const gidMap = parseMap(readText(`/proc/${c.pid}/gid_map`));
    const probe = await lab.exec(c, ['/bin/sh', '-c', `cat /proc/self/uid_map; stat -c "%n=%u:%g" ${files.map(inside).join(' ')}; touch ${dir}/made-inside && echo made=1`]);
    const kv = keyValues(probe.stdout);
    const insideMap = parseMap(probe.stdout.split('\n').filter((l) => !l.includes('=')).join('\n'));
    const rows = files.map((f) => {
      const st = statSync(f);
      const expected = `${throughMap(uidMap, st.uid)}:${throughMap(gidMap, st.gid)}`;
      return { label: inside(f), left: `${st.uid}:${st.gid}`, right: kv[inside(f)] ?? '?', same: false, expected };
    });
    const madePath = path.join(dir, 'made-inside');
    const made = existsSync(madePath) ? statSync(madePath) : undefined;
    if (made) rows.push({ label: `${madePath} (touched by root inside)`, left: `${made.uid}:${made.gid}`, right: '0:0', same: false, expected: '0:0' });
    const given = maps.uidMap?.map((m) => [m.inside, m.outside, m.length].join(' '));
    const shown = rows.every((r) => r.right === r.expected) && made !== undefined && made.uid === uidMap.find(([i]) => i === 0)?.[1]
      && JSON.stringify(insideMap) === JSON.stringify(uidMap) && (given === undefined || JSON.stringify(uidMap.map((l) => l.join(' '))) === JSON.stringify(given));
    const sub = isRoot() ? [] : [ownSubuids() > 0 ? 'this user has /etc/subuid ranges' : `no /etc/subuid range for uid ${process.getuid?.()}: only one line (a multi-range map needs /etc/subuid, /etc/subgid and newuidmap)`];
    return lab.session(shown, shown
      ? t('the maps read back as written, and every owner inside is the host owner translated through them (65534 where no line covers it)', '映射读回与写入一致，容器内看到的每个属主都是宿主机属主按映射转换的结果（未映射的为 65534）')
      : t(`owners inside: ${rows.map((r) => `${r.label}=${r.right} (expected ${r.expected})`).join(', ')}`, `容器内属主：${rows.map((r) => `${r.label}=${r.right}（预期 ${r.expected}）`).join('，')}`), [
      { kind: 'lines', title: t('uid_map (host view /proc/PID/uid_map)', 'uid_map（宿主机视角 /proc/PID/uid_map）'), lines: [...explain(uidMap), ...sub] },
      { kind: 'lines', title: t('gid_map', 'gid_map'), lines: explain(gidMap) },
      {
        kind: 'compare', title: t('File owners, uid:gid on the host and inside', '文件属主：宿主机与容器内的 uid:gid'), columns: ['host', 'container'],
        rows: rows.map(({ expected: _e, ...r }) => r),
      },
    ]);
  },
};

export const s8: StepDef = {
  id: 'S8',
  section: SECTIONS.user,
  title: t('Root inside, unprivileged outside', '容器内是 root，容器外无特权'),
  claim: t(
    'An unprivileged parent may map its own uid to 0 in a new user namespace. The child is root inside, with every capability over its own namespaces, while the host still sees the ordinary uid and grants it nothing more.',
    '无特权的父进程可以在新的 user namespace 中把自己的 UID 映射为 0。子进程在容器内是 root，对自己的 namespace 拥有全部能力，而宿主机看到的仍是普通 UID，不会给它更多权限。',
  ),
  commands: {
    nsbox: ['setpriv --reuid=65534 --regid=65534 --clear-groups nsbox run -- id', 'nsbox run --ns all --uidmap 0:65534:1 --gidmap 0:65534:1 -- id'],
    manual: ['setpriv --reuid=65534 --regid=65534 --clear-groups unshare --user --map-root-user id'],
  },
  extraOptions: [t(
    'run as root, nsbox maps root inside to nobody (65534) with --uidmap/--gidmap 0:65534:1 to show the same case; run as an ordinary user it is the default',
    '以 root 运行时，nsbox 用 --uidmap/--gidmap 0:65534:1 把容器内的 root 映射为 nobody（65534）来演示同一情形；以普通用户运行时这就是默认行为',
  )],
  supported: async () => userNamespaces(),
  async body(lab) {
    const maps = isRoot() ? { uidMap: [{ inside: 0, outside: 65534, length: 1 }], gidMap: [{ inside: 0, outside: 65534, length: 1 }] } : {};
    const c = await lab.container('box', { ...maps, namespaces: 'all', command: LONG_RUNNING });
    const r = await lab.exec(c, ['/bin/sh', '-c', 'echo uid=$(id -u); echo gid=$(id -g); echo cap=$(grep CapEff /proc/self/status | cut -f2); if head -c0 /etc/shadow 2>/dev/null; then echo shadow=readable; else echo shadow=denied; fi']);
    const kv = keyValues(r.stdout);
    const hostUid = statusField(c.pid!, 'Uid')[0];
    const hostGid = statusField(c.pid!, 'Gid')[0];
    const expected = isRoot() ? '65534' : String(process.getuid?.());
    const shadow = existsSync('/etc/shadow');
    const shown = kv.uid === '0' && hostUid === expected && hostUid !== '0' && (!shadow || kv.shadow === 'denied');
    return lab.session(shown, shown
      ? t(`uid 0 inside is uid ${hostUid} on the host; ${shadow ? 'root inside still cannot read the host\'s /etc/shadow' : 'it holds no privilege over the host'}`, `容器内的 uid 0 在宿主机上是 uid ${hostUid}；${shadow ? '容器内的 root 仍然读不了宿主机的 /etc/shadow' : '它对宿主机没有任何特权'}`)
      : t(`inside uid ${kv.uid}, host uid ${hostUid} (expected ${expected}), shadow ${kv.shadow}`, `容器内 uid ${kv.uid}，宿主机 uid ${hostUid}（预期 ${expected}），shadow ${kv.shadow}`), [
      {
        kind: 'compare', title: t('The same process, seen from both sides', '同一进程，从两边看'), columns: ['container', 'host'],
        rows: [
          { label: 'uid', left: kv.uid ?? '?', right: hostUid ?? '?', same: kv.uid === hostUid },
          { label: 'gid', left: kv.gid ?? '?', right: hostGid ?? '?', same: kv.gid === hostGid },
          { label: 'CapEff (relative to its own user namespace)', left: kv.cap ?? '?', right: statusField(c.pid!, 'CapEff')[0] ?? '?', same: true },
          { label: 'read /etc/shadow', left: kv.shadow ?? '?', right: shadow ? 'root only' : '(no /etc/shadow)', same: false },
        ],
      },
      { kind: 'lines', title: t('Who started it', '由谁启动'), lines: [`nsbox ran as uid ${process.getuid?.()}`, `uid_map: ${readText(`/proc/${c.pid}/uid_map`).trim().replace(/\s+/g, ' ')}`] },
    ]);
  },
};

