/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import { useEffect, useState } from 'react';
import { NAMESPACE_KINDS, type DashboardApi, type NamespaceKind, type NewContainerForm } from '../api.js';
import { splitCommand } from '../format.js';
import { LAYER, useKeys } from '../hooks/use-keys.js';
import { CheckboxRow, ChoiceField, TextField } from './form-fields.js';

const FIELDS = ['name', 'root', 'rootfs', 'command', 'hostname', 'network', 'namespaces', 'create'] as const;
type Field = (typeof FIELDS)[number];
type TextKey = 'name' | 'rootfs' | 'command' | 'hostname';
const ROOTS = ['host view', 'rootfs', 'image'];

interface Props { api: DashboardApi; root: boolean; onSubmit: (f: NewContainerForm) => void; onCancel: () => void }

/** `n`: a new container. ↑ ↓ Tab move, type into text fields, ← → pick, space toggles, Enter on Create. */
export function NewContainerFormView({ api, root, onSubmit, onCancel }: Props) {
  const [networks, setNetworks] = useState<string[]>(['nsbox', 'none', 'host']);
  const [text, setText] = useState<Record<TextKey, string>>({ name: '', rootfs: '', command: '', hostname: '' });
  const [rootMode, setRootMode] = useState('host view');
  const [network, setNetwork] = useState('nsbox');
  const [ns, setNs] = useState<Set<NamespaceKind>>(new Set(['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts', ...(root ? [] : ['user' as const])]));
  const [field, setField] = useState<Field>('name');
  const [cursor, setCursor] = useState(0);
  const [problem, setProblem] = useState<string>();
  useEffect(() => {
    let alive = true;
    api.listNetworks().then((l) => {
      if (!alive || !l.length) return;
      setNetworks([...l.map((n) => n.name), 'none', 'host']);
      setNetwork((cur) => (l.some((n) => n.name === cur) ? cur : l[0]!.name));
    }, () => {});
    return () => { alive = false; };
  }, [api]);

  // The rootfs field holds the image's name when the root is an image.
  const fields = FIELDS.filter((f) => f !== 'rootfs' || rootMode !== 'host view');
  const at = Math.max(0, fields.indexOf(field));
  const go = (d: number): void => setField(fields[(at + d + fields.length) % fields.length]!);
  const cycle = (opts: string[], cur: string, d: number): string => opts[(opts.indexOf(cur) + d + opts.length) % opts.length]!;
  const submit = (): void => {
    const command = splitCommand(text.command);
    if (!command.length && rootMode !== 'image') { setProblem('command is required'); setField('command'); return; }
    if (rootMode !== 'host view' && !text.rootfs.trim()) { setProblem(`${rootMode === 'image' ? 'an image' : 'rootfs path'} is required (or choose host view)`); setField('rootfs'); return; }
    if (network !== 'host' && network !== 'none' && !ns.has('net')) { setProblem(`network ${network} needs the net namespace`); setField('namespaces'); return; }
    onSubmit({
      name: text.name.trim() || undefined, rootfs: rootMode === 'rootfs' ? text.rootfs.trim() : undefined, command,
      ...(rootMode === 'image' ? { image: text.rootfs.trim() } : {}),
      hostname: text.hostname.trim() || undefined, network,
      // --network host means the host's network namespace, whatever the checkbox says.
      namespaces: NAMESPACE_KINDS.filter((k) => ns.has(k) && !(k === 'net' && network === 'host')),
    });
  };
  useKeys(LAYER.overlay, (input, key) => {
    setProblem(undefined);
    if (key.escape) onCancel();
    else if (key.upArrow || (key.tab && key.shift)) go(-1);
    else if (key.downArrow || key.tab) go(1);
    else if (key.return) { if (field === 'create') submit(); else go(1); }
    else if (field === 'root' && (key.leftArrow || key.rightArrow || input === ' ')) setRootMode(cycle(ROOTS, rootMode, key.leftArrow ? -1 : 1));
    else if (field === 'network' && (key.leftArrow || key.rightArrow || input === ' ')) setNetwork(cycle(networks, network, key.leftArrow ? -1 : 1));
    else if (field === 'namespaces' && key.leftArrow) setCursor((cursor + 7) % 8);
    else if (field === 'namespaces' && key.rightArrow) setCursor((cursor + 1) % 8);
    else if (field === 'namespaces' && input === ' ') {
      const k = NAMESPACE_KINDS[cursor]!;
      const next = new Set(ns);
      if (next.has(k)) next.delete(k); else next.add(k);
      setNs(next);
    } else if (field === 'name' || field === 'rootfs' || field === 'command' || field === 'hostname') {
      if (key.backspace || key.delete) setText({ ...text, [field]: text[field].slice(0, -1) });
      else if (key.ctrl && input === 'u') setText({ ...text, [field]: '' });
      else if (input && !key.ctrl && !key.meta && !key.leftArrow && !key.rightArrow) {
        const end = input.search(/[\r\n]/);
        setText({ ...text, [field]: text[field] + (end < 0 ? input : input.slice(0, end)) });
        if (end >= 0) go(1);
      }
    }
    return true;
  });
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="green" paddingX={1}>
      <Text bold>New container</Text>
      <TextField label="name" value={text.name} focused={field === 'name'} placeholder="(generated)" />
      <ChoiceField label="root" options={ROOTS} value={rootMode} focused={field === 'root'} />
      <TextField label={rootMode === 'image' ? 'image' : 'rootfs'} value={text.rootfs} focused={field === 'rootfs'}
        placeholder={rootMode === 'image' ? 'e.g. busybox (nsbox images)' : '/path/to/rootfs'} disabled={rootMode === 'host view'} />
      <TextField label="command" value={text.command} focused={field === 'command'} placeholder="e.g. sleep infinity" />
      <TextField label="hostname" value={text.hostname} focused={field === 'hostname'} placeholder="(the short id)" />
      <ChoiceField label="network" options={networks} value={network} focused={field === 'network'} />
      <CheckboxRow label="namespaces" options={NAMESPACE_KINDS} checked={ns} focused={field === 'namespaces'} cursor={cursor} />
      <Text>{field === 'create' ? <Text inverse color="green"> Create </Text> : <Text color="green">[ Create ]</Text>}  <Text dimColor>Esc cancels</Text></Text>
      {problem ? <Text color="red">{problem}</Text> : null}
      {!root ? <Text color="yellow">not root: the user namespace is needed for an unprivileged container</Text> : null}
    </Box>
  );
}
