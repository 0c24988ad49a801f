/** S5: mounts made inside stay inside; pivot_root gives the container a root of its own. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { LONG_RUNNING, needs, readText, t, userNamespaces } from '../host.js';
import { SECTIONS, type StepDef } from './def.js';

/** The mountinfo line whose mount point is `/` (the last one: the one on top). */
function rootLine(mountinfo: string): string[] {
  return mountinfo.trim().split('\n').map((l) => l.split(' ')).filter((f) => f[4] === '/').at(-1) ?? [];
}

export const s5: StepDef = {
  id: 'S5',
  section: SECTIONS.mnt,
  title: t('mnt: its own mount table', 'mnt：自己的挂载表'),
  claim: t(
    'A new mount namespace starts as a copy of its parent\'s mount table; from then on the two are independent. A mount made inside never appears in the host\'s mountinfo, and pivot_root gives the container a root mount of its own. Mount namespaces isolate mount points, not file contents.',
    '新的 mount namespace 以父进程挂载表的副本开始，此后两者互不影响。容器内的挂载不会出现在宿主机的 mountinfo 中，pivot_root 则给容器一个属于自己的根挂载。mount namespace 隔离的是挂载点，而不是文件内容。',
  ),
  commands: {
    nsbox: ['nsbox run -d --privileged --name m -- sleep 1000', 'nsbox exec m mount -t tmpfs learn /tmp', 'nsbox exec m grep learn /proc/self/mountinfo', 'grep learn /proc/self/mountinfo'],
    manual: ['unshare --mount sh -c \'mount -t tmpfs learn /tmp; grep learn /proc/self/mountinfo\'', 'grep learn /proc/self/mountinfo'],
  },
  extraOptions: [t(
    '--privileged: mount(2) needs CAP_SYS_ADMIN, which a default container lacks and the default seccomp profile refuses with it; on the read-only host view nsbox grants SYS_ADMIN only with --privileged (with --rootfs, --cap-add SYS_ADMIN is enough)',
    '--privileged：mount(2) 需要 CAP_SYS_ADMIN，默认容器没有该能力，默认 seccomp 配置也会拒绝；在只读的宿主机视图上，nsbox 只有在 --privileged 时才授予 SYS_ADMIN（使用 --rootfs 时 --cap-add SYS_ADMIN 即可）',
  )],
  supported: async () => needs(['mount'], userNamespaces()),
  async body(lab) {
    const tag = `learn-s5-${randomBytes(4).toString('hex')}`;
    const c = await lab.container('box', { privileged: true, command: LONG_RUNNING });
    const m = await lab.exec(c, ['mount', '-t', 'tmpfs', tag, '/tmp']);
    const inside = readText(`/proc/${c.pid}/mountinfo`);
    const host = readFileSync('/proc/self/mountinfo', 'utf8');
    const line = (text: string) => text.split('\n').find((l) => l.includes(` ${tag} `)) ?? 'absent';
    const [hr, cr] = [rootLine(host), rootLine(inside)];
    const count = (text: string) => String(text.trim().split('\n').length);
    const rows = [
      { label: `tmpfs ${tag} on /tmp`, left: line(host), right: line(inside), same: line(host) === line(inside) },
      { label: 'mount id of /', left: hr[0] ?? '?', right: cr[0] ?? '?', same: hr[0] === cr[0] },
      { label: 'root of / (in its filesystem)', left: hr[3] ?? '?', right: cr[3] ?? '?', same: hr[3] === cr[3] },
      { label: 'options of /', left: hr[5] ?? '?', right: cr[5] ?? '?', same: hr[5] === cr[5] },
      { label: 'mounts in the table', left: count(host), right: count(inside), same: count(host) === count(inside) },
    ];
    const shown = m.exitCode === 0 && line(host) === 'absent' && line(inside) !== 'absent' && hr[0] !== undefined && cr[0] !== undefined && hr[0] !== cr[0];
    return lab.session(shown, shown
      ? t('the tmpfs mounted inside is only in the container\'s mountinfo, and its / is a different mount from the host\'s', '容器内挂载的 tmpfs 只出现在容器的 mountinfo 中，容器的 / 也与宿主机的 / 是不同的挂载')
      : t(`mount exit ${m.exitCode} ${m.stderr.trim()}; host has it: ${line(host) !== 'absent'}`, `mount 退出码 ${m.exitCode} ${m.stderr.trim()}；宿主机可见：${line(host) !== 'absent'}`), [
      { kind: 'compare', title: t('/proc/PID/mountinfo: host vs container', '/proc/PID/mountinfo：宿主机与容器'), columns: ['host', 'container'], rows },
      { kind: 'lines', title: t('The container\'s mount table (first lines)', '容器的挂载表（前几行）'), lines: inside.trim().split('\n').slice(0, 12) },
    ]);
  },
};
