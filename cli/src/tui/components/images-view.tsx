/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import { useState } from 'react';
import type { DashboardApi, PullProgress } from '../api.js';
import { errorMessage } from '../api.js';
import { bytes, duration, fit, windowStart } from '../format.js';
import { LAYER, useKeys } from '../hooks/use-keys.js';
import { usePoll } from '../hooks/use-poll.js';
import { ConfirmDialog } from './confirm-dialog.js';
import { TextInput } from './text-input.js';

interface Props { api: DashboardApi; width: number; height: number; refreshMs: number; now: number }

/** One row a name, as `nsbox images` lists them. */
interface Row { name: string; repo: string; tag: string; id: string; created?: string; size: number }

function rows(images: Awaited<ReturnType<DashboardApi['listImages']>>): Row[] {
  return images.flatMap((i) => i.names.map((name) => {
    const plain = name.split('@')[0]!; // pulled by digest: no tag
    const slash = plain.lastIndexOf('/');
    const colon = plain.lastIndexOf(':');
    const [repo, tag] = colon > slash ? [plain.slice(0, colon), plain.slice(colon + 1)] : [plain, '<none>'];
    return { name, repo, tag, id: i.id.replace(/^sha256:/, '').slice(0, 12), created: i.created, size: i.size };
  }));
}

/** The progress line of a running pull: `pulling REF: 1/2 layers · 1.0MB / 2.0MB`. */
export function pullLine(ref: string, p?: PullProgress): string {
  if (!p || p.layers === 0) return `pulling ${ref}…`;
  return `pulling ${p.reference ?? ref}: ${p.done}/${p.layers} layers · ${bytes(p.current)} / ${bytes(p.total)}`;
}

/**
 * 5: the image store; d removes the selected name (asks first; `y` again forces past a container
 * using it); p asks for a reference and pulls it, one progress line while it runs (Esc cancels).
 */
export function ImagesView({ api, width, height, refreshMs, now }: Props) {
  const images = usePoll(() => api.listImages(), refreshMs, 'images');
  const [sel, setSel] = useState(0);
  const [start, setStart] = useState(0);
  const [confirm, setConfirm] = useState<{ name: string; force: boolean }>();
  const [note, setNote] = useState<{ error: boolean; text: string }>();
  const [prompt, setPrompt] = useState<string>();
  const [pulling, setPulling] = useState<{ ref: string; abort: AbortController }>();
  const list = rows(images.data ?? []);
  const i = Math.min(sel, Math.max(0, list.length - 1));
  const cur = list[i];
  const listHeight = Math.max(1, height - 3);
  const first = windowStart(i, start, listHeight, list.length);
  useKeys(LAYER.view, (input, key) => {
    if (key.upArrow) { setSel(Math.max(0, i - 1)); return true; }
    if (key.downArrow) { setSel(Math.min(list.length - 1, i + 1)); return true; }
    if (input === 'd' && cur) { setConfirm({ name: cur.name, force: false }); return true; }
    if (input === 'p' && !pulling) { setPrompt(''); return true; }
    if (key.escape && pulling) { pulling.abort.abort(); return true; }
    return false;
  }, prompt === undefined);
  const pull = (ref: string): void => {
    setPrompt(undefined);
    if (!ref.trim()) return;
    const abort = new AbortController();
    setPulling({ ref, abort });
    setNote({ error: false, text: pullLine(ref) });
    api.pullImage(ref.trim(), { signal: abort.signal, onProgress: (p) => setNote({ error: false, text: pullLine(ref, p) }) }).then(
      (r) => { setNote({ error: false, text: `pulled ${r.reference} (${r.digest})` }); images.refresh(); },
      (e: unknown) => setNote({ error: true, text: abort.signal.aborted ? `pull of ${ref} cancelled` : errorMessage(e) }),
    ).finally(() => setPulling(undefined));
  };
  const remove = (name: string, force: boolean): void => {
    setNote({ error: false, text: `removing ${name}…` });
    api.removeImage(name, { force }).then(
      () => { setNote({ error: false, text: `removed ${name}` }); images.refresh(); if (first !== start) setStart(first); },
      (e: unknown) => {
        const inUse = (e as { code?: string }).code === 'ERR_IMAGE_IN_USE';
        if (inUse && !force) setConfirm({ name, force: true });
        setNote({ error: true, text: errorMessage(e) });
      },
    );
  };
  if (!images.data) return <Text color={images.error ? 'yellow' : undefined}>{images.error ? errorMessage(images.error) : 'loading…'}</Text>;
  const age = (c?: string) => (c ? `${duration((now * 1000 - Date.parse(c)) / 1000)} ago` : '');
  return (
    <Box flexDirection="column" width={width}>
      {confirm ? (
        <ConfirmDialog question={`${confirm.force ? 'Force-remove' : 'Remove'} ${confirm.name}?`}
          detail={confirm.force ? 'A container uses it: its layers stay until that container is removed.' : 'The last name removes the image; layers nothing else uses are freed.'}
          onAnswer={(yes) => { setConfirm(undefined); if (yes) remove(confirm.name, confirm.force); }} />
      ) : null}
      <Text bold>{'  '}{fit('REPOSITORY', 36)} {fit('TAG', 12)} {fit('IMAGE ID', 12)} {fit('CREATED', 14)} SIZE</Text>
      {list.length === 0 ? <Text dimColor>  no images (nsbox load -i FILE, nsbox pull NAME)</Text> : null}
      {list.slice(first, first + listHeight).map((r, j) => (
        <Text key={r.name} inverse={first + j === i} wrap="truncate">
          {first + j === i ? '› ' : '  '}{fit(r.repo, 36)} {fit(r.tag, 12)} {fit(r.id, 12)} {fit(age(r.created), 14)} {bytes(r.size)}
        </Text>
      ))}
      {prompt !== undefined ? (
        <TextInput label="pull: " value={prompt} active onChange={setPrompt} onSubmit={pull} onCancel={() => setPrompt(undefined)}
          placeholder="alpine, 127.0.0.1:5000/team/app:1.4" hint="(Enter pulls, Esc cancels)" />
      ) : note ? <Text color={note.error ? 'red' : pulling ? 'yellow' : 'green'} wrap="truncate">{note.text}{pulling ? '  (Esc cancels)' : ''}</Text>
        : <Text dimColor>↑ ↓ select · d remove · p pull</Text>}
    </Box>
  );
}
