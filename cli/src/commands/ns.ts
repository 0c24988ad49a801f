/** `nsbox ns [PID]`: a process's eight namespaces beside the host's, like lsns. */
import type { Command } from 'commander';
import { NAMESPACE_KINDS, namespaces, type NamespaceIds } from 'nsbox';

import { reportError } from '../report-error.js';

interface NsFlags {
  format: string;
}

export function addNsCommand(program: Command): void {
  program
    .command('ns')
    .description("show a process's namespaces beside the host's (default: this process)")
    .argument('[PID]', 'process id')
    .option('--format <FORMAT>', 'table or json', 'table')
    .action(async (pid: string | undefined, flags: NsFlags) => {
      process.exitCode = await showNamespaces(pid, flags);
    });
}

async function showNamespaces(pidText: string | undefined, flags: NsFlags): Promise<number> {
  try {
    if (flags.format !== 'table' && flags.format !== 'json') throw new Error(`--format: expected table or json, not ${JSON.stringify(flags.format)}`);
    if (pidText !== undefined && !/^\d+$/.test(pidText)) throw new Error(`PID: ${JSON.stringify(pidText)} is not a process id`);
    const pid = pidText === undefined ? undefined : Number(pidText);
    const [mine, host] = await Promise.all([namespaces(pid), hostNamespaces()]);
    const rows = NAMESPACE_KINDS.map((kind) => ({
      kind, id: mine[kind], hostId: host.ids[kind], state: mine[kind] === host.ids[kind] ? 'shared' : 'isolated',
    }));
    if (flags.format === 'json') {
      process.stdout.write(`${JSON.stringify({ pid: pid ?? process.pid, host: host.source, namespaces: rows }, null, 2)}\n`);
    } else {
      process.stdout.write(table(rows, pid ?? process.pid, host.source));
    }
    return 0;
  } catch (err) {
    return reportError(err);
  }
}

/** The host's view is pid 1's; without permission to read it (not root), our own. */
async function hostNamespaces(): Promise<{ ids: NamespaceIds; source: string }> {
  try {
    return { ids: await namespaces(1), source: 'pid 1' };
  } catch {
    return { ids: await namespaces(), source: 'nsbox itself (pid 1 is not readable)' };
  }
}

function table(rows: Array<{ kind: string; id: number; hostId: number; state: string }>, pid: number, source: string): string {
  const head = ['NS', 'ID', 'HOST ID', 'STATE'];
  const cells = rows.map((r) => [r.kind, String(r.id), String(r.hostId), r.state]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [`pid ${pid}; host = ${source}`, line(head), ...cells.map(line), ''].join('\n');
}
