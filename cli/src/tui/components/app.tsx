/* @jsxRuntime automatic */
import { Box, useApp, type Key } from 'ink';
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { DashboardApi, NewContainerForm } from '../api.js';
import { useActions } from '../hooks/use-actions.js';
import { useKeyQueue } from '../hooks/use-key-queue.js';
import { KeyContext, KeyRouter } from '../hooks/use-keys.js';
import { usePoll } from '../hooks/use-poll.js';
import { useTerminalSize, type Size } from '../hooks/use-terminal-size.js';
import { ConfirmDialog } from './confirm-dialog.js';
import { ContainersView, type ListState } from './containers-view.js';
import { DetailView, TABS, type DetailTab } from './detail-view.js';
import { ErrorBoundary } from './error-boundary.js';
import { HelpOverlay } from './help-overlay.js';
import { HostView } from './host-view.js';
import { ImagesView } from './images-view.js';
import { initialLearn, LearnView, type LearnState } from './learn/learn-view.js';
import { NamespaceExplorer } from './namespace-explorer.js';
import { NetworksView } from './networks-view.js';
import { NewContainerFormView } from './new-container-form.js';
import { StatusBar, type Message } from './status-bar.js';
import { MAX_REASONS, TopBar, type View } from './top-bar.js';

export interface UiState { view: View; selectedId?: string; tab: DetailTab; list: ListState; learn?: LearnState }
export type ExitResult = { kind: 'quit' } | { kind: 'exec'; id: string; state: UiState };

export interface AppProps {
  api: DashboardApi;
  refreshMs?: number;
  size?: Partial<Size>;
  initial?: Partial<UiState>;
  /** Runs `e`. Default: api.execShell in place (tests); runTui leaves the screen instead. */
  onExec?: (id: string, state: UiState) => void;
  clock?: () => number;
  /** A message to show at start (runTui: how the last shell ended). */
  notice?: Message;
}

type Overlay = 'help' | 'form' | { remove: string } | undefined;

