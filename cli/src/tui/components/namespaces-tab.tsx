/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import type { ContainerDetail } from '../api.js';
import { fit, mapLine, offsets } from '../format.js';

/** The eight kinds, inside vs the host, plus the id maps, time offsets and cgroup path. */
export function NamespacesTab({ d, width }: { d: ContainerDetail; width: number; height: number }) {
  if (d.namespaces.length === 0) {
    return <Text>{d.summary.status === 'running' ? 'namespaces unreadable (see the top line)' : `${d.summary.name} is ${d.summary.status}: its namespaces ended with its processes.`}</Text>;
  }
  const isolated = d.namespaces.filter((n) => !n.shared).map((n) => n.kind);
  const maps = (label: string, m: ContainerDetail['uidMap']) => (
    <Text wrap="truncate"><Text color="cyan">{fit(label, 10)}</Text>
      {m.length ? m.map(mapLine).join('   ') : <Text dimColor>none (ids are the host's)</Text>}</Text>
  );
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>{fit('KIND', 8)} {fit('INSIDE', 12)} {fit('HOST', 12)} </Text>
      {d.namespaces.map((n) => (
        <Text key={n.kind} wrap="truncate">
          {fit(n.kind, 8)} {fit(n.id === undefined ? '?' : String(n.id), 12)} {fit(n.hostId === undefined ? '?' : String(n.hostId), 12)}{' '}
          {n.shared ? <Text color="yellow">shared with host</Text> : <Text color="green">isolated</Text>}
        </Text>
      ))}
      <Text dimColor wrap="truncate">{isolated.length} of 8 isolated{isolated.length ? `: ${isolated.join(' ')}` : ''}</Text>
      <Text> </Text>
      {maps('uid map', d.uidMap)}
      {maps('gid map', d.gidMap)}
      <Text wrap="truncate"><Text color="cyan">{fit('time', 10)}</Text>{offsets(d.timeOffsets)}</Text>
      <Text wrap="truncate"><Text color="cyan">{fit('cgroup', 10)}</Text>{d.cgroupPath ?? '-'}</Text>
      {d.hostname ? <Text wrap="truncate"><Text color="cyan">{fit('hostname', 10)}</Text>{d.hostname}</Text> : null}
    </Box>
  );
}
