/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import type { ContainerDetail } from '../api.js';
import { EndpointDiagram } from './endpoint-diagram.js';
import { HelperDiagram } from './helper-diagram.js';

/** Every endpoint of the container as bridge → veth → eth0. */
export function NetworkTab({ d, width, height }: { d: ContainerDetail; width: number; height: number }) {
  if (d.networkHelper?.network) return <RootlessBridgeDiagram h={d.networkHelper} container={d.summary.name} />;
  if (d.networkHelper) return <HelperDiagram h={d.networkHelper} container={d.summary.name} width={width} />;
  const shared = d.namespaces.find((n) => n.kind === 'net')?.shared;
  if (d.endpoints.length === 0) {
    return (
      <Text>
        {shared ? 'Host network: the container shares the host\'s network namespace.' : 'No endpoints: only lo in its own network namespace (--network none).'}
      </Text>
    );
  }
  const fit = Math.max(1, Math.floor(height / 6));
  return (
    <Box flexDirection="column">
      {d.endpoints.slice(0, fit).map((e) => <EndpointDiagram key={`${e.network}:${e.hostVeth}`} e={e} container={d.summary.name} />)}
      {d.endpoints.length > fit ? <Text dimColor>… {d.endpoints.length - fit} more endpoints (see Inspect)</Text> : null}
    </Box>
  );
}

/** Rootless user-defined network: eth0 ═veth═ the bridge in the user's rootless netns, whose holder carries egress. */
function RootlessBridgeDiagram({ h, container }: { h: NonNullable<ContainerDetail['networkHelper']>; container: string }) {
  const ports = h.ports ?? [];
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{container}</Text> eth0 {h.address} ═veth═ <Text color="blue" bold>{h.bridge}</Text> ({h.network}) ⇄ holder (pid {h.pid}
        {h.running ? <Text color="green"> running</Text> : <Text color="red"> {h.exit ?? 'ended'}: network down</Text>}) ⇄ pasta/slirp4netns ⇄ host sockets
      </Text>
      {/* The container's watcher publishes these (TCP and UDP) from host sockets of the user's. */}
      <Text>
        published: {ports.length === 0 ? <Text dimColor>none</Text> : ports.map((p) => `${p.hostIp ?? '*'}:${p.hostPort} → ${p.containerPort}/${p.protocol}`).join(' · ')}
      </Text>
      <Text dimColor>rootless user-defined network: the bridge lives in your rootless network namespace (one holder process per user)</Text>
    </Box>
  );
}
