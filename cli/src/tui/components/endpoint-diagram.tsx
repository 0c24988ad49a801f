/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import type { Endpoint } from '../api.js';

/** What the kernel numbers each end (learn mode's S15 shows them; the Network tab has no such data). */
export interface EndpointIds {
  bridge: { ifindex: number; mac: string };
  hostMac: string;
  eth0: { ifindex: number; peerIfindex: number };
}

interface Props {
  e: Endpoint;
  container?: string;
  ids?: EndpointIds;
  /** false for a bridge's second and later endpoints: the bridge box is drawn once, above. */
  bridgeBox?: boolean;
}

/** S15 drawn: bridge (gateway) ─ host-side veth ═ veth pair ═ eth0 in the container's netns. */
export function EndpointDiagram({ e, container, ids, bridgeBox = true }: Props) {
  const bridgeWidth = 4 + Math.max(`bridge ${e.bridge}`.length, `gateway ${e.gateway}`.length, ids ? `#${ids.bridge.ifindex} ${ids.bridge.mac}`.length : 0);
  return (
    <Box flexDirection="column">
      {e.network ? <Text dimColor>network {e.network}</Text> : null}
      <Box>
        {bridgeBox ? (
          <Box flexDirection="column" borderStyle="round" borderColor="blue" paddingX={1}>
            <Text bold>bridge {e.bridge}</Text>
            <Text>gateway {e.gateway}</Text>
            {ids ? <Text dimColor>#{ids.bridge.ifindex} {ids.bridge.mac}</Text> : null}
          </Box>
        ) : (
          <Box flexDirection="column" width={bridgeWidth}><Text> </Text><Text color="blue">{`  ↳ same ${e.bridge}`.slice(0, bridgeWidth)}</Text></Box>
        )}
        <Box flexDirection="column"><Text> </Text><Text>───</Text></Box>
        <Box flexDirection="column" borderStyle="round" borderColor="magenta" paddingX={1}>
          <Text bold>{e.hostVeth}</Text>
          <Text>host side{e.hostIfindex !== undefined ? ` #${e.hostIfindex}` : ''}</Text>
          {ids ? <Text dimColor>{ids.hostMac}</Text> : null}
        </Box>
        <Box flexDirection="column"><Text> </Text><Text>═veth═</Text><Text dimColor> pair</Text></Box>
        <Box flexDirection="column" borderStyle="round" borderColor="green" paddingX={1}>
          <Text bold>{e.containerIf} {e.address}</Text>
          <Text>{e.mac}</Text>
          {ids ? <Text dimColor>#{ids.eth0.ifindex} ⇄ peer #{ids.eth0.peerIfindex}</Text> : null}
        </Box>
      </Box>
      <Text dimColor>{'  host network namespace'.padEnd(ids ? 50 : 46)}{container ? `${container}'s netns` : 'container netns'}</Text>
    </Box>
  );
}
