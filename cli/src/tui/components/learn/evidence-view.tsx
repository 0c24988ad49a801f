/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import type { Evidence, Lang } from 'nsbox';
import { fit, printable } from '../../format.js';
import { TopologyView } from './topology-view.js';

type Compare = Extract<Evidence, { kind: 'compare' }>;

/** One piece of evidence, drawn by its kind. */
export function EvidenceView({ ev, lang, width }: { ev: Evidence; lang: Lang; width: number }) {
  let body;
  if (ev.kind === 'compare') body = <CompareTable ev={ev} width={width} />;
  else if (ev.kind === 'lines') body = ev.lines.map((l, i) => <Text key={i} wrap="truncate">  {printable(l)}</Text>);
  else body = <TopologyView ev={ev} width={width} />;
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold color="cyan" wrap="truncate">▸ {ev.title[lang]}</Text>
      {body}
    </Box>
  );
}

/**
 * Two columns side by side (host | container, or box-a | box-b); the rows where they differ are the
 * claim's evidence, so they are the highlighted ones (≠), and equal rows are dimmed (=).
 */
export function CompareTable({ ev, width }: { ev: Compare; width: number }) {
  const label = Math.min(24, Math.max(5, ...ev.rows.map((r) => r.label.length)));
  const col = Math.max(8, Math.floor((width - label - 6) / 2));
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">{'  '}{fit('', label)} {fit(ev.columns[0], col)} {fit(ev.columns[1], col)}</Text>
      {ev.rows.map((r, i) => (
        <Text key={`${r.label}:${i}`} wrap="truncate" color={r.same ? undefined : 'yellow'} dimColor={r.same} bold={!r.same}>
          {r.same ? '= ' : '≠ '}{fit(r.label, label)} {fit(r.left, col)} {fit(r.right, col)}
        </Text>
      ))}
    </Box>
  );
}
