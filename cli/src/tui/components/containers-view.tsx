/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import { useLayoutEffect, useMemo, useRef } from 'react';
import type { ContainerSummary } from '../api.js';
import { errorMessage } from '../api.js';
import { fit, windowStart } from '../format.js';
import { LAYER, useKeys } from '../hooks/use-keys.js';
import { COLUMNS, ContainerRow, nameWidth } from './container-row.js';
import { TextInput } from './text-input.js';

export const SORT_KEYS = ['name', 'status', 'cpu', 'mem', 'pids', 'uptime', 'pid'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export interface ListState { filter: string; editing: boolean; sort: SortKey; desc: boolean }

const value = (c: ContainerSummary, k: SortKey): string | number => {
  switch (k) {
    case 'name': return c.name;
    case 'status': return c.status;
    case 'cpu': return c.cpuPercent ?? -1;
    case 'mem': return c.memoryBytes ?? -1;
    case 'pids': return c.pids ?? -1;
    case 'uptime': return c.startedAt && c.status === 'running' ? -Date.parse(c.startedAt) : -Infinity;
    case 'pid': return c.pid;
  }
};

export function visibleContainers(list: ContainerSummary[], s: ListState): ContainerSummary[] {
  const f = s.filter.toLowerCase();
  const out = f ? list.filter((c) => c.name.toLowerCase().includes(f) || c.id.startsWith(f) ||
    c.status.includes(f) || (c.ip ?? '').includes(f)) : [...list];
  out.sort((a, b) => {
    const x = value(a, s.sort);
    const y = value(b, s.sort);
    const r = x < y ? -1 : x > y ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    return s.desc ? -r : r;
  });
  return out;
}

interface Props {
  containers?: ContainerSummary[];
  error?: unknown;
  list: ListState;
  onList: (s: ListState) => void;
  selectedId?: string;
  onSelect: (id: string | undefined) => void;
  width: number;
  height: number;
  now: number;
}

export function ContainersView({ containers, error, list, onList, selectedId, onSelect, width, height, now }: Props) {
  const rows = useMemo(() => visibleContainers(containers ?? [], list), [containers, list]);
  const found = rows.findIndex((c) => c.id === selectedId);
  const sel = found >= 0 ? found : 0;
  const startRef = useRef(0);
  const bodyHeight = Math.max(1, height - 2 - (error && containers ? 1 : 0));
  const start = windowStart(sel, startRef.current, bodyHeight, rows.length);
  startRef.current = start;
  // Select the first row when nothing is selected or the selection went away; a just-created container
  // that the list has not caught up with yet stays selected.
  const first = rows[0]?.id;
  const seen = useRef(new Set<string>());
  const gone = selectedId === undefined || (found < 0 && seen.current.has(selectedId));
  useLayoutEffect(() => { seen.current = new Set((containers ?? []).map((c) => c.id)); }, [containers]);
  useLayoutEffect(() => { if (gone && first !== undefined && first !== selectedId) onSelect(first); }, [gone, first, selectedId, onSelect]);

  useKeys(LAYER.view, (input, key) => {
    const move = (to: number): true => { const c = rows[Math.max(0, Math.min(rows.length - 1, to))]; if (c) onSelect(c.id); return true; };
    if (key.upArrow) return move(sel - 1);
    if (key.downArrow) return move(sel + 1);
    if (key.pageUp) return move(sel - bodyHeight);
    if (key.pageDown) return move(sel + bodyHeight);
    if (key.home || input === 'g') return move(0);
    if (key.end || input === 'G') return move(rows.length - 1);
    if (input === '/') { onList({ ...list, editing: true }); return true; }
    if (input === 'o') { onList({ ...list, sort: SORT_KEYS[(SORT_KEYS.indexOf(list.sort) + 1) % SORT_KEYS.length]! }); return true; }
    if (input === 'O') { onList({ ...list, desc: !list.desc }); return true; }
    if (key.escape && list.filter) { onList({ ...list, filter: '' }); return true; }
    return false;
  });

  const nw = nameWidth(width);
  const arrow = list.desc ? '▼' : '▲';
  const head = COLUMNS.map((c) => {
    const t = `${c.title}${c.key === list.sort ? arrow : ''}`;
    return fit(t, c.width || nw, ['pid', 'uptime', 'cpu', 'mem', 'pids'].includes(c.key) ? 'right' : 'left');
  }).join(' ');
  const visible = rows.slice(start, start + bodyHeight);
  return (
    <Box flexDirection="column" height={height}>
      {list.editing || list.filter ? (
        <TextInput label="filter: " value={list.filter} active={list.editing}
          hint={list.editing ? '(Enter applies, Esc clears)' : `(${rows.length} shown · / edits, Esc clears)`}
          onChange={(filter) => onList({ ...list, filter })}
          onSubmit={(filter) => onList({ ...list, filter, editing: false })}
          onCancel={() => onList({ ...list, editing: false, filter: '' })} />
      ) : (
        <Text dimColor wrap="truncate">{rows.length} containers · sort {list.sort} {arrow} (o/O) · / filter · n new · ? keys</Text>
      )}
      <Text bold wrap="truncate">{'  '}{head}</Text>
      {error && !containers ? <Text color="yellow" wrap="wrap">{errorMessage(error)}</Text> : null}
      {error && containers ? <Text color="yellow" wrap="truncate">refresh failed, showing the last list: {errorMessage(error)}</Text> : null}
      {containers && rows.length === 0 ? <Text dimColor>{list.filter ? 'no container matches the filter' : 'no containers — press n to create one'}</Text> : null}
      {visible.map((c) => (
        <ContainerRow key={c.id} c={c} selected={c.id === rows[sel]?.id} width={width} now={now} />
      ))}
    </Box>
  );
}
