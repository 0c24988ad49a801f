/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import { Component, type ReactNode } from 'react';
import { errorMessage } from '../api.js';

interface Props { resetKey: string; children: ReactNode }
interface State { error?: unknown; key: string }

/** A view that throws while rendering shows its error here instead of taking the dashboard down. */
export class ErrorBoundary extends Component<Props, State> {
  override state: State = { key: this.props.resetKey };
  static getDerivedStateFromError(error: unknown): Partial<State> { return { error }; }
  static getDerivedStateFromProps(p: Props, s: State): Partial<State> | null {
    return p.resetKey !== s.key ? { key: p.resetKey, error: undefined } : null;
  }
  override render(): ReactNode {
    if (this.state.error === undefined) return this.props.children;
    return (
      <Box flexDirection="column">
        <Text color="red">This view failed: {errorMessage(this.state.error)}</Text>
        <Text dimColor>Esc goes back; the rest of the dashboard still works.</Text>
      </Box>
    );
  }
}
