/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import { LAYER, useKeys } from '../hooks/use-keys.js';

const KEYS: Array<[string, string]> = [
  ['1 2 3 4 5 6', 'containers · networks · namespace explorer · host (nsbox info) · images · learn'],
  ['↑ ↓ PgUp PgDn g G', 'move; in tabs: scroll'],
  ['Enter', 'container details (namespace explorer: its processes)'],
  ['Esc', 'back / close'],
  ['← → Tab', 'switch detail tab: Logs Namespaces Network Processes Stats Inspect'],
  ['/', 'filter the list; in Logs: search (] next, [ previous match)'],
  ['o  O', 'sort by next column · reverse'],
  ['f', 'Logs: follow on/off'],
  ['n', 'new container (form)'],
  ['s  k  d', 'stop · kill · remove (asks first); Images: d removes the image, p pulls one'],
  ['p', 'pause · unpause (freeze every process of the container)'],
  ['e', 'exec a shell in the container (leaves the dashboard, returns after)'],
  ['l', 'logs of the selected container'],
  ['r', 'refresh now'],
  ['Learn: ← → n p', 'step (the step left is closed) · Enter r run it · e your command in it · L English/中文'],
  ['?', 'this help'],
  ['q', 'quit (restores the terminal)'],
];

/** `?`: every key the dashboard knows. Any key closes it. */
export function HelpOverlay({ onClose }: { onClose: () => void }) {
  useKeys(LAYER.overlay, () => { onClose(); return true; });
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="cyan" paddingX={1}>
      <Text bold>Keys</Text>
      {KEYS.map(([k, what]) => (
        <Text key={k}><Text color="cyan">{k.padEnd(20)}</Text>{what}</Text>
      ))}
      <Text dimColor>any key closes this help</Text>
    </Box>
  );
}
