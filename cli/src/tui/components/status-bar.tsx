/* @jsxRuntime automatic */
import { Text } from 'ink';

export interface Message { kind: 'info' | 'error' | 'busy'; text: string }

/** The last line: the result of the last action, errors in red. */
export function StatusBar({ message, width }: { message?: Message; width: number }) {
  if (!message) return <Text dimColor wrap="truncate">{' '.repeat(Math.max(0, width - 1))}</Text>;
  const color = message.kind === 'error' ? 'red' : message.kind === 'busy' ? 'yellow' : 'green';
  return <Text color={color} wrap="truncate">{message.kind === 'error' ? '✗ ' : message.kind === 'busy' ? '… ' : '✓ '}{message.text}</Text>;
}
