/** `nsbox ps [-a] [-q] [--no-trunc] [--format json]`. */
import type { Command } from 'commander';
import type { ContainerState, PublishedPort } from 'nsbox';

import { reportError } from '../report-error.js';
import { ago, runtimeFor, table, withRoot, type RootFlags } from './ps-common.js';

interface PsFlags extends RootFlags {
  all?: boolean;
  quiet?: boolean;
  /** commander's `--no-trunc` */
  trunc?: boolean;
  format?: string;
}

/** docker's IMAGE column: the reference as given; a container without an image shows its root. */
export function image(s: ContainerState): string {
  return s.image?.reference ?? (s.rootfs && s.rootfs !== '/' ? s.rootfs : '(host)');
}

export function status(s: ContainerState): string {
  // A rootless container whose network helper died has lost its network: say so.
  const h = s.networkHelper;
  const lost = h && !h.running ? ` (network down: ${h.helper} ${h.exit ?? 'ended'})` : h?.egressLost ? ` (egress down: ${h.egressLost})` : '';
  switch (s.status) {
    case 'running':
      return `Up ${ago(s.startedAt)}${lost}`;
    case 'paused':
      return `Up ${ago(s.startedAt)} (Paused)`;
    case 'exited':
      // docker's ps has no mark for it; issue #11 asks that ps say an OOM kill ended the container.
      return `Exited (${s.exitCode ?? '?'}) ${ago(s.finishedAt)} ago${s.oomKilled ? ' (OOMKilled)' : ''}`;
    case 'dead':
      return s.monitorPid ? 'Dead (monitor gone)' : 'Dead';
    default:
      return s.status[0]!.toUpperCase() + s.status.slice(1);
  }
}

/** docker's PORTS (`0.0.0.0:8080->80/tcp, 127.0.0.1:9998->99/udp`): a rootless helper's or watcher's, and the endpoints'. */
export function ports(s: ContainerState): string {
  const list = [...(s.networkHelper?.ports ?? []), ...s.endpoints.flatMap((e) => (Array.isArray(e.ports) ? (e.ports as PublishedPort[]) : []))];
  const ip = (a: string | null) => (a === null ? '0.0.0.0' : a.includes(':') ? `[${a}]` : a);
  return list.map((p) => `${ip(p.hostIp)}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ');
}

/** docker's `--format` fields: `{{.ID}}`, `{{.Names}}`, `{{.Image}}`, `{{.Command}}`, `{{.CreatedAt}}`, `{{.Status}}`, `{{.State}}`, `{{.Pid}}`, `{{.Ports}}`. */
const FIELDS: Record<string, (s: ContainerState, id: string) => string> = {
  ID: (_s, id) => id,
  Names: (s) => s.name,
  Image: (s) => image(s),
  Command: (s) => JSON.stringify(s.command.join(' ')),
  CreatedAt: (s) => s.createdAt,
  Status: (s) => status(s),
  State: (s) => s.status,
  Pid: (s) => String(s.pid ?? ''),
  Ports: (s) => ports(s),
};

const PLACEHOLDER = /\{\{\s*\.(\w+)\s*\}\}/g;

function checkTemplate(format: string): void {
  for (const [all, field] of format.matchAll(PLACEHOLDER)) {
    if (!FIELDS[field!]) throw new Error(`--format: unknown field ${all} (${Object.keys(FIELDS).map((k) => `{{.${k}}}`).join(' ')})`);
  }
}

export function template(format: string, s: ContainerState, id: string): string {
  return format.replace(PLACEHOLDER, (_all, field: string) => FIELDS[field]!(s, id)).replace(/\\t/g, '\t');
}

export function addPsCommand(program: Command): void {
  withRoot(program.command('ps').description('list containers'))
    .option('-a, --all', 'show all containers (default: running ones)')
    .option('-q, --quiet', 'only ids')
    .option('--no-trunc', 'do not truncate ids and commands')
    .option('--format <FORMAT>', "'table' (default), 'json' (one object per line) or a template such as '{{.Names}}'")
    .action((flags: PsFlags) => {
      try {
        if (flags.format?.includes('{{')) checkTemplate(flags.format);
        const list = runtimeFor(flags).list({ all: flags.all === true });
        const id = (s: ContainerState) => (flags.trunc === false ? s.id : s.id.slice(0, 12));
        if (flags.quiet) process.stdout.write(list.map((s) => `${id(s)}\n`).join(''));
        else if (flags.format === 'json') process.stdout.write(list.map((s) => `${JSON.stringify(s)}\n`).join(''));
        else if (flags.format?.includes('{{')) process.stdout.write(list.map((s) => `${template(flags.format!, s, id(s))}\n`).join(''));
        else if (flags.format && flags.format !== 'table') throw new Error(`unknown --format ${JSON.stringify(flags.format)} (table or json)`);
        else {
          const cmd = (s: ContainerState) => {
            const c = JSON.stringify(s.command.join(' '));
            return flags.trunc === false || c.length <= 22 ? c : `${c.slice(0, 19)}…"`;
          };
          const rows = list.map((s) => [id(s), image(s), cmd(s), `${ago(s.createdAt)} ago`, status(s), s.status === 'running' || s.status === 'paused' ? String(s.pid ?? '') : '', s.name]);
          process.stdout.write(table([['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PID', 'NAMES'], ...rows]));
        }
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });
}
