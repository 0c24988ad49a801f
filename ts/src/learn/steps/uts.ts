/** S9: hostname and NIS domain name of its own. */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

import { keyValues, LONG_RUNNING, needs, t, userNamespaces } from '../host.js';
import { SECTIONS, type StepDef } from './def.js';

const PROBE = 'echo h1=$(hostname); echo d1=$(cat /proc/sys/kernel/domainname); hostname learn-changed && echo h2=$(hostname)';

export const s9: StepDef = {
  id: 'S9',
  section: SECTIONS.uts,
  title: t('uts: its own hostname', 'uts：自己的主机名'),
  claim: t(
    'A UTS namespace holds its own hostname and NIS domain name. The container starts with the names it was given, and `hostname x` inside leaves the host\'s name alone.',
    'UTS namespace 拥有自己的主机名和 NIS 域名。容器以指定的名字启动，在容器内执行 `hostname x` 不会改变宿主机的名字。',
  ),
  commands: {
    nsbox: ['nsbox run --hostname box --domainname learn.example -- sh -c \'hostname; cat /proc/sys/kernel/domainname\'', 'nsbox run --privileged --hostname box -- sh -c \'hostname changed; hostname\'', 'hostname'],
    manual: ['unshare --uts sh -c \'hostname box; hostname\'', 'hostname'],
  },
  extraOptions: [t(
    '--privileged for `hostname x` inside: sethostname(2) needs CAP_SYS_ADMIN, which a default container lacks (setting the name with --hostname needs nothing extra)',
    '在容器内执行 `hostname x` 需要 --privileged：sethostname(2) 需要 CAP_SYS_ADMIN，默认容器没有（用 --hostname 设置名字则无需额外选项）',
  )],
  supported: async () => needs(['hostname'], userNamespaces()),
  async body(lab) {
    const before = [hostname(), readFileSync('/proc/sys/kernel/domainname', 'utf8').trim()];
    const c = await lab.container('box', { hostname: 'learn-box', domainname: 'learn.example', privileged: true, command: LONG_RUNNING });
    const r = await lab.exec(c, ['/bin/sh', '-c', PROBE]);
    const kv = keyValues(r.stdout);
    const after = [hostname(), readFileSync('/proc/sys/kernel/domainname', 'utf8').trim()];
    const rows = [
      { label: 'hostname at start', left: before[0]!, right: kv.h1 ?? '?', same: before[0] === kv.h1 },
      { label: 'domainname', left: before[1]!, right: kv.d1 ?? '?', same: before[1] === kv.d1 },
      { label: 'after `hostname learn-changed` inside', left: after[0]!, right: kv.h2 ?? `(failed: ${r.stderr.trim()})`, same: after[0] === kv.h2 },
    ];
    const shown = kv.h1 === 'learn-box' && kv.d1 === 'learn.example' && kv.h2 === 'learn-changed' && after[0] === before[0] && after[1] === before[1];
    return lab.session(shown, shown
      ? t('the container has its own hostname and domain name, and renaming it inside left the host\'s unchanged', '容器拥有自己的主机名和域名，在容器内改名后宿主机的名字保持不变')
      : t(`inside ${kv.h1}/${kv.d1}/${kv.h2}; host ${before.join('/')} → ${after.join('/')}`, `容器内 ${kv.h1}/${kv.d1}/${kv.h2}；宿主机 ${before.join('/')} → ${after.join('/')}`), [
      { kind: 'compare', title: t('Names in two UTS namespaces', '两个 UTS namespace 中的名字'), columns: ['host', 'container'], rows },
    ]);
  },
};
