/** S12–S15: Docker's CNM on Linux: network namespace, veth pair, bridge (and its gateway address). */
import { bridges, needs, t } from '../host.js';
import type { Lab } from '../lab.js';
import { buildTopology, pairsCheck, ping, type Built } from '../topology.js';
import type { Evidence, Probe, StepSession, Text } from '../types.js';
import { SECTIONS, type StepDef } from './def.js';

const NOTE = t('bridge networks change the host\'s network (as an ordinary user: your rootless network namespace): the step creates its own networks (learn-…) and removes them', '网桥网络会改动宿主机的网络（普通用户：你的 rootless network namespace）：本步骤创建自己的网络（learn-…），结束时删除');

/** As an ordinary user, where the "host" side of the picture really is. */
const ROOTLESS = t(' (the bridge lives in your rootless network namespace, not the host\'s: read there with nsbox-runtime net-inside on its holder)', '（网桥位于你的 rootless network namespace 中，而不在宿主机上：通过 nsbox-runtime net-inside 在其 holder 中读取）');

function topology(built: Built, probes: Probe[], title: Text): Evidence {
  return { kind: 'topology', title, bridges: built.bridges, probes };
}

function verdict(lab: Lab, built: Built, wrong: string[], ok: Text, evidence: Evidence[]): StepSession {
  const where = built.where.kind === 'rootless' ? ROOTLESS : t('', '');
  const detail = wrong.length === 0 ? ok : t(`unexpected: ${wrong.join('; ')}`, `与预期不符：${wrong.join('；')}`);
  return lab.session(wrong.length === 0, t(detail.en + where.en, detail.zh + where.zh), evidence);
}

const common = {
  extraOptions: [NOTE],
  supported: async () => needs(['ip', 'ping'], bridges()),
};

export const s12: StepDef = {
  id: 'S12',
  section: SECTIONS.dockerNet,
  title: t('Sandbox, endpoint, network', '沙箱、端点、网络'),
  claim: t(
    'Docker\'s network model maps onto three Linux objects: the sandbox is a network namespace, an endpoint is a veth pair, a network is a bridge. `network create` makes the bridge; each container gets a veth whose peer is eth0 in its namespace.',
    'Docker 的网络模型对应三个 Linux 对象：沙箱是 network namespace，端点是 veth pair，网络是 Linux 网桥。`network create` 创建网桥；每个容器得到一个 veth，其对端就是容器 namespace 中的 eth0。',
  ),
  commands: {
    nsbox: ['nsbox network create blue', 'nsbox run -d --name a --network blue -- sleep 1000', 'nsbox network inspect blue', 'nsbox exec a ip -o link show eth0'],
    manual: ['ip link add br-blue type bridge && ip link set br-blue up', 'ip netns add a && ip link add veth-a type veth peer name eth0 netns a', 'ip link set veth-a master br-blue up'],
  },
  ...common,
  async body(lab) {
    const built = await buildTopology(lab, [['box-a', 'box-b']]);
    const wrong = pairsCheck(built);
    return verdict(lab, built, wrong, t('one bridge, and per container a veth pair: host end on the bridge, other end eth0 in the container\'s own network namespace', '一个网桥；每个容器一对 veth：宿主机一端接在网桥上，另一端是容器自己 network namespace 中的 eth0'), [
      topology(built, [], t('Network = bridge, endpoint = veth pair, sandbox = network namespace', '网络 = 网桥，端点 = veth pair，沙箱 = network namespace')),
    ]);
  },
};

