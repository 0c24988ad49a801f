/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import type { ClaimId, Lang, LearnStep, Support } from 'nsbox';
import { memo } from 'react';

export type Mark = 'shown' | 'failed' | 'error';

interface Props {
  steps: LearnStep[];
  current: ClaimId;
  lang: Lang;
  marks: Partial<Record<ClaimId, Mark>>;
  support: Partial<Record<ClaimId, Support>>;
  running: boolean;
  width: number;
  height: number;
}

/** What the list shows before a step's title: its last result, or that this host cannot show it. */
export function markOf(id: ClaimId, marks: Props['marks'], support: Props['support'], running: boolean): [string, string | undefined] {
  if (running) return ['…', 'yellow'];
  const m = marks[id];
  if (m === 'shown') return ['✓', 'green'];
  if (m === 'failed') return ['✗', 'red'];
  if (m === 'error') return ['!', 'red'];
  if (support[id]?.ok === false) return ['–', 'yellow'];
  return ['·', undefined];
}

/** S1 … S15 with a mark each: ✓ shown, ✗ not shown, ! failed to run, – not supported here, · not run yet. */
export const StepList = memo(function StepList({ steps, current, lang, marks, support, running, width, height }: Props) {
  const at = Math.max(0, steps.findIndex((s) => s.id === current));
  const first = Math.max(0, Math.min(at - Math.floor(height / 2), steps.length - height));
  return (
    <Box flexDirection="column" width={width} flexShrink={0}>
      {steps.slice(first, first + height).map((s) => {
        const [mark, color] = markOf(s.id, marks, support, running && s.id === current);
        const here = s.id === current;
        return (
          <Text key={s.id} wrap="truncate" inverse={here}>
            {here ? '›' : ' '}{s.id.padEnd(4)}<Text color={color}>{mark}</Text>{width > 12 ? ` ${s.title[lang]}` : ''}
          </Text>
        );
      })}
    </Box>
  );
});
