/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import { useMemo, useState } from 'react';
import type { DashboardApi } from '../api.js';
import { errorMessage } from '../api.js';
import { formatHostInfo } from '../../host-info-lines.js';
import { LAYER, useKeys } from '../hooks/use-keys.js';
import { usePoll } from '../hooks/use-poll.js';
import { LineView, scrollKey, type Line } from './line-view.js';

interface Props { api: DashboardApi; width: number; height: number; refreshMs: number }

/** `4`: what `nsbox info` prints — versions, kernel features, roots, counts — with the missing features' remedies in yellow. */
export function HostView({ api, width, height, refreshMs }: Props) {
  const info = usePoll(() => api.hostInfo(), refreshMs, 'host');
  const [offset, setOffset] = useState(0);
  const lines = useMemo<Line[]>(() => (info.data ? formatHostInfo(info.data).map((text) => ({
    text,
    color: text.startsWith('WARNING') ? 'yellow' : text.startsWith('ERROR') ? 'red' : /^\S/.test(text) ? 'cyan' : undefined,
  })) : []), [info.data]);
  const body = Math.max(1, height - 1);
  useKeys(LAYER.view, (input, key) => {
    const to = scrollKey(input, key, offset, body, lines.length);
    if (to === undefined) return false;
    setOffset(to);
    return true;
  });
  if (!info.data) return <Text color={info.error ? 'yellow' : undefined}>{info.error ? errorMessage(info.error) : 'reading the host…'}</Text>;
  const missing = info.data.features.filter((f) => !f.ok).length;
  const at = Math.min(offset, Math.max(0, lines.length - body));
  return (
    <Box flexDirection="column" width={width}>
      <Text dimColor wrap="truncate">
        {missing ? `${missing} feature${missing === 1 ? '' : 's'} missing (WARNING lines, with the remedy)` : 'every feature nsbox uses is here'} · what `nsbox info` prints · ↑ ↓ PgUp PgDn scroll
      </Text>
      <LineView lines={lines} offset={at} height={body} width={width} />
    </Box>
  );
}
