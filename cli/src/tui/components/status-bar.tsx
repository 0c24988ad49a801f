/* @jsxRuntime automatic */
import { Box, Text } from 'ink';

export interface Message { kind: 'info' | 'error' | 'busy'; text: string }

/** The last line (two for a long message): the result of the last action, errors in red. */
export function StatusBar({ message, width }: { message?: Message; width: number }) {
  if (!message) return <Text dimColor wrap="truncate">{' '.repeat(Math.max(0, width - 1))}</Text>;
  const color = message.kind === 'error' ? 'red' : message.kind === 'busy' ? 'yellow' : 'green';
  const text = `${message.kind === 'error' ? '✗ ' : message.kind === 'busy' ? '… ' : '✓ '}${message.text}`;
  // Up to two lines (App reserves them), then truncated.
  const cut = text.length > 2 * width ? `${text.slice(0, 2 * width - 1)}…` : text;
  return <Box width={width}><Text color={color} wrap="wrap">{cut}</Text></Box>;
}
