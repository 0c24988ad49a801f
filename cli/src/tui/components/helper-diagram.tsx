/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import type { HelperInfo } from '../api.js';

const MAX_PORTS = 4;

/**
 * A rootless container's network (issue 13): the container's tap device (as read from its netns)
 * ⇄ the user-mode helper that carries its traffic ⇄ the host, where the helper's sockets are
 * (published ports, the host's loopback, ICMP through ping sockets).
 */
export function HelperDiagram({ h, container, width = 110 }: { h: HelperInfo; container: string; width?: number }) {
  // Below ~100 columns the three boxes wrap their lines: leave out the extra addresses, shorten the links.
  const narrow = width < 100;
  const ifs = (h.interfaces ?? []).filter((i) => i.name !== 'lo');
  const ports = h.ports ?? [];
  return (
    <Box flexDirection="column">
      <Text dimColor>rootless user-mode network through {h.helper}</Text>
      <Box>
        <Box flexDirection="column" borderStyle="round" borderColor="green" paddingX={1}>
          {ifs.length === 0 ? <Text dimColor wrap={narrow ? 'truncate-end' : 'wrap'}>{h.insideError ? `unread: ${h.insideError}` : 'no tap device'}</Text> : null}
          {ifs.map((i) => (
            <Box key={i.index} flexDirection="column">
              <Text><Text bold>{i.name}</Text> #{i.index} {i.addresses[0] ?? 'no address'}</Text>
              <Text>{i.mac ?? '?'}{i.mtu && !narrow ? ` mtu ${i.mtu}` : ''}</Text>
              {i.addresses.slice(1, narrow ? 1 : 3).map((a) => <Text key={a} dimColor>{a}</Text>)}
            </Box>
          ))}
          {h.gateway ? <Text>via {h.gateway}</Text> : null}
          {h.dns ? <Text>dns {h.dns}</Text> : null}
        </Box>
        <Box flexDirection="column"><Text> </Text><Text>{narrow ? '═' : '═tap═'}</Text></Box>
        <Box flexDirection="column" borderStyle="round" borderColor={h.running ? 'magenta' : 'red'} paddingX={1}>
          <Text bold>{h.helper}</Text>
          <Text>pid {h.pid}</Text>
          {h.running ? <Text color="green">running</Text> : <Text color="red">network down: {h.exit ?? 'ended'}</Text>}
        </Box>
        <Box flexDirection="column"><Text> </Text><Text>{narrow ? '─' : '─sockets─'}</Text></Box>
        <Box flexDirection="column" borderStyle="round" borderColor="blue" paddingX={1}>
          <Text bold>host</Text>
          {ports.length === 0 ? <Text dimColor>no published ports</Text> : null}
          {ports.slice(0, MAX_PORTS).map((p) => (
            <Text key={`${p.hostIp ?? ''}:${p.hostPort}/${p.protocol}`}>{p.hostIp ?? '*'}:{p.hostPort} → {p.containerPort}/{p.protocol}</Text>
          ))}
          {ports.length > MAX_PORTS ? <Text dimColor>… {ports.length - MAX_PORTS} more</Text> : null}
          {h.hostLoopback === undefined ? null : <Text>loopback {h.hostLoopback ? <Text color="yellow">reachable</Text> : 'hidden'}</Text>}
          {h.icmp ? <Text>ICMP {h.icmp.allowed ? 'on' : <Text color="yellow">off</Text>}</Text> : null}
        </Box>
      </Box>
      <Text dimColor>left: {container}'s netns · middle: the helper, a process of the user's · right: the host's network namespace</Text>
      {h.icmp && !h.icmp.allowed && h.icmp.reason ? <Text dimColor wrap="wrap">ICMP: {h.icmp.reason}</Text> : null}
    </Box>
  );
}
