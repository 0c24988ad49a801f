/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import type { Capabilities } from '../api.js';

export type View = 'containers' | 'detail' | 'networks' | 'namespaces' | 'host' | 'images' | 'learn';
const TABS: Array<[View, string]> = [['containers', '1 Containers'], ['networks', '2 Networks'], ['namespaces', '3 Namespaces'], ['host', '4 Host'], ['images', '5 Images'], ['learn', '6 Learn']];

/** Lines the capability notes may take at the top. */
export const MAX_REASONS = 3;

interface Props { view: View; caps?: Capabilities; detailName?: string; width: number }

/** The first line: the views, where we are, and whether we run as root. */
export function TopBar({ view, caps, detailName, width }: Props) {
  return (
    <Box flexDirection="column" width={width}>
      <Box>
        <Text bold color="magenta">nsbox </Text>
        {TABS.map(([v, label]) => (
          <Text key={v} inverse={view === v || (v === 'containers' && view === 'detail')}>
            {view === v || (v === 'containers' && view === 'detail') ? `[${label}]` : ` ${label} `}
          </Text>
        ))}
        {view === 'detail' && detailName ? <Text color="cyan"> › {detailName}</Text> : null}
        <Box flexGrow={1} />
        <Text dimColor>{caps ? (caps.root ? 'root' : 'not root') : ''} · ? keys · q quit</Text>
      </Box>
      {(caps?.reasons ?? []).slice(0, MAX_REASONS).map((r) => <Text key={r} color="yellow" wrap="truncate">⚠ {r}</Text>)}
    </Box>
  );
}
