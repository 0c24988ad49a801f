/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import { useEffect, useMemo, useState } from 'react';
import type { DashboardApi, LogLine } from '../api.js';
import { errorMessage } from '../api.js';
import { LAYER, useKeys } from '../hooks/use-keys.js';
import { LineView, scrollKey, type Line } from './line-view.js';
import { TextInput } from './text-input.js';

const MAX_LINES = 10_000;

/** Streams the log (batched every 100 ms), follows the end until you scroll; `/` searches, ] [ jump. */
export function LogsTab({ api, id, width, height }: { api: DashboardApi; id: string; width: number; height: number }) {
  const [logs, setLogs] = useState<LogLine[]>([]);
  const [error, setError] = useState<unknown>();
  const [follow, setFollow] = useState(true);
  const [offset, setOffset] = useState(0);
  const [query, setQuery] = useState('');
  const [editing, setEditing] = useState(false);
  const [jumpToLast, setJumpToLast] = useState(false);
  useEffect(() => {
    const ac = new AbortController();
    let pending: LogLine[] = [];
    const flush = setInterval(() => {
      if (!pending.length) return;
      const add = pending;
      pending = [];
      setLogs((l) => { const all = l.concat(add); return all.length > MAX_LINES ? all.slice(-MAX_LINES) : all; });
    }, 100);
    void (async () => {
      try { for await (const l of api.logs(id, { follow: true, signal: ac.signal })) { if (ac.signal.aborted) break; pending.push(l); } }
      catch (e) { if (!ac.signal.aborted) setError(e); }
    })();
    return () => { ac.abort(); clearInterval(flush); };
  }, [api, id]);

  const body = Math.max(1, height - 2);
  const q = query.toLowerCase();
  const lines = useMemo<Line[]>(() => logs.map((l) => ({
    text: `${l.time.slice(11, 19)} ${l.line}`, color: l.stream === 'stderr' ? 'red' : undefined,
    highlight: q !== '' && l.line.toLowerCase().includes(q),
  })), [logs, q]);
  const matches = useMemo(() => lines.flatMap((l, i) => (l.highlight ? [i] : [])), [lines]);
  const max = Math.max(0, lines.length - body);
  const shownOffset = follow ? max : Math.min(offset, max);
  const jump = (dir: 1 | -1): void => {
    const center = shownOffset + Math.floor(body / 2);
    const m = dir > 0 ? matches.find((i) => i > center) : [...matches].reverse().find((i) => i < center);
    if (m !== undefined) { setFollow(false); setOffset(Math.max(0, Math.min(max, m - Math.floor(body / 2)))); }
  };
  const toLast = (): void => {
    const m = matches[matches.length - 1];
    if (m !== undefined) { setFollow(false); setOffset(Math.max(0, Math.min(max, m - Math.floor(body / 2)))); }
  };
  // After a search is submitted, once its matches are computed: show the last one.
  useEffect(() => { if (jumpToLast) { setJumpToLast(false); toLast(); } });
  useKeys(LAYER.tab, (input, key) => {
    if (input === 'f') { setFollow(!follow); return true; }
    if (input === '/') { setEditing(true); return true; }
    if (input === ']') { jump(1); return true; }
    if (input === '[') { jump(-1); return true; }
    if (key.escape && query) { setQuery(''); return true; }
    const n = scrollKey(input, key, shownOffset, body, lines.length);
    if (n === undefined) return false;
    setOffset(n);
    setFollow(n >= max);
    return true;
  });
  return (
    <Box flexDirection="column">
      {error ? <Text color="yellow">{errorMessage(error)}</Text> : null}
      <LineView lines={lines} offset={shownOffset} height={body} width={width} />
      {editing ? (
        <TextInput label="search: " value={query} active onChange={setQuery} hint="(Enter finds, Esc cancels)"
          onSubmit={(v) => { setQuery(v); setEditing(false); setJumpToLast(true); }} onCancel={() => { setEditing(false); setQuery(''); }} />
      ) : (
        <Text dimColor wrap="truncate">
          {follow ? <Text color="green">following</Text> : 'paused'} · {lines.length} lines
          {query ? ` · "${query}": ${matches.length} matches (] next, [ previous)` : ''} · f follow · / search
        </Text>
      )}
    </Box>
  );
}
