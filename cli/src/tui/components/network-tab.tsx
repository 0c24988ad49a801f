/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import type { ContainerDetail } from '../api.js';
import { EndpointDiagram } from './endpoint-diagram.js';
import { HelperDiagram } from './helper-diagram.js';

/** Every endpoint of the container as bridge → veth → eth0. */
export function NetworkTab({ d, width, height }: { d: ContainerDetail; width: number; height: number }) {
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
