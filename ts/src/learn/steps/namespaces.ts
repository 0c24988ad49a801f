/** S2 (the eight kinds, each alone and combined) and S3 (the cgroup namespace's own view). */
import { readFileSync } from 'node:fs';

import { namespaces, type NamespaceIds } from '../../namespaces.js';
import { NAMESPACE_KINDS, type NamespaceKind } from '../../options.js';
import { isRoot, LONG_RUNNING, readText, t, userNamespaces } from '../host.js';
import type { Evidence } from '../types.js';
import { SECTIONS, type StepDef } from './def.js';

const differing = (host: NamespaceIds, c: NamespaceIds) => NAMESPACE_KINDS.filter((k) => host[k] !== c[k]);

export const s2: StepDef = {
  id: 'S2',
  section: SECTIONS.namespaces,
  title: t('Eight kinds of namespace', '八种 namespace'),
  claim: t(
    'Linux has eight namespace kinds: cgroup, ipc, mnt, net, pid, time, user and uts. Each can be created on its own, and any combination at once; the inode numbers under /proc/PID/ns say which ones a process shares with the host.',
    'Linux 共有八种 namespace：cgroup、ipc、mnt、net、pid、time、user 和 uts。每一种都可以单独创建，也可以任意组合同时创建；/proc/PID/ns 下的 inode 编号表明进程与宿主机共享了哪些 namespace。',
  ),
  commands: {
    nsbox: ['nsbox run --ns ipc -- readlink /proc/self/ns/ipc', 'nsbox run --ns uts,pid,user -- ls -l /proc/self/ns', 'nsbox ns'],
    manual: ['unshare --ipc readlink /proc/self/ns/ipc', 'unshare --uts --pid --fork --user --map-root-user ls -l /proc/self/ns'],
  },
  extraOptions: [],
  supported: async () => userNamespaces(),
  async body(lab) {
    const host = await namespaces();
    // An ordinary user gets every namespace inside a user namespace of its own (nothing else is allowed).
    const extra: NamespaceKind[] = isRoot() ? [] : ['user'];
    const sets: [string, NamespaceKind[]][] = [
      ...NAMESPACE_KINDS.map((k): [string, NamespaceKind[]] => [`${k} alone`, [...new Set<NamespaceKind>([k, ...extra])]]),
      ['uts+pid+user', ['uts', 'pid', 'user']],
    ];
    const evidence: Evidence[] = [];
    const wrong: string[] = [];
    let inside: string[] = [];
    for (const [label, kinds] of sets) {
      const c = await lab.container(label.replace(/[^a-z+]/g, '-').replace(/\+/g, '.'), { namespaces: kinds, command: LONG_RUNNING });
      const ids = await namespaces(c.pid!);
      const diff = differing(host, ids);
      if (diff.join() !== [...kinds].sort().join()) wrong.push(`${label}: ${diff.join(',')}`);
      evidence.push({
        kind: 'compare', title: t(`${label}: --ns ${kinds.join(',')}`, `${label.replace(' alone', ' 单独')}：--ns ${kinds.join(',')}`), columns: ['host', label],
        rows: NAMESPACE_KINDS.map((k) => ({ label: k, left: String(host[k]), right: String(ids[k]), same: host[k] === ids[k] })),
      });
      if (label === 'uts+pid+user') {
        inside = (await lab.exec(c, ['/bin/sh', '-c', 'cd /proc/self/ns && for k in *; do echo "$k -> $(readlink $k)"; done'])).stdout.trim().split('\n');
        const agree = NAMESPACE_KINDS.every((k) => inside.some((l) => l.startsWith(`${k} ->`) && l.includes(`[${ids[k]}]`)));
        if (!agree) wrong.push('uts+pid+user: the view from inside differs from /proc/PID/ns');
      }
    }
    evidence.push({ kind: 'lines', title: t('uts+pid+user, from inside: /proc/self/ns', 'uts+pid+user 在容器内看到的 /proc/self/ns'), lines: inside });
    if (extra.length) {
      evidence.push({ kind: 'lines', title: t('Why user differs everywhere', '为什么 user 总是不同'), lines: ['An ordinary user may create the other kinds only inside a user namespace it owns, so each set includes user.'] });
    }
    const shown = wrong.length === 0;
    return lab.session(shown, shown
      ? t(`each kind alone and uts+pid+user: exactly the requested namespaces have new inode numbers${extra.length ? ' (user added, as an ordinary user must)' : ''}`, `每种单独创建以及 uts+pid+user 组合：恰好是所请求的 namespace 拥有新的 inode 编号${extra.length ? '（普通用户必须附带 user）' : ''}`)
      : t(`unexpected: ${wrong.join('; ')}`, `与预期不符：${wrong.join('；')}`), evidence);
  },
};

