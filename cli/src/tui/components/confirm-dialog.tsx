/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import { LAYER, useKeys } from '../hooks/use-keys.js';

interface Props { question: string; detail?: string; onAnswer: (yes: boolean) => void }

/** y confirms; n, Esc or anything else cancels. */
export function ConfirmDialog({ question, detail, onAnswer }: Props) {
  useKeys(LAYER.overlay, (input) => { onAnswer(input === 'y' || input === 'Y'); return true; });
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="red" paddingX={1}>
      <Text bold>{question} <Text color="red">[y/N]</Text></Text>
      {detail ? <Text dimColor>{detail}</Text> : null}
    </Box>
  );
}
