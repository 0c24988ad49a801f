/** S4: SysV message queues live in their IPC namespace. */
import { readFileSync } from 'node:fs';

import type { NamespaceKind } from '../../options.js';
import { isRoot, LONG_RUNNING, needs, readText, t, userNamespaces } from '../host.js';
import { SECTIONS, type StepDef } from './def.js';

/** `/proc/sysvipc/msg` (what `ipcs -q` reads): key → msqid. */
function queues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of text.trim().split('\n').slice(1)) {
    const [key, msqid] = l.trim().split(/\s+/);
    if (key !== undefined && msqid !== undefined) out.set(key, msqid);
  }
  return out;
}

/**
 * A container sharing the host's IPC namespace (docker's --ipc=host) makes the host's queue and keeps
 * its id in its own argv; SIGTERM (close, or the sweep after a killed session) removes the queue.
 */
const HOST_QUEUE = ['/bin/sh', '-c', 'id=$(ipcmk -Q | grep -o "[0-9]*$") || exit 1; exec /bin/sh -c \'trap "ipcrm -q $0; exit 0" TERM; while :; do sleep 0.2; done\' "$id"'];

export const s4: StepDef = {
  id: 'S4',
  section: SECTIONS.ipc,
  title: t('ipc: queues of its own', 'ipc：自己的消息队列'),
  claim: t(
    'SysV IPC objects (shared memory, semaphores, message queues) belong to an IPC namespace. A queue made inside is not in the host\'s `ipcs -q`, and the host\'s queue is not visible inside.',
    'SysV IPC 对象（共享内存、信号量、消息队列）属于某个 IPC namespace。容器内创建的队列不会出现在宿主机的 `ipcs -q` 中，宿主机的队列在容器内也看不到。',
  ),
  commands: {
    nsbox: ['nsbox run -d --name q -- sleep 1000', 'nsbox exec q ipcmk -Q', 'nsbox exec q ipcs -q', 'ipcs -q'],
    manual: ['unshare --ipc sh -c \'ipcmk -Q; ipcs -q\'', 'ipcs -q'],
  },
  extraOptions: [t('the host\'s queue is made by a second container that shares the host\'s IPC namespace (every namespace but ipc, like docker --ipc=host), so nsbox itself never calls ipcmk', '宿主机上的队列由第二个共享宿主机 IPC namespace 的容器创建（除 ipc 外的所有 namespace，类似 docker --ipc=host），nsbox 自身不调用 ipcmk')],
  supported: async () => needs(['ipcmk', 'ipcs', 'ipcrm'], userNamespaces()),
  async body(lab) {
    const box = await lab.container('box', { command: LONG_RUNNING });
    const made = await lab.exec(box, ['ipcmk', '-Q']);
    const insideId = /(\d+)\s*$/.exec(made.stdout.trim())?.[1];
    const kinds: NamespaceKind[] = ['cgroup', 'mnt', 'net', 'pid', 'uts', ...(isRoot() ? [] : ['user' as const])];
    // Outlives a SIGKILLed session: SIGKILL would skip the trap that removes the host's queue.
    const hostIpc = await lab.container('host-ipc', { namespaces: kinds, command: HOST_QUEUE }, { outlive: true });
    lab.onClose(async () => void (await hostIpc.stop({ timeout: 2 })));
    // Its argv carries the id once the queue exists (the exec above replaced the first shell).
    let hostId: string | undefined;
    for (let i = 0; i < 100 && hostId === undefined; i++) {
      const argv = readText(`/proc/${hostIpc.pid}/cmdline`).split('\0').filter(Boolean);
      if (argv.length === 4) hostId = argv[3];
      else await new Promise((r) => setTimeout(r, 50));
    }
    const insideText = (await lab.exec(box, ['cat', '/proc/sysvipc/msg'])).stdout;
    const ipcsInside = (await lab.exec(box, ['ipcs', '-q'])).stdout.trim().split('\n');
    const hostText = readFileSync('/proc/sysvipc/msg', 'utf8');
    const inside = queues(insideText);
    const host = queues(hostText);
    const keyOf = (m: Map<string, string>, id: string | undefined) => [...m].find(([, v]) => v === id)?.[0];
    const insideKey = keyOf(inside, insideId);
    const hostKey = keyOf(host, hostId);
    const has = (m: Map<string, string>, key: string | undefined) => (key !== undefined && m.has(key) ? 'listed' : 'absent');
    const rows = [
      { label: `queue made inside (key ${insideKey ?? '?'})`, left: has(host, insideKey), right: has(inside, insideKey), same: false },
      { label: `queue made on the host (key ${hostKey ?? '?'})`, left: has(host, hostKey), right: has(inside, hostKey), same: false },
    ];
    for (const r of rows) r.same = r.left === r.right;
    const shown = rows[0]!.left === 'absent' && rows[0]!.right === 'listed' && rows[1]!.left === 'listed' && rows[1]!.right === 'absent';
    return lab.session(shown, shown
      ? t('each queue is listed only in the IPC namespace that made it', '每个队列只出现在创建它的 IPC namespace 中')
      : t(`inside queue ${insideId ?? '?'}: host ${rows[0]!.left}; host queue ${hostId ?? '?'}: inside ${rows[1]!.right}`, `容器内队列 ${insideId ?? '?'}：宿主机 ${rows[0]!.left}；宿主机队列 ${hostId ?? '?'}：容器内 ${rows[1]!.right}`), [
      { kind: 'compare', title: t('Message queues (/proc/sysvipc/msg, what ipcs -q reads)', '消息队列（/proc/sysvipc/msg，即 ipcs -q 的数据来源）'), columns: ['host', 'container'], rows },
      { kind: 'lines', title: t('ipcs -q inside the container', '容器内的 ipcs -q'), lines: ipcsInside },
      { kind: 'lines', title: t('/proc/sysvipc/msg on the host', '宿主机的 /proc/sysvipc/msg'), lines: hostText.trim().split('\n') },
    ]);
  },
};
