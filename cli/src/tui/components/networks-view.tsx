/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import { useState } from 'react';
import type { DashboardApi } from '../api.js';
import { errorMessage } from '../api.js';
import { fit } from '../format.js';
import { LAYER, useKeys } from '../hooks/use-keys.js';
import { usePoll } from '../hooks/use-poll.js';

interface Props { api: DashboardApi; width: number; height: number; refreshMs: number }

/** Every network, and the selected one's topology: bridge (gateway) → veth → container eth0. */
export function NetworksView({ api, width, height, refreshMs }: Props) {
  const nets = usePoll(() => api.listNetworks(), refreshMs, 'networks');
  const [sel, setSel] = useState(0);
  const [scroll, setScroll] = useState(0);
  const list = nets.data ?? [];
  const i = Math.min(sel, Math.max(0, list.length - 1));
  const n = list[i];
  const listHeight = Math.min(list.length, Math.max(1, Math.floor(height / 3)));
  const topoHeight = Math.max(1, height - listHeight - 4);
  const eps = n?.endpoints ?? [];
  const maxScroll = Math.max(0, eps.length - topoHeight);
  useKeys(LAYER.view, (_input, key) => {
    if (key.upArrow) { setSel(Math.max(0, i - 1)); setScroll(0); return true; }
    if (key.downArrow) { setSel(Math.min(list.length - 1, i + 1)); setScroll(0); return true; }
    if (key.pageDown) { setScroll(Math.min(maxScroll, scroll + topoHeight)); return true; }
    if (key.pageUp) { setScroll(Math.max(0, scroll - topoHeight)); return true; }
    return false;
  });
  if (!nets.data) return <Text color={nets.error ? 'yellow' : undefined}>{nets.error ? errorMessage(nets.error) : 'loading…'}</Text>;
  if (!n) return <Text dimColor>no networks</Text>;
  const first = Math.max(0, Math.min(i - listHeight + 1, list.length - listHeight));
  const s = Math.min(scroll, maxScroll);
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>{'  '}{fit('NETWORK', 16)} {fit('SUBNET', 18)} {fit('GATEWAY', 15)} {fit('BRIDGE', 15)} ENDPOINTS</Text>
      {list.slice(first, first + listHeight).map((x, j) => (
        <Text key={x.name} inverse={first + j === i} wrap="truncate">
          {first + j === i ? '› ' : '  '}{fit(x.name, 16)} {fit(x.subnet, 18)} {fit(x.gateway, 15)} {fit(x.bridge, 15)} {x.endpoints.length}{x.internal ? ' internal' : ''}{x.rootless ? ' rootless' : ''}
        </Text>
      ))}
      <Text> </Text>
      <Text wrap="truncate"><Text color="blue" bold>{n.bridge}</Text> ({n.gateway}) {n.subnet} · {n.rootless ? 'your rootless network namespace (holder)' : 'host network namespace'}</Text>
      {eps.length === 0 ? <Text dimColor>└─ no endpoints</Text> : null}
      {eps.slice(s, s + topoHeight).map((e, j) => (
        <Text key={e.hostVeth} wrap="truncate">
          {s + j === eps.length - 1 ? '└─' : '├─'} <Text color="magenta">{fit(e.hostVeth, 15)}</Text> ═veth═ <Text color="green">{fit(e.containerName, 16)}</Text> {e.containerIf} {fit(e.address, 18)} <Text dimColor>{e.mac}</Text>
        </Text>
      ))}
      {eps.length > topoHeight ? <Text dimColor>{s + 1}–{Math.min(eps.length, s + topoHeight)} of {eps.length} endpoints · PgUp PgDn</Text> : null}
    </Box>
  );
}
