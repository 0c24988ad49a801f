/** `nsbox events [--since T] [--until T] [--filter K=V]... [--format json|TEMPLATE]`: docker's events. */
import type { Command } from 'commander';

import { reportError } from '../../report-error.js';
import { runtimeFor, withRoot, type RootFlags } from '../ps-common.js';
import { checkTemplate, line, matches, parseFilters, parseTime, template, toDocker, toJson } from './docker.js';

interface EventsFlags extends RootFlags {
  since?: string;
  until?: string;
  filter: string[];
  format?: string;
}

const SAMPLE = toDocker({ type: 'start', time: '1970-01-01T00:00:00Z', id: 'x', name: 'x' });

async function stream(flags: EventsFlags): Promise<void> {
  const since = flags.since === undefined ? undefined : parseTime('--since', flags.since);
  const until = flags.until === undefined ? undefined : parseTime('--until', flags.until);
  const filters = parseFilters(flags.filter);
  const format = flags.format;
  if (format?.includes('{{')) checkTemplate(format, SAMPLE);
  else if (format !== undefined && format !== 'json') throw new Error(`--format: unknown format ${JSON.stringify(format)} (json, or a template such as '{{.Action}} {{.Actor.Attributes.name}}')`);
  // Followed until SIGINT (or until --until has passed): then the command ends with status 0.
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for await (const e of runtimeFor(flags).events({ since, until, signal: ac.signal })) {
      const d = toDocker(e);
      if (!matches(filters, e, d)) continue;
      const out = format === 'json' ? toJson(d) : format ? template(format, d) : line(e, d);
      process.stdout.write(`${out}\n`);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export function addEventsCommand(program: Command): void {
  withRoot(program.command('events').description('stream container events (create, start, oom, kill, pause, unpause, die, destroy)'))
    .option('--since <TIME>', 'events from this time: RFC 3339, Unix seconds, or a duration before now (10m)')
    .option('--until <TIME>', 'events before this time; in the past, print them and exit')
    .option('-f, --filter <KEY=VALUE>', 'container=NAME|ID, event=ACTION, type=container (repeatable)', (v: string, all: string[]) => [...all, v], [])
    .option('--format <FORMAT>', "'json' (one object per line) or a template such as '{{.Action}} {{.Actor.Attributes.name}}'")
    .action(async (flags: EventsFlags) => {
      try {
        await stream(flags);
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });
}
