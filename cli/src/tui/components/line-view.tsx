/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import { memo } from 'react';

export interface Line { text: string; color?: string; dim?: boolean; highlight?: boolean }

interface Props { lines: Line[]; offset: number; height: number; width: number }

/** Shows `height` lines from `offset`; the caller owns the scrolling. */
export const LineView = memo(function LineView({ lines, offset, height, width }: Props) {
  const shown = lines.slice(offset, offset + height);
  return (
    <Box flexDirection="column" height={height}>
      {shown.map((l, i) => (
        <Text key={offset + i} wrap="truncate" color={l.color} dimColor={l.dim} inverse={l.highlight}>
          {l.text.length > width ? l.text.slice(0, width) : l.text || ' '}
        </Text>
      ))}
    </Box>
  );
});

/** Arrow/page/home/end handling shared by the scrolling tabs; returns the new offset or undefined. */
export function scrollKey(input: string, key: { upArrow: boolean; downArrow: boolean; pageUp: boolean; pageDown: boolean; home: boolean; end: boolean },
  offset: number, height: number, count: number): number | undefined {
  const max = Math.max(0, count - height);
  const to = (n: number): number => Math.max(0, Math.min(max, n));
  if (key.upArrow) return to(offset - 1);
  if (key.downArrow) return to(offset + 1);
  if (key.pageUp) return to(offset - height);
  if (key.pageDown) return to(offset + height);
  if (key.home || input === 'g') return 0;
  if (key.end || input === 'G') return max;
  return undefined;
}
