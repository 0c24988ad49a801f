/** S1 (two PID 1s side by side) and S10 (PID 1 as init: reaping, SIGTERM, exit codes). */
import { randomBytes } from 'node:crypto';

import { keyValues, LONG_RUNNING, statusField, t, userNamespaces } from '../host.js';
import { SECTIONS, type StepDef } from './def.js';

/** Every process a container's exec sees: `PID cmdline`. */
const PS = ['/bin/sh', '-c', 'for p in /proc/[0-9]*; do echo "${p#/proc/} $(tr "\\0" " " < $p/cmdline)"; done'];

export const s1: StepDef = {
  id: 'S1',
  section: SECTIONS.namespaces,
  title: t('Two PID 1s at once', '同时存在两个 PID 1'),
  claim: t(
    'Each PID namespace numbers its processes from 1. Two containers run side by side, each with its command as PID 1, and neither can see the other\'s processes.',
    '每个 PID namespace 都从 1 开始给进程编号。两个容器同时运行，各自的命令都是 PID 1，而且彼此看不到对方的进程。',
  ),
  commands: {
    nsbox: ['nsbox run -d --name a -- sleep 1000', 'nsbox run -d --name b -- sleep 1000', 'nsbox exec a ps -o pid,args', 'nsbox top a'],
    manual: ['unshare --pid --fork --mount-proc sleep 1000 &', 'unshare --pid --fork --mount-proc ps -o pid,args'],
  },
  extraOptions: [],
  supported: async () => userNamespaces(),
  async body(lab) {
    const tags = ['a', 'b'].map((x) => `learn-s1-box-${x}-${randomBytes(3).toString('hex')}`);
    const a = await lab.container('box-a', { command: [...LONG_RUNNING, tags[0]!] });
    const b = await lab.container('box-b', { command: [...LONG_RUNNING, tags[1]!] });
    const seen = [(await lab.exec(a, PS)).stdout, (await lab.exec(b, PS)).stdout];
    const nspid = [a, b].map((c) => statusField(c.pid!, 'NSpid'));
    const one = seen.map((s) => s.split('\n').find((l) => l.startsWith('1 ')) ?? '');
    const seesOther = seen.map((s, i) => s.includes(tags[1 - i]!));
    const shown = nspid.every((n) => n.at(-1) === '1') && nspid[0]![0] !== nspid[1]![0]
      && one.every((l, i) => l.includes(tags[i]!)) && !seesOther[0] && !seesOther[1];
    return lab.session(shown, shown
      ? t('both commands are PID 1 in their own namespace (host pids differ), and neither lists the other\'s process', '两个命令在各自的 namespace 中都是 PID 1（宿主机 pid 不同），且都列不出对方的进程')
      : t(`expected PID 1 in each and no cross-visibility; NSpid ${nspid.map((n) => n.join(' ')).join(' / ')}`, `预期各自为 PID 1 且互不可见；NSpid ${nspid.map((n) => n.join(' ')).join(' / ')}`), [
      {
        kind: 'compare', title: t('The same kind of process, two PID namespaces', '同一种进程，两个 PID namespace'), columns: ['box-a', 'box-b'],
        rows: [
          { label: 'host pid', left: String(a.pid), right: String(b.pid), same: a.pid === b.pid },
          { label: 'NSpid (host … inside)', left: nspid[0]!.join(' '), right: nspid[1]!.join(' '), same: false },
          { label: 'PID 1 inside', left: one[0]!, right: one[1]!, same: false },
          { label: 'sees the other', left: seesOther[0] ? 'yes' : 'no', right: seesOther[1] ? 'yes' : 'no', same: seesOther[0] === seesOther[1] },
        ],
      },
      { kind: 'lines', title: t('Processes box-a sees (/proc inside)', 'box-a 看到的进程（容器内 /proc）'), lines: seen[0]!.trim().split('\n') },
      { kind: 'lines', title: t('Processes box-b sees (/proc inside)', 'box-b 看到的进程（容器内 /proc）'), lines: seen[1]!.trim().split('\n') },
    ]);
  },
};

