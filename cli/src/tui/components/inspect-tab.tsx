/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import { useMemo, useState } from 'react';
import { LAYER, useKeys } from '../hooks/use-keys.js';
import { securityLines } from '../security-lines.js';
import { LineView, scrollKey, type Line } from './line-view.js';

/** The container's security summary, then its JSON as `nsbox inspect` prints it, scrollable. */
export function InspectTab({ raw, width, height }: { raw: unknown; width: number; height: number }) {
  const lines = useMemo<Line[]>(() => [...securityLines(raw), ...JSON.stringify(raw, null, 2).split('\n').map((text) => ({
    text, color: /^\s*"[^"]+":/.test(text) ? undefined : 'green',
  }))], [raw]);
  const [offset, setOffset] = useState(0);
  const body = Math.max(1, height - 1);
  useKeys(LAYER.tab, (input, key) => {
    const n = scrollKey(input, key, offset, body, lines.length);
    if (n === undefined) return false;
    setOffset(n);
    return true;
  });
  return (
    <Box flexDirection="column">
      <LineView lines={lines} offset={Math.min(offset, Math.max(0, lines.length - body))} height={body} width={width} />
      <Text dimColor>lines {offset + 1}–{Math.min(lines.length, offset + body)} of {lines.length} · ↑↓ PgUp PgDn g G</Text>
    </Box>
  );
}
