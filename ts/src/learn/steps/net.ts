/** S6: devices, routes and ports of its own. */
import { randomInt } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';

import { needs, readText, t, userNamespaces } from '../host.js';
import { SECTIONS, type StepDef } from './def.js';

/** Destinations of /proc/PID/net/route as `a.b.c.d/len dev IF` (the file holds little-endian hex). */
function routes(text: string): string[] {
  const ip = (hex: string) => [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  const bits = (hex: string) => ip(hex).split('.').reduce((n, o) => n + Number(o).toString(2).replace(/0/g, '').length, 0);
  return text.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f.length > 7).map((f) => `${ip(f[1]!)}/${bits(f[7]!)} dev ${f[0]}`);
}

/** Whether a socket listens on `port` in the namespace /proc/PID/net shows. */
function listens(pid: number | string, port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return ['tcp', 'tcp6'].some((f) => readText(`/proc/${pid}/net/${f}`).split('\n').some((l) => {
    const c = l.trim().split(/\s+/);
    return c[1]?.endsWith(hex) === true && c[3] === '0A';
  }));
}

const PORT = 8080;
const LISTEN = ['busybox', 'nc', '-l', '-p', String(PORT)];

export const s6: StepDef = {
  id: 'S6',
  section: SECTIONS.dockerNet,
  title: t('net: its own routes and ports', 'net：自己的路由和端口'),
  claim: t(
    'A network namespace has its own devices, addresses, routes, firewall and ports. A route added inside does not reach the host\'s table, and two containers can each listen on the same port.',
    'network namespace 拥有自己的网络设备、地址、路由、防火墙和端口。在容器内添加的路由不会进入宿主机的路由表，两个容器也可以同时监听同一个端口。',
  ),
  commands: {
    nsbox: [
      'nsbox run --cap-add NET_ADMIN -- sh -c \'ip link set lo up; ip route add 10.213.0.0/24 dev lo; ip route\'', 'ip route',
      `nsbox run -d --name p1 -- busybox nc -l -p ${PORT}`, `nsbox run -d --name p2 -- busybox nc -l -p ${PORT}`,
    ],
    manual: ['unshare --net sh -c \'ip link set lo up; ip route add 10.213.0.0/24 dev lo; ip route\'', `unshare --net busybox nc -l -p ${PORT} & unshare --net busybox nc -l -p ${PORT} &`],
  },
  extraOptions: [t('--cap-add NET_ADMIN on box-a: adding a route needs CAP_NET_ADMIN (in the container\'s own network namespace), which a default container lacks', 'box-a 使用 --cap-add NET_ADMIN：添加路由需要 CAP_NET_ADMIN（作用于容器自己的 network namespace），默认容器没有')],
  supported: async () => needs(['ip', 'busybox'], userNamespaces()),
  async body(lab) {
    const dest = `10.213.${randomInt(1, 255)}.0/24`;
    const a = await lab.container('box-a', { capAdd: ['NET_ADMIN'], command: LISTEN });
    const b = await lab.container('box-b', { command: LISTEN });
    const r = await lab.exec(a, ['/bin/sh', '-c', `ip link set lo up && ip route add ${dest} dev lo`]);
    const hostRoutes = routes(readFileSync('/proc/self/net/route', 'utf8'));
    const aRoutes = routes(readText(`/proc/${a.pid}/net/route`));
    const want = `${dest} dev lo`;
    let up = [false, false];
    for (let i = 0; i < 100 && !up.every(Boolean); i++) {
      up = [listens(a.pid!, PORT), listens(b.pid!, PORT)];
      if (!up.every(Boolean)) await new Promise((res) => setTimeout(res, 50));
    }
    const netns = (pid: number | string) => readlinkSync(`/proc/${pid}/ns/net`);
    const shown = r.exitCode === 0 && aRoutes.includes(want) && !hostRoutes.includes(want) && up.every(Boolean) && netns(a.pid!) !== netns(b.pid!);
    return lab.session(shown, shown
      ? t(`${dest} is in box-a's routing table only, and box-a and box-b both listen on port ${PORT}`, `${dest} 只在 box-a 的路由表中，box-a 和 box-b 同时监听 ${PORT} 端口`)
      : t(`route add exit ${r.exitCode} ${r.stderr.trim()}; listening ${up.join('/')}`, `添加路由退出码 ${r.exitCode} ${r.stderr.trim()}；监听 ${up.join('/')}`), [
      {
        kind: 'compare', title: t('Routing tables (/proc/PID/net/route)', '路由表（/proc/PID/net/route）'), columns: ['host', 'box-a'],
        rows: [
          { label: want, left: hostRoutes.includes(want) ? 'present' : 'absent', right: aRoutes.includes(want) ? 'present' : 'absent', same: false },
          { label: 'routes in the table', left: String(hostRoutes.length), right: String(aRoutes.length), same: hostRoutes.length === aRoutes.length },
        ],
      },
      {
        kind: 'compare', title: t(`Port ${PORT}, twice (/proc/PID/net/tcp)`, `同一端口 ${PORT} 被绑定两次（/proc/PID/net/tcp）`), columns: ['box-a', 'box-b'],
        rows: [
          { label: 'network namespace', left: netns(a.pid!), right: netns(b.pid!), same: netns(a.pid!) === netns(b.pid!) },
          { label: `listening on ${PORT}`, left: up[0] ? 'yes' : 'no', right: up[1] ? 'yes' : 'no', same: up[0] === up[1] },
        ],
      },
      { kind: 'lines', title: t('box-a\'s table', 'box-a 的路由表'), lines: aRoutes },
    ]);
  },
};
