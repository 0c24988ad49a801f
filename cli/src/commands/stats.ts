/**
 * `nsbox stats [CONTAINER...] [-a] [--no-stream] [--no-trunc] [--format FORMAT]`: docker's live
 * usage table (CPU %, memory, net and block I/O, pids), redrawn every second on a terminal, or one
 * sample with `--no-stream`. Read from the containers' cgroups by the library (Runtime.stats()).
 */
import type { Command } from 'commander';
import type { StatsSample } from 'nsbox';

import { reportError } from '../report-error.js';
import { runtimeFor, withRoot, type RootFlags } from './ps-common.js';
import { checkTemplate, DEFAULT_FORMAT, render, statsRow } from './stats-format.js';

interface StatsFlags extends RootFlags {
  all?: boolean;
  /** commander's `--no-stream` / `--no-trunc` */
  stream?: boolean;
  trunc?: boolean;
  format?: string;
}

/** Clear the screen and go home, as docker stats does before each redraw (on a terminal only). */
const CLEAR = '\x1b[2J\x1b[H';

export function addStatsCommand(program: Command): void {
  withRoot(program.command('stats').description("display a live stream of containers' resource usage").argument('[containers...]'))
    .option('-a, --all', 'show all containers (default: running ones)')
    .option('--no-stream', 'print one sample and exit')
    .option('--no-trunc', 'do not truncate ids')
    .option('--format <FORMAT>', "'table' (default), 'json' (one object per container per sample) or a template such as 'table {{.Name}}\\t{{.CPUPerc}}'")
    .action(async (refs: string[], flags: StatsFlags) => {
      try {
        process.exitCode = await stats(refs, flags);
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });
}

async function stats(refs: string[], flags: StatsFlags): Promise<number> {
  const format = flags.format === undefined || flags.format === 'table' ? DEFAULT_FORMAT : flags.format;
  if (format !== 'json') {
    if (!format.includes('{{')) throw new Error(`unknown --format ${JSON.stringify(format)} (table, json or a template such as '{{.Name}} {{.CPUPerc}}' or '{{json .}}')`);
    checkTemplate(format);
  }
  const rt = runtimeFor(flags);
  // Every name is checked first, docker-like: the unknown ones are reported, the others shown.
  let code = 0;
  const byId = new Map<string, string>();
  for (const ref of refs) {
    try {
      byId.set(rt.get(ref).id, ref);
    } catch (e) {
      code = reportError(e);
    }
  }
  if (refs.length && !byId.size) return code;
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const live = flags.stream !== false;
  const tty = process.stdout.isTTY === true;
  try {
    const it = rt.stats({ ...(refs.length ? { ids: [...byId.keys()] } : { all: flags.all === true }), signal: ac.signal });
    for await (const batch of it) {
      const text = show(batch, format, flags.trunc === false, byId);
      process.stdout.write(live && tty ? `${CLEAR}${text}` : text);
      if (!live) break;
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return code;
}

function show(batch: StatsSample[], format: string, noTrunc: boolean, refs: Map<string, string>): string {
  const rows = batch.map((s) => statsRow(s, { noTrunc, ...(refs.has(s.id) ? { ref: refs.get(s.id)! } : {}) }));
  if (format === 'json') return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  return render(format, rows);
}
