/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import { useMemo, useRef, useState } from 'react';
import type { DashboardApi, HostNamespace } from '../api.js';
import { errorMessage } from '../api.js';
import { fit, windowStart } from '../format.js';
import { LAYER, useKeys } from '../hooks/use-keys.js';
import { usePoll } from '../hooks/use-poll.js';
import { TextInput } from './text-input.js';

interface Props { api: DashboardApi; width: number; height: number; refreshMs: number }

const matches = (n: HostNamespace, f: string): boolean =>
  !f || n.kind.includes(f) || String(n.id).includes(f) || n.command.toLowerCase().includes(f) || n.containers.some((c) => c.includes(f));

/** `host, sleeper, web`: the host (yellow) first, then the containers (green), comma-separated. */
function UsedBy({ n }: { n: HostNamespace }) {
  const users: Array<[string, string]> = [...(n.isHost ? [['host', 'yellow'] as [string, string]] : []), ...n.containers.map((c): [string, string] => [c, 'green'])];
  return <>{users.map(([name, color], i) => <Text key={name}>{i ? ', ' : ''}<Text color={color}>{name}</Text></Text>)}</>;
}

/** Every namespace on the host, like lsns; Enter lists its processes. */
export function NamespaceExplorer({ api, width, height, refreshMs }: Props) {
  const all = usePoll(() => api.hostNamespaces(), refreshMs, 'ns');
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState(false);
  const [selKey, setSelKey] = useState<string>();
  const [open, setOpen] = useState<string>();
  const startRef = useRef(0);
  const list = useMemo(() => (all.data ?? []).filter((n) => matches(n, filter.toLowerCase())), [all.data, filter]);
  const keyOf = (n: HostNamespace): string => `${n.kind}:${n.id}`;
  const found = list.findIndex((n) => keyOf(n) === selKey);
  const sel = Math.max(0, found);
  const opened = open ? list.find((n) => keyOf(n) === open) ?? all.data?.find((n) => keyOf(n) === open) : undefined;
  const body = Math.max(1, height - 3);
  useKeys(LAYER.view, (input, key) => {
    if (opened) {
      if (key.escape || key.return) { setOpen(undefined); return true; }
      return false;
    }
    const move = (to: number): true => { const n = list[Math.max(0, Math.min(list.length - 1, to))]; if (n) setSelKey(keyOf(n)); return true; };
    if (key.upArrow) return move(sel - 1);
    if (key.downArrow) return move(sel + 1);
    if (key.pageUp) return move(sel - body);
    if (key.pageDown) return move(sel + body);
    if (input === 'g') return move(0);
    if (input === 'G') return move(list.length - 1);
    if (input === '/') { setEditing(true); return true; }
    if (key.return && list[sel]) { setOpen(keyOf(list[sel]!)); return true; }
    if (key.escape && filter) { setFilter(''); return true; }
    return false;
  });
  if (!all.data) return <Text color={all.error ? 'yellow' : undefined}>{all.error ? errorMessage(all.error) : 'scanning /proc…'}</Text>;
  if (opened) {
    return (
      <Box flexDirection="column">
        <Text bold>{opened.kind} namespace {opened.id} · {opened.nprocs} processes{opened.containers.length ? ` · ${opened.containers.join(', ')}` : ''} · Esc back</Text>
        <Text bold>{fit('PID', 8, 'right')} COMMAND</Text>
        {opened.processes.slice(0, body).map((p) => <Text key={p.pid} wrap="truncate">{fit(String(p.pid), 8, 'right')} {p.command}</Text>)}
        {opened.processes.length > body ? <Text dimColor>… {opened.processes.length - body} more</Text> : null}
      </Box>
    );
  }
  const start = windowStart(sel, startRef.current, body, list.length);
  startRef.current = start;
  const cmdWidth = Math.max(10, width - 68);
  return (
    <Box flexDirection="column">
      {editing || filter ? (
        <TextInput label="filter: " value={filter} active={editing} onChange={setFilter}
          hint={editing ? '(Enter applies, Esc clears)' : `(${list.length} shown · / edits, Esc clears)`}
          onSubmit={(v) => { setFilter(v); setEditing(false); }} onCancel={() => { setEditing(false); setFilter(''); }} />
      ) : <Text dimColor wrap="truncate">{list.length} namespaces · owner = user ns of the lowest pid (heuristic) · / filter · Enter processes</Text>}
      <Text bold>{'  '}{fit('KIND', 7)} {fit('ID', 11)} {fit('NPROCS', 6, 'right')} {fit('OWNER', 11)} {fit('PID', 7, 'right')} {fit('COMMAND', cmdWidth)} USED BY</Text>
      {list.slice(start, start + body).map((n, j) => (
        <Text key={keyOf(n)} inverse={start + j === sel} wrap="truncate">
          {start + j === sel ? '› ' : '  '}{fit(n.kind, 7)} {fit(String(n.id), 11)} {fit(String(n.nprocs), 6, 'right')} {fit(n.ownerUserNs === undefined ? '-' : String(n.ownerUserNs), 11)} {fit(String(n.pid), 7, 'right')} {fit(n.command, cmdWidth)}{' '}
          <UsedBy n={n} />
        </Text>
      ))}
    </Box>
  );
}