export const s13: StepDef = {
  id: 'S13',
  section: SECTIONS.veth,
  title: t('The bridge as gateway', '网桥作为网关'),
  claim: t(
    'A bridge forwards Ethernet frames at layer 2. Given an IP address it also works at layer 3: the bridge becomes the containers\' gateway, and their default route points at it.',
    '网桥默认在二层转发以太网帧。给它分配 IP 地址后，它就开启了三层功能：网桥成为容器的网关，容器的默认路由指向它。',
  ),
  commands: {
    nsbox: ['nsbox network create blue --subnet 10.201.0.0/24', 'nsbox run --network blue -- sh -c \'ip route; ping -c1 10.201.0.1; ip neigh\'', 'nsbox network inspect blue'],
    manual: ['ip addr add 10.201.0.1/24 dev br-blue', 'ip netns exec a ip route add default via 10.201.0.1'],
  },
  ...common,
  async body(lab) {
    const built = await buildTopology(lab, [['box']]);
    const box = built.boxes[0]!;
    const gw = built.nets[0]!.gateway;
    const probe = await ping(lab, box, { label: built.bridges[0]!.name, address: gw }, true);
    const out = (await lab.exec(box.c, ['/bin/sh', '-c', `ip route; ip neigh show ${gw}`])).stdout;
    const route = /^default via (\S+)/m.exec(out)?.[1];
    const lladdr = /lladdr ([0-9a-f:]+)/.exec(out)?.[1];
    const wrong: string[] = [];
    if (route !== gw) wrong.push(`default route via ${route ?? 'none'}, gateway ${gw}`);
    if (!probe.ok) wrong.push(`ping ${gw} failed`);
    if (lladdr !== built.bridges[0]!.mac) wrong.push(`${gw} answered from ${lladdr ?? 'nowhere'}, the bridge is ${built.bridges[0]!.mac}`);
    return verdict(lab, built, wrong, t(`the container routes via ${gw}, and ${gw} answers from the bridge's own MAC: the bridge holds the gateway address`, `容器经由 ${gw} 路由，且 ${gw} 以网桥自己的 MAC 应答：网关地址就在网桥上`), [
      topology(built, [probe], t('The bridge with an address', '带地址的网桥')),
      {
        kind: 'compare', title: t('Who is the gateway', '谁是网关'), columns: [built.where.kind === 'rootless' ? 'bridge (rootless netns)' : 'bridge (host)', 'seen from the container'],
        rows: [
          { label: 'address', left: built.bridges[0]!.address ?? '?', right: `default via ${route ?? '?'}`, same: route === gw },
          { label: 'MAC', left: built.bridges[0]!.mac, right: `${gw} lladdr ${lladdr ?? '?'}`, same: lladdr === built.bridges[0]!.mac },
        ],
      },
      { kind: 'lines', title: t('ip route; ip neigh (inside)', 'ip route；ip neigh（容器内）'), lines: out.trim().split('\n') },
    ]);
  },
};

export const s14: StepDef = {
  id: 'S14',
  section: SECTIONS.veth,
  title: t('Same bridge talks, different bridges don\'t', '同一网桥互通，不同网桥隔离'),
  claim: t(
    'Containers on the same bridge are on one Ethernet segment and reach each other. Containers on different bridges are isolated: nothing forwards between the two networks.',
    '同一网桥上的容器处在同一个以太网段，可以互相访问；不同网桥上的容器相互隔离，两个网络之间不做转发。',
  ),
  commands: {
    nsbox: [
      'nsbox network create blue --subnet 10.201.0.0/24', 'nsbox network create red --subnet 10.202.0.0/24',
      'nsbox run -d --name a1 --network blue --ip 10.201.0.2 -- sleep 1000', 'nsbox run -d --name a2 --network blue --ip 10.201.0.3 -- sleep 1000',
      'nsbox run -d --name b1 --network red --ip 10.202.0.2 -- sleep 1000',
      'nsbox exec a1 ping -c1 -W1 10.201.0.3', 'nsbox exec a1 ping -c1 -W1 10.202.0.2',
    ],
    manual: ['ip netns exec a1 ping -c1 -W1 10.201.0.3', 'ip netns exec a1 ping -c1 -W1 10.202.0.2'],
  },
  ...common,
  async body(lab) {
    const built = await buildTopology(lab, [['a1', 'a2'], ['b1']]);
    const [a1, a2, b1] = built.boxes as [typeof built.boxes[0], typeof built.boxes[0], typeof built.boxes[0]];
    const probes = [
      await ping(lab, a1, { label: a2.label, address: a2.eth0.address }, true),
      await ping(lab, a2, { label: a1.label, address: a1.eth0.address }, true),
      await ping(lab, a1, { label: b1.label, address: b1.eth0.address }, false),
      await ping(lab, b1, { label: a1.label, address: a1.eth0.address }, false),
    ];
    const wrong = [...pairsCheck(built), ...probes.filter((p) => p.ok !== p.expected).map((p) => `${p.from} → ${p.to}: ${p.ok ? 'answered' : 'no answer'}`)];
    return verdict(lab, built, wrong, t('pings within a bridge answer; pings across the two bridges get no answer', '同一网桥内的 ping 有应答；跨两个网桥的 ping 没有应答'), [
      topology(built, probes, t('Two networks, three containers', '两个网络，三个容器')),
    ]);
  },
};

