/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import { useEffect, useState } from 'react';
import type { DashboardApi, StatsPoint } from '../api.js';
import { errorMessage } from '../api.js';
import { bar, bytes, fit, percent, sparkline } from '../format.js';
import { usePoll } from '../hooks/use-poll.js';

/** Readings kept: enough for a sparkline across a wide terminal. */
const KEEP = 240;
const LABEL = 11;
const VALUE = 26;

/** Bytes per second between consecutive readings of a counter. */
function rates(h: StatsPoint[], get: (p: StatsPoint) => number): number[] {
  const out: number[] = [];
  for (let i = 1; i < h.length; i++) {
    const secs = (h[i]!.time - h[i - 1]!.time) / 1000;
    out.push(secs > 0 ? Math.max(0, get(h[i]!) - get(h[i - 1]!)) / secs : 0);
  }
  return out;
}

interface Row { label: string; value: string; graph: string; color?: string }

function Line({ r, width }: { r: Row; width: number }) {
  return (
    <Text wrap="truncate">
      <Text bold>{fit(r.label, LABEL)}</Text>{fit(r.value, VALUE, 'right')}  <Text color={r.color ?? 'cyan'}>{fit(r.graph, Math.max(1, width - LABEL - VALUE - 2))}</Text>
    </Text>
  );
}

/**
 * Usage over time (docker stats, drawn): CPU %, memory against its limit, pids, network and block
 * I/O rates, one reading a second from the library's stats, newest on the right.
 */
export function StatsTab({ api, id, width, height }: { api: DashboardApi; id: string; width: number; height: number }) {
  const poll = usePoll(() => api.containerStats(id), 1000, id);
  const [history, setHistory] = useState<StatsPoint[]>([]);
  useEffect(() => { setHistory([]); }, [id]);
  useEffect(() => {
    const p = poll.data;
    if (p) setHistory((h) => (h[h.length - 1] === p ? h : [...h.slice(-(KEEP - 1)), p]));
  }, [poll.data]);
  const last = history[history.length - 1];
  if (!last) return <Text color={poll.error ? 'yellow' : undefined}>{poll.error ? errorMessage(poll.error) : 'loading…'}</Text>;
  const gw = Math.max(1, width - LABEL - VALUE - 2);
  const cpu = history.map((p) => p.cpuPercent ?? 0);
  const memFrac = last.memoryLimit > 0 ? last.memoryBytes / last.memoryLimit : 0;
  const perSec = (n: number | undefined) => `${bytes(n ?? 0)}/s`;
  const io = (label: string, get: (p: StatsPoint) => number, color: string): Row => {
    const r = rates(history, get);
    return { label, value: `${perSec(r[r.length - 1])} (${bytes(get(last))})`, graph: sparkline(r, gw), color };
  };
  const rows: Row[] = [
    { label: 'CPU %', value: percent(last.cpuPercent), graph: sparkline(cpu, gw, Math.max(100, ...cpu)), color: 'green' },
    { label: 'MEM', value: `${bytes(last.memoryBytes)} / ${bytes(last.memoryLimit)}`, graph: bar(memFrac, gw), color: memFrac > 0.9 ? 'red' : 'yellow' },
    // Its history scaled to its own peak: against the limit a small container's line stays flat.
    { label: 'MEM %', value: percent(memFrac * 100), graph: sparkline(history.map((p) => p.memoryBytes), gw), color: 'yellow' },
    { label: 'PIDS', value: `${last.pids}${last.pidsLimit === undefined ? '' : ` / ${last.pidsLimit}`}`, graph: sparkline(history.map((p) => p.pids), gw), color: 'magenta' },
    io('NET rx', (p) => p.netRx, 'blue'),
    io('NET tx', (p) => p.netTx, 'blue'),
    io('BLOCK read', (p) => p.blockRead, 'cyan'),
    io('BLOCK write', (p) => p.blockWrite, 'cyan'),
  ];
  const span = Math.round((last.time - history[0]!.time) / 1000);
  return (
    <Box flexDirection="column">
      {rows.slice(0, Math.max(1, height - 1)).map((r) => <Line key={r.label} r={r} width={width} />)}
      <Text dimColor wrap="truncate">
        {history.length} readings over {span}s, 1/s · memory without inactive page cache (docker{"'"}s) · a limit of host size means none
        {poll.error ? ` · refresh failed: ${errorMessage(poll.error)}` : ''}
      </Text>
    </Box>
  );
}
