/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import { useState } from 'react';
import type { DashboardApi } from '../api.js';
import { errorMessage } from '../api.js';
import { fit } from '../format.js';
import { LAYER, useKeys } from '../hooks/use-keys.js';
import { usePoll } from '../hooks/use-poll.js';
import { scrollKey } from './line-view.js';

/** What runs inside: pid in the container's pid namespace and on the host. */
export function ProcessesTab({ api, id, width, height }: { api: DashboardApi; id: string; width: number; height: number }) {
  const procs = usePoll(() => api.processes(id), 2000, id);
  const [offset, setOffset] = useState(0);
  const list = procs.data ?? [];
  const body = Math.max(1, height - 1);
  useKeys(LAYER.tab, (input, key) => {
    const n = scrollKey(input, key, offset, body, list.length);
    if (n === undefined) return false;
    setOffset(n);
    return true;
  });
  if (!procs.data) return <Text color={procs.error ? 'yellow' : undefined}>{procs.error ? errorMessage(procs.error) : 'loading…'}</Text>;
  const cmdWidth = Math.max(10, width - 39);
  return (
    <Box flexDirection="column">
      <Text bold>{fit('PID', 8, 'right')} {fit('HOST PID', 9, 'right')} {fit('PPID', 8, 'right')} {fit('UID', 8)} COMMAND</Text>
      {list.slice(offset, offset + body).map((p) => (
        <Text key={p.pidHost} wrap="truncate">
          {fit(String(p.pidInside), 8, 'right')} {fit(String(p.pidHost), 9, 'right')} {fit(p.ppidHost === undefined ? '-' : String(p.ppidHost), 8, 'right')} {fit(p.user ?? '-', 8)} {fit(p.command, cmdWidth)}
        </Text>
      ))}
      {procs.error ? <Text color="yellow">refresh failed: {errorMessage(procs.error)}</Text> : null}
    </Box>
  );
}