export const s3: StepDef = {
  id: 'S3',
  section: SECTIONS.namespaces,
  title: t('cgroup: its own view of the tree', 'cgroup：自己的 cgroup 树视图'),
  claim: t(
    'A cgroup namespace makes the process\'s own cgroup look like the root. Inside, /proc/self/cgroup says "/"; the host reads the real path of the same process.',
    'cgroup namespace 让进程所在的 cgroup 看起来就是根。容器内 /proc/self/cgroup 显示 “/”，而宿主机读取同一进程时看到的是真实路径。',
  ),
  commands: {
    nsbox: ['nsbox run -- cat /proc/self/cgroup', 'nsbox run -d --name c -- sleep 1000', 'nsbox exec c cat /proc/self/cgroup', 'cat /proc/$(pgrep -nx sleep)/cgroup'],
    manual: ['unshare --cgroup cat /proc/self/cgroup'],
  },
  extraOptions: [],
  supported: async () => {
    const u = userNamespaces();
    if (!u.ok || isRoot()) return u;
    // Without root (or a delegated subtree) the container stays in the caller's cgroups: when those
    // are the root of every hierarchy, "/" inside and out look the same and prove nothing.
    const own = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
    if (own.every((l) => l.endsWith(':/'))) {
      return { ok: false, reason: t('an ordinary user cannot create a cgroup here, and this session sits at the root of every hierarchy, so "/" inside would look the same as outside', '普通用户在此无法创建 cgroup，而当前会话位于每个层级的根，容器内外都是 “/”，无从对比') };
    }
    return u;
  },
  async body(lab) {
    const c = await lab.container('box', { command: LONG_RUNNING });
    const inside = (await lab.exec(c, ['cat', '/proc/self/cgroup'])).stdout.trim().split('\n').filter(Boolean);
    const hostView = readText(`/proc/${c.pid}/cgroup`).trim().split('\n').filter(Boolean);
    const own = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
    const hierarchy = (l: string) => l.split(':').slice(0, 2).join(':');
    const rows = hostView.map((h) => {
      const i = inside.find((l) => hierarchy(l) === hierarchy(h)) ?? '(missing)';
      return { label: hierarchy(h), left: h.split(':').slice(2).join(':'), right: i.split(':').slice(2).join(':'), same: h === i };
    });
    const shown = inside.length > 0 && inside.every((l) => l.endsWith(':/')) && rows.some((r) => r.left !== '/');
    return lab.session(shown, shown
      ? t('inside, every hierarchy shows the container\'s cgroup as "/"; the host sees its real path', '容器内每个层级都把自己的 cgroup 显示为 “/”，宿主机看到的是真实路径')
      : t(`inside: ${inside.join(' ')}; host: ${hostView.join(' ')}`, `容器内：${inside.join(' ')}；宿主机：${hostView.join(' ')}`), [
      { kind: 'compare', title: t('/proc/PID/cgroup of the same process', '同一进程的 /proc/PID/cgroup'), columns: ['host', 'container'], rows },
      { kind: 'lines', title: t('This process (nsbox, on the host): /proc/self/cgroup', '本进程（宿主机上的 nsbox）：/proc/self/cgroup'), lines: own },
    ]);
  },
};