export const s15: StepDef = {
  id: 'S15',
  section: SECTIONS.veth,
  title: t('A veth pair is a pipe', 'veth pair 就像一根管道'),
  claim: t(
    'A veth pair is two network devices joined like a pipe: what enters one end leaves the other. Each end can hold its own address; here one end is on the bridge in the host, the other is eth0 in the container, and each names the other\'s ifindex.',
    'veth pair 是像管道一样连在一起的两个网络设备：从一端进入的数据从另一端出来。每一端都可以有自己的地址；这里一端在宿主机上接入网桥，另一端是容器内的 eth0，两端互相记录对方的 ifindex。',
  ),
  commands: {
    nsbox: ['nsbox network create blue', 'nsbox run -d --name a --network blue -- sleep 1000', 'nsbox exec a ip -o link show eth0', 'nsbox network inspect blue'],
    manual: ['ip link add veth0 type veth peer name veth1', 'ip -o link show type veth'],
  },
  ...common,
  async body(lab) {
    const built = await buildTopology(lab, [['box']]);
    const box = built.boxes[0]!;
    const ep = built.bridges[0]!.endpoints[0]!;
    const probe = await ping(lab, box, { label: built.bridges[0]!.name, address: built.nets[0]!.gateway }, true);
    const wrong = pairsCheck(built);
    if (!probe.ok) wrong.push('nothing came back through the pair');
    if (ep.eth0.mac === ep.hostVeth.mac) wrong.push('both ends share a MAC');
    return verdict(lab, built, wrong, t(`eth0 (ifindex ${ep.eth0.ifindex}) names ${ep.hostVeth.name} (ifindex ${ep.hostVeth.ifindex}) as its peer and back; a ping through the pair was answered`, `eth0（ifindex ${ep.eth0.ifindex}）的对端是 ${ep.hostVeth.name}（ifindex ${ep.hostVeth.ifindex}），反之亦然；经过这对 veth 的 ping 得到了应答`), [
      topology(built, [probe], t('bridge → host-side veth → container eth0', '网桥 → 宿主机端 veth → 容器 eth0')),
      {
        kind: 'compare', title: t('The two ends of the pair', 'veth pair 的两端'), columns: [built.where.kind === 'rootless' ? 'bridge end (rootless netns)' : 'host end', 'container end'],
        rows: [
          { label: 'name', left: ep.hostVeth.name, right: 'eth0', same: false },
          { label: 'ifindex', left: String(ep.hostVeth.ifindex), right: String(ep.eth0.ifindex), same: ep.hostVeth.ifindex === ep.eth0.ifindex },
          { label: 'peer ifindex', left: String(built.details[0]!.endpoints.find((e) => e.hostVeth === ep.hostVeth.name)?.hostLink?.peer ?? '?'), right: String(ep.eth0.peerIfindex), same: false },
          { label: 'MAC', left: ep.hostVeth.mac, right: ep.eth0.mac, same: ep.hostVeth.mac === ep.eth0.mac },
          { label: 'address', left: '(none: a bridge port)', right: ep.eth0.address, same: false },
        ],
      },
    ]);
  },
};
