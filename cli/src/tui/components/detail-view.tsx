/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import type { ContainerSummary, DashboardApi } from '../api.js';
import { errorMessage } from '../api.js';
import { shortId } from '../format.js';
import { LAYER, useKeys } from '../hooks/use-keys.js';
import { usePoll } from '../hooks/use-poll.js';
import { statusText } from './container-row.js';
import { InspectTab } from './inspect-tab.js';
import { LogsTab } from './logs-tab.js';
import { NamespacesTab } from './namespaces-tab.js';
import { NetworkTab } from './network-tab.js';
import { ProcessesTab } from './processes-tab.js';
import { StatsTab } from './stats-tab.js';

export const TABS = ['logs', 'namespaces', 'network', 'processes', 'stats', 'inspect'] as const;
export type DetailTab = (typeof TABS)[number];
const TITLE: Record<DetailTab, string> = { logs: 'Logs', namespaces: 'Namespaces', network: 'Network', processes: 'Processes', stats: 'Stats', inspect: 'Inspect' };

interface Props { api: DashboardApi; c: ContainerSummary; tab: DetailTab; onTab: (t: DetailTab) => void; width: number; height: number }

/** One container, in tabs. ← → and Tab switch tabs; each tab scrolls on its own. */
export function DetailView({ api, c, tab, onTab, width, height }: Props) {
  const needsInspect = tab === 'namespaces' || tab === 'network' || tab === 'inspect';
  const detail = usePoll(() => (needsInspect ? api.inspectContainer(c.id) : Promise.resolve(undefined)), 2000, `${c.id}:${needsInspect}`);
  useKeys(LAYER.view, (_input, key) => {
    const i = TABS.indexOf(tab);
    if (key.rightArrow || (key.tab && !key.shift)) { onTab(TABS[(i + 1) % TABS.length]!); return true; }
    if (key.leftArrow || (key.tab && key.shift)) { onTab(TABS[(i + TABS.length - 1) % TABS.length]!); return true; }
    return false;
  });
  const inner = Math.max(1, height - 3);
  const d = detail.data;
  let content;
  if (tab === 'logs') content = <LogsTab key={c.id} api={api} id={c.id} width={width} height={inner} />;
  else if (tab === 'processes') content = <ProcessesTab api={api} id={c.id} width={width} height={inner} />;
  else if (tab === 'stats') content = <StatsTab api={api} id={c.id} width={width} height={inner} />;
  else if (!d) content = <Text color={detail.error ? 'yellow' : undefined}>{detail.error ? errorMessage(detail.error) : 'loading…'}</Text>;
  else if (tab === 'namespaces') content = <NamespacesTab d={d} width={width} height={inner} />;
  else if (tab === 'network') content = <NetworkTab d={d} width={width} height={inner} />;
  else content = <InspectTab key={c.id} raw={d.raw} width={width} height={inner} />;
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate">
        <Text bold>{c.name}</Text> <Text dimColor>{shortId(c.id)}</Text> {statusText(c)}
        {c.pid ? <Text dimColor> pid {c.pid}</Text> : null}{c.ip ? <Text dimColor> ip {c.ip}</Text> : null}
      </Text>
      <Box>
        {TABS.map((t) => (
          <Text key={t} inverse={t === tab} color={t === tab ? 'cyan' : undefined}>{t === tab ? `[${TITLE[t]}]` : ` ${TITLE[t]} `}</Text>
        ))}
      </Box>
      {detail.error && d ? <Text color="yellow" wrap="truncate">refresh failed: {errorMessage(detail.error)}</Text> : <Text> </Text>}
      <Box flexDirection="column" height={inner} overflow="hidden">{content}</Box>
    </Box>
  );
}