export function App({ api, refreshMs = 1000, size, initial, onExec, clock = Date.now, notice }: AppProps) {
  const { exit } = useApp();
  const { columns, rows } = useTerminalSize(size);
  const router = useMemo(() => new KeyRouter(), []);
  const [view, setView] = useState<View>(initial?.view ?? 'containers');
  const [selectedId, setSelectedId] = useState(initial?.selectedId);
  const [tab, setTab] = useState<DetailTab>(initial?.tab ?? 'namespaces');
  const [list, setList] = useState<ListState>(initial?.list ?? { filter: '', editing: false, sort: 'name', desc: false });
  const [learn, setLearn] = useState<LearnState>(() => initial?.learn ?? initialLearn());
  const [overlay, setOverlay] = useState<Overlay>();
  const [now, setNow] = useState(() => Math.floor(clock() / 1000));
  const containers = usePoll(() => api.listContainers(), refreshMs, 'containers');
  const caps = usePoll(() => api.capabilities(), 60_000, 'caps');
  const { message, show, run } = useActions(containers.refresh);

  useEffect(() => { if (notice) show(notice); }, [notice, show]);
  useEffect(() => { const t = setInterval(() => setNow(Math.floor(clock() / 1000)), 1000); return () => clearInterval(t); }, [clock]);
  useEffect(() => {
    const ac = new AbortController();
    void (async () => { try { for await (const _ of api.events(ac.signal)) containers.refresh(); } catch { /* polling covers it */ } })();
    return () => ac.abort();
  }, [api, containers.refresh]);

  const current = containers.data?.find((c) => c.id === selectedId);
  const state = (): UiState => ({ view, selectedId, tab, list: { ...list, editing: false }, learn });
  const act = useCallback((what: 'stop' | 'kill' | 'pause' | 'unpause' | 'remove', id: string, name: string) => {
    if (what === 'stop') void run(`stopping ${name}…`, `stopped ${name}`, () => api.stop(id));
    else if (what === 'pause') void run(`pausing ${name}…`, `paused ${name}`, () => api.pause(id));
    else if (what === 'unpause') void run(`unpausing ${name}…`, `unpaused ${name}`, () => api.unpause(id));
    else if (what === 'kill') void run(`killing ${name}…`, `killed ${name}`, () => api.kill(id, 'SIGKILL'));
    else if (what === 'remove') {
      const status = containers.data?.find((c) => c.id === id)?.status;
      const force = status === 'running' || status === 'paused';
      void run(`removing ${name}…`, `removed ${name}`, () => api.remove(id, { force })).then((ok) => { if (ok) setView((v) => (v === 'detail' ? 'containers' : v)); });
    }
  }, [api, run, containers.data]);
  const create = (form: NewContainerForm): void => {
    setOverlay(undefined);
    void run(`creating ${form.name || 'container'}…`, `created ${form.name || 'container'}`, async () => {
      const c = await api.createContainer(form);
      setSelectedId(c.id);
    });
  };

  const handleKey = (input: string, key: Key): void => {
    if (router.dispatch(input, key)) return;
    if (input === 'q') { exit({ kind: 'quit' } satisfies ExitResult); return; }
    if (input === '?') { setOverlay('help'); return; }
    if (input === 'r') { containers.refresh(); return; }
    if (input === '1') setView('containers');
    else if (input === '2') setView('networks');
    else if (input === '3') setView('namespaces');
    else if (input === '4') setView('host');
    else if (input === '5') setView('images');
    else if (input === '6') setView('learn');
    else if (key.escape) setView('containers');
    if (view !== 'containers' && view !== 'detail') return;
    if (input === 'n') { setOverlay('form'); return; }
    if (!current) return;
    if (key.return && view === 'containers') { setTab('namespaces'); setView('detail'); }
    else if (input === 'l') { setTab('logs'); setView('detail'); }
    else if (input === 's') act('stop', current.id, current.name);
    else if (input === 'k') act('kill', current.id, current.name);
    else if (input === 'p') act(current.status === 'paused' ? 'unpause' : 'pause', current.id, current.name);
    else if (input === 'd') setOverlay({ remove: current.id });
    else if (input === 'e') {
      if (current.status !== 'running') { show({ kind: 'error', text: `exec: ${current.name} is not running` }); return; }
      if (onExec) onExec(current.id, state());
      else void run(`shell in ${current.name}…`, `shell in ${current.name} ended`, () => api.execShell(current.id));
    }
  };
  useKeyQueue(handleKey);

  const top = 1 + Math.min(MAX_REASONS, caps.data?.reasons.length ?? 0);
  const statusLines = message && message.text.length + 2 > columns ? 2 : 1;
  const bodyHeight = Math.max(3, rows - 1 - top - statusLines);
  const removing = typeof overlay === 'object' ? containers.data?.find((c) => c.id === overlay.remove) : undefined;
  let body;
  if (overlay === 'help') body = <HelpOverlay onClose={() => setOverlay(undefined)} />;
  else if (overlay === 'form') body = <NewContainerFormView api={api} root={caps.data?.root ?? true} onSubmit={create} onCancel={() => setOverlay(undefined)} />;
  else if (view === 'detail' && current) body = <DetailView api={api} c={current} tab={tab} onTab={setTab} width={columns} height={bodyHeight} />;
  else if (view === 'networks') body = <NetworksView api={api} width={columns} height={bodyHeight} refreshMs={refreshMs * 2} />;
  else if (view === 'namespaces') body = <NamespaceExplorer api={api} width={columns} height={bodyHeight} refreshMs={refreshMs * 2} />;
  else if (view === 'images') body = <ImagesView api={api} width={columns} height={bodyHeight} refreshMs={refreshMs * 2} now={now} />;
  else if (view === 'learn') body = <LearnView api={api} state={learn} onState={setLearn} onMessage={show} width={columns} height={bodyHeight} />;
  else if (view === 'host') body = <HostView api={api} width={columns} height={bodyHeight} refreshMs={refreshMs * 10} />;
  else {
    body = <ContainersView containers={containers.data} error={containers.error} list={list} onList={setList}
      selectedId={selectedId} onSelect={setSelectedId} width={columns} height={bodyHeight} now={now} />;
  }
  return (
    <KeyContext.Provider value={router}>
      <Box flexDirection="column" width={columns} height={rows - 1}>
        <TopBar view={view === 'detail' && !current ? 'containers' : view} caps={caps.data} detailName={current?.name} width={columns} />
        {removing ? (
          <ConfirmDialog question={`Remove ${removing.name}?`} detail={removing.status === 'running' ? 'It is running: it will be killed first (rm -f).' : undefined}
            onAnswer={(yes) => { setOverlay(undefined); if (yes) act('remove', removing.id, removing.name); }} />
        ) : null}
        <Box flexDirection="column" height={bodyHeight - (removing ? 4 : 0)} overflow="hidden">
          <ErrorBoundary resetKey={`${view}:${tab}:${String(overlay)}`}>{body}</ErrorBoundary>
        </Box>
        <StatusBar message={message} width={columns} />
      </Box>
    </KeyContext.Provider>
  );
}
