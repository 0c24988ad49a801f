/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import type { Endpoint } from '../api.js';

/** S15 drawn: bridge (gateway) ─ host-side veth ═ veth pair ═ eth0 in the container's netns. */
export function EndpointDiagram({ e, container }: { e: Endpoint; container?: string }) {
  return (
    <Box flexDirection="column">
      <Text dimColor>network {e.network}</Text>
      <Box>
        <Box flexDirection="column" borderStyle="round" borderColor="blue" paddingX={1}>
          <Text bold>bridge {e.bridge}</Text>
          <Text>gateway {e.gateway}</Text>
        </Box>
        <Box flexDirection="column"><Text> </Text><Text>───</Text></Box>
        <Box flexDirection="column" borderStyle="round" borderColor="magenta" paddingX={1}>
          <Text bold>{e.hostVeth}</Text>
          <Text>host side{e.hostIfindex !== undefined ? ` #${e.hostIfindex}` : ''}</Text>
        </Box>
        <Box flexDirection="column"><Text> </Text><Text>═veth═</Text><Text dimColor> pair</Text></Box>
        <Box flexDirection="column" borderStyle="round" borderColor="green" paddingX={1}>
          <Text bold>{e.containerIf} {e.address}</Text>
          <Text>{e.mac}</Text>
        </Box>
      </Box>
      <Text dimColor>{'  host network namespace'.padEnd(46)}{container ? `${container}'s netns` : 'container netns'}</Text>
    </Box>
  );
}
