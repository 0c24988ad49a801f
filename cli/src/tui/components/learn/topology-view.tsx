/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import type { Evidence, Probe } from 'nsbox';
import { EndpointDiagram } from '../endpoint-diagram.js';

type Topology = Extract<Evidence, { kind: 'topology' }>;

/**
 * S12–S15: each bridge and, per container, bridge ─ host veth ═ eth0 with addresses, MACs and ifindexes
 * (eth0's peer ifindex is the host veth's: the two ends of one pipe), then the probes between containers.
 */
export function TopologyView({ ev, width }: { ev: Topology; width: number }) {
  return (
    <Box flexDirection="column" width={width}>
      {ev.bridges.map((b) => (
        <Box key={b.name} flexDirection="column">
          <Text wrap="truncate">
            <Text color="blue" bold>{b.name}</Text> {b.address ? `gateway ${b.address}` : 'no address: L2 only'} <Text dimColor>#{b.ifindex} {b.mac} · {b.endpoints.length} endpoint{b.endpoints.length === 1 ? '' : 's'}</Text>
          </Text>
          {b.endpoints.map((e, i) => (
            <EndpointDiagram key={e.hostVeth.name} container={e.container} bridgeBox={i === 0}
              e={{ network: '', bridge: b.name, gateway: b.address ?? '(none)', hostVeth: e.hostVeth.name, hostIfindex: e.hostVeth.ifindex, containerIf: 'eth0', address: e.eth0.address, mac: e.eth0.mac }}
              ids={{ bridge: { ifindex: b.ifindex, mac: b.mac }, hostMac: e.hostVeth.mac, eth0: { ifindex: e.eth0.ifindex, peerIfindex: e.eth0.peerIfindex } }} />
          ))}
        </Box>
      ))}
      {ev.probes.length ? <Text bold>probes</Text> : null}
      {ev.probes.map((p, i) => <ProbeLine key={i} p={p} />)}
    </Box>
  );
}

/** `ping box-a → box-c 10.78.0.2  blocked (expected)`; a result the claim did not expect is red. */
export function ProbeLine({ p }: { p: Probe }) {
  const asExpected = p.ok === p.expected;
  return (
    <Text wrap="truncate">
      {'  '}{p.kind} {p.from} → {p.to} {p.address}{'  '}
      <Text color={asExpected ? (p.ok ? 'green' : 'yellow') : 'red'} bold>{p.ok ? 'ok' : 'blocked'}</Text>
      <Text color={asExpected ? undefined : 'red'} dimColor={asExpected}>{asExpected ? ' (expected)' : ` (NOT expected: should be ${p.expected ? 'ok' : 'blocked'})`}</Text>
    </Text>
  );
}