const ORPHAN = [
  'orphan=$(sh -c "sleep 1 >/dev/null 2>&1 & echo \\$!")',
  'echo orphan=$orphan; echo orphan_ppid=$(grep PPid /proc/$orphan/status | cut -f2)',
  'i=0; while [ -e /proc/$orphan ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done',
  'if [ -e /proc/$orphan ]; then echo after=$(grep State /proc/$orphan/status | cut -f2); else echo after=reaped; fi',
].join('\n');

export const s10: StepDef = {
  id: 'S10',
  section: SECTIONS.pid,
  title: t('PID 1 is init', 'PID 1 就是 init'),
  claim: t(
    'Orphans in a PID namespace are re-parented to its PID 1, which must reap them, and PID 1 gets only the signals it handles. nsbox\'s --init is that PID 1: it reaps, forwards SIGTERM to the command, and exits with the command\'s code.',
    'PID namespace 中的孤儿进程会被过继给该 namespace 的 PID 1，由它负责回收；PID 1 只会收到它自己处理的信号。nsbox 的 --init 就是这样的 PID 1：回收僵尸进程，把 SIGTERM 转发给命令，并以命令的退出码退出。',
  ),
  commands: {
    nsbox: ['nsbox run -d --init --name i -- sh -c \'trap "exit 42" TERM; while :; do sleep 0.2; done\'', 'nsbox top i', 'nsbox stop i; nsbox inspect i'],
    manual: ['unshare --pid --fork --mount-proc sh -c \'sleep 1 & exec sleep 100\''],
  },
  extraOptions: [t('--init: nsbox\'s tiny init runs as PID 1 (a default container runs the command itself as PID 1)', '--init：由 nsbox 的小型 init 作为 PID 1（默认容器直接以命令作为 PID 1）')],
  supported: async () => userNamespaces(),
  async body(lab) {
    const c = await lab.container('init', { init: true, command: LONG_RUNNING });
    const ps = (await lab.exec(c, PS)).stdout.trim().split('\n');
    const orphan = keyValues((await lab.exec(c, ['/bin/sh', '-c', ORPHAN])).stdout);
    const term = await lab.container('sigterm', { init: true, command: ['/bin/sh', '-c', 'trap "exit 42" TERM; while :; do sleep 0.2; done'] });
    const nspid = statusField(term.pid!, 'NSpid');
    await term.kill('SIGTERM');
    const status = await term.wait();
    lab.check();
    const initCmd = ps.find((l) => l.startsWith('1 ')) ?? '';
    const shown = !initCmd.includes('while') && orphan.orphan_ppid === '1' && orphan.after === 'reaped' && status.exitCode === 42;
    return lab.session(shown, shown
      ? t('the orphan was re-parented to PID 1 and reaped; SIGTERM reached the command, whose exit code 42 came back', '孤儿进程被过继给 PID 1 并被回收；SIGTERM 送达了命令，其退出码 42 被传回')
      : t(`orphan parent ${orphan.orphan_ppid}, afterwards ${orphan.after}, exit code ${status.exitCode}`, `孤儿进程的父进程 ${orphan.orphan_ppid}，之后 ${orphan.after}，退出码 ${status.exitCode}`), [
      { kind: 'lines', title: t('Processes inside: PID 1 is the init, the command runs under it', '容器内进程：PID 1 是 init，命令在它之下运行'), lines: ps },
      {
        kind: 'compare', title: t('An orphan inside', '容器内的孤儿进程'), columns: ['expected', 'seen'],
        rows: [
          { label: 'orphan\'s parent after its parent exited', left: '1', right: orphan.orphan_ppid ?? '?', same: orphan.orphan_ppid === '1' },
          { label: 'orphan after it exits', left: 'reaped', right: orphan.after ?? '?', same: orphan.after === 'reaped' },
        ],
      },
      {
        kind: 'lines', title: t('SIGTERM to PID 1 and the exit code', '向 PID 1 发送 SIGTERM 与退出码'),
        lines: [`NSpid of the container's PID 1: ${nspid.join(' ')}`, `kill -TERM ${nspid[0]} (host pid)`, `exit code: ${status.exitCode} (the command's trap: exit 42)`],
      },
    ]);
  },
};

