/* @jsxRuntime automatic */
import { Text } from 'ink';
import { memo } from 'react';
import type { ContainerSummary } from '../api.js';
import { bytes, fit, percent, shortId, uptime } from '../format.js';

export const COLUMNS = [
  { key: 'name', title: 'NAME', width: 0 },
  { key: 'id', title: 'ID', width: 12 },
  { key: 'status', title: 'STATUS', width: 12 },
  { key: 'pid', title: 'PID', width: 7 },
  { key: 'ip', title: 'IP', width: 15 },
  { key: 'uptime', title: 'UPTIME', width: 8 },
  { key: 'cpu', title: 'CPU%', width: 6 },
  { key: 'mem', title: 'MEM', width: 8 },
  { key: 'pids', title: 'PIDS', width: 5 },
] as const;

/** Width of the NAME column for a terminal `width` columns wide. */
export function nameWidth(width: number): number {
  const fixed = COLUMNS.reduce((n, c) => n + c.width + 1, 2);
  return Math.max(8, width - fixed);
}

/** `exited(137)`; an OOM kill says so: `exited(137) OOMKilled`, or `oom(137)` where space is short (the list). */
export function statusText(c: ContainerSummary, short = false): string {
  if (c.status !== 'exited' || c.exitCode === undefined) return c.status;
  if (c.oomKilled) return short ? `oom(${c.exitCode})` : `exited(${c.exitCode}) OOMKilled`;
  return `exited(${c.exitCode})`;
}

const STATUS_COLOR: Record<string, string> = { running: 'green', created: 'cyan', paused: 'yellow', exited: 'gray', dead: 'red' };

interface Props { c: ContainerSummary; selected: boolean; width: number; /** whole seconds */ now: number }

function Row({ c, selected, width, now }: Props) {
  const nw = nameWidth(width);
  const cells = [
    fit(shortId(c.id), 12), '',
    fit(c.status === 'running' ? String(c.pid) : '-', 7, 'right'), fit(c.ip ?? '-', 15),
    fit(c.status === 'running' ? uptime(c.startedAt, now * 1000) : '-', 8, 'right'),
    fit(percent(c.cpuPercent), 6, 'right'), fit(bytes(c.memoryBytes), 8, 'right'), fit(c.pids === undefined ? '-' : String(c.pids), 5, 'right'),
  ];
  return (
    <Text inverse={selected} wrap="truncate">
      {selected ? '› ' : '  '}{fit(c.name, nw)} {cells[0]} <Text color={c.oomKilled && c.status === 'exited' ? 'red' : STATUS_COLOR[c.status]}>{fit(statusText(c, true), 12)}</Text>
      {' '}{cells[2]} {cells[3]} {cells[4]} {cells[5]} {cells[6]} {cells[7]}
    </Text>
  );
}

/** Re-renders only when something it shows changed (the poller hands out new arrays every second). */
export const ContainerRow = memo(Row, (a, b) =>
  a.selected === b.selected && a.width === b.width && a.c.id === b.c.id && a.c.name === b.c.name &&
  a.c.status === b.c.status && a.c.exitCode === b.c.exitCode && a.c.oomKilled === b.c.oomKilled && a.c.pid === b.c.pid && a.c.ip === b.c.ip &&
  a.c.cpuPercent === b.c.cpuPercent && a.c.memoryBytes === b.c.memoryBytes && a.c.pids === b.c.pids && a.c.startedAt === b.c.startedAt &&
  (a.now === b.now || a.c.status !== 'running'));
