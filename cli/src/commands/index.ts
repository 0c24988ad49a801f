/**
 * Every command, in the order `nsbox --help` lists them. main.ts registers only the one a command line
 * names (defining all of them is a few ms of commander's time); help, `help CMD`, a typo or an alias
 * gets them all.
 */
import type { Command } from 'commander';

import { addAttachCommand } from './attach.js';
import { addCompletionCommand } from './completion.js';
import { addCreateCommand, addStartCommand } from './create.js';
import { addEventsCommand } from './events/index.js';
import { addExecCommand } from './exec.js';
import { addImageCommand, addImagesCommand, addLoadCommand, addRmiCommand, addSaveCommand, addTagCommand } from './images.js';
import { addInfoCommand } from './info.js';
import { addInspectCommand } from './inspect.js';
import { addLoginCommands } from './login.js';
import { addLearnCommand } from './learn.js';
import { addLogsCommand } from './logs.js';
import { addNetworkCommand } from './network.js';
import { addNsCommand } from './ns.js';
import { addPauseCommands } from './pause.js';
import { addPsCommand } from './ps.js';
import { addPullCommand, addPushCommand } from './pull.js';
import { addRmCommand } from './rm.js';
import { addDetachFlags } from './run-detached.js';
import { addRunCommand } from './run.js';
import { addKillCommand, addStopCommand, addWaitCommand } from './stop.js';
import { addStatsCommand } from './stats.js';
import { addTopCommand } from './top.js';
import { addTuiCommand } from './tui.js';
import { addUpdateCommand } from './update.js';

export interface CommandEntry {
  names: string[];
  add(program: Command): void;
  /** Commands it builds on, defined first (create copies run's flags). */
  needs?: string[];
  /** Needs every other command defined (completion reads them all). */
  all?: boolean;
}

export const COMMANDS: CommandEntry[] = [
  { names: ['run'], add: (p) => { addRunCommand(p); addDetachFlags(p); } },
  { names: ['ns'], add: addNsCommand },
  { names: ['network'], add: addNetworkCommand },
  { names: ['tui'], add: addTuiCommand },
  { names: ['learn'], add: addLearnCommand },
  { names: ['info'], add: addInfoCommand },
  { names: ['ps'], add: addPsCommand },
  { names: ['logs'], add: addLogsCommand },
  { names: ['exec'], add: addExecCommand },
  { names: ['top'], add: addTopCommand },
  { names: ['stats'], add: addStatsCommand },
  { names: ['inspect'], add: addInspectCommand },
  { names: ['events'], add: addEventsCommand },
  { names: ['stop'], add: addStopCommand },
  { names: ['kill'], add: addKillCommand },
  { names: ['wait'], add: addWaitCommand },
  { names: ['pause', 'unpause'], add: addPauseCommands },
  { names: ['update'], add: addUpdateCommand },
  { names: ['rm'], add: addRmCommand },
  { names: ['attach'], add: addAttachCommand },
  { names: ['create'], add: addCreateCommand, needs: ['run'] },
  { names: ['start'], add: addStartCommand },
  { names: ['pull'], add: addPullCommand },
  { names: ['push'], add: addPushCommand },
  { names: ['login', 'logout'], add: addLoginCommands },
  { names: ['images'], add: addImagesCommand },
  { names: ['image'], add: addImageCommand },
  { names: ['rmi'], add: addRmiCommand },
  { names: ['tag'], add: addTagCommand },
  { names: ['load'], add: addLoadCommand },
  { names: ['save'], add: addSaveCommand },
  { names: ['completion'], add: addCompletionCommand, all: true },
];

/** Registers what `argv` (without node and script) needs: its command's entry, none for --version, else all. */
export function addCommands(program: Command, argv: string[]): void {
  const first = argv[0];
  if (first === '-V' || first === '--version') return;
  const entry = COMMANDS.find((c) => first !== undefined && c.names.includes(first));
  if (!entry || entry.all) {
    for (const c of COMMANDS) c.add(program);
    return;
  }
  for (const c of COMMANDS) if (c === entry || entry.needs?.some((n) => c.names.includes(n))) c.add(program);
}
