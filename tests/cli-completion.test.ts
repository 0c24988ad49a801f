// `nsbox completion bash|zsh`, driven the way the shells drive it, and the help examples.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import test from 'ava';
import { Command } from 'commander';

import { COMMANDS } from '../cli/src/commands/index.js';
import { EXAMPLES } from '../cli/src/help-examples.js';
import { CLI, REPO, runCli } from './helpers/cli.js';
import { needsRoot } from './helpers/privileged.js';
import { Terminal } from './tui/e2e-terminal.js';

const exec = promisify(execFile);

/** A state root with containers `web` and `sleeper` and networks `blue` and `red`, and an `nsbox` on PATH for it. */
let fixture: Promise<{ dir: string; env: NodeJS.ProcessEnv }> | undefined;
function setup(): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  fixture ??= (async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nsbox-completion-'));
    const bin = path.join(dir, 'bin');
    execFileSync('mkdir', [bin]);
    writeFileSync(path.join(bin, 'nsbox'), `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`);
    chmodSync(path.join(bin, 'nsbox'), 0o755);
    const env = { ...process.env, NSBOX_ROOT: path.join(dir, 'state'), PATH: `${bin}:${process.env.PATH}` };
    for (const name of ['web', 'sleeper']) await exec(process.execPath, [CLI, 'create', '--name', name, '--', '/bin/true'], { env });
    // Networks are made in a throwaway network namespace: their records stay in the state root, the bridges die with it.
    await exec('unshare', ['--net', '--mount', '--propagation', 'private', 'sh', '-c',
      `${process.execPath} ${CLI} network create blue --subnet 10.231.1.0/24 && ${process.execPath} ${CLI} network create red --subnet 10.231.2.0/24`], { env });
    return { dir, env };
  })();
  return fixture;
}

test.after.always(async () => {
  if (!fixture) return;
  const { dir, env } = await fixture;
  await exec(process.execPath, [CLI, 'rm', '-f', 'web', 'sleeper'], { env }).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `_nsbox` for each command line (the last word is the one being completed); returns the sorted candidates per line. */
async function bashComplete(env: NodeJS.ProcessEnv, lines: string[][]): Promise<string[][]> {
  const script = [
    'source <(nsbox completion bash)',
    'comp() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _nsbox; printf "%s\\n" "${COMPREPLY[@]}" | sort | tr "\\n" " "; echo; }',
    ...lines.map((l) => `comp ${l.map((w) => `'${w}'`).join(' ')}`),
  ].join('\n');
  const { stdout, stderr } = await exec('bash', ['-c', script], { env, cwd: REPO });
  if (stderr) throw new Error(`bash said: ${stderr}`);
  return stdout.split('\n').slice(0, lines.length).map((l) => l.trim().split(' ').filter(Boolean));
}

test('bash: commands, flags, container names, network names, choices and the command after -- ', async (t) => {
  if (!needsRoot(t)) return;
  const { env } = await setup();
  const [top, ex, containers, netFlag, netRm, netSub, psFlags, shells, afterDashDash, afterCtr, root] = await bashComplete(env, [
    ['nsbox', ''],
    ['nsbox', 'ex'],
    ['nsbox', 'stop', 'web', ''],
    ['nsbox', 'run', '--rm', '--network', ''],
    ['nsbox', 'network', 'rm', ''],
    ['nsbox', 'network', 'l'],
    ['nsbox', 'ps', '--'],
    ['nsbox', 'completion', ''],
    ['nsbox', 'run', '-h', 'box', '--', 'hostnam'],
    ['nsbox', 'exec', 'web', 'hostnam'],
    ['nsbox', 'rm', '--root', '/nonexistent', ''],
  ]);
  for (const c of ['run', 'ps', 'exec', 'network', 'info', 'completion', 'tui']) t.true(top!.includes(c), c);
  t.deepEqual(ex, ['exec']);
  t.deepEqual(containers, ['sleeper', 'web'], 'stop takes several containers');
  t.deepEqual(netFlag, ['blue', 'red']);
  t.deepEqual(netRm, ['blue', 'red']);
  t.deepEqual(netSub, ['list', 'ls']);
  t.deepEqual(psFlags, ['--all', '--format', '--help', '--no-trunc', '--quiet', '--root']);
  t.deepEqual(shells, ['bash', 'zsh']);
  t.true(afterDashDash!.includes('hostname') && afterDashDash!.every((c) => c.startsWith('hostnam')), 'the container command completes from PATH');
  t.true(afterCtr!.includes('hostname') && afterCtr!.every((c) => c.startsWith('hostnam')));
  t.deepEqual(root, [], '--root on the line is the state root asked (an empty one here)');
});

test('the names completion reads: ps --format {{.Names}} and network ls -q', async (t) => {
  if (!needsRoot(t)) return;
  const { env } = await setup();
  const ps = await runCli(['ps', '-a', '--format', '{{.Names}}'], { env });
  t.deepEqual(ps.stdout.split('\n').filter(Boolean).sort(), ['sleeper', 'web']);
  const tpl = await runCli(['ps', '-a', '--format', '{{.Names}}\\t{{.State}}'], { env });
  t.true(tpl.stdout.split('\n').includes('web\tcreated'), tpl.stdout);
  t.regex((await runCli(['ps', '--format', '{{.Nope}}'], { env })).stderr, /unknown field \{\{\.Nope\}\}/);
  const ids = async (...flags: string[]) => (await runCli(['ps', '-a', '-q', ...flags], { env })).stdout.split('\n').filter(Boolean);
  t.true((await ids()).every((id) => id.length === 12));
  t.true((await ids('--no-trunc')).every((id) => id.length > 12), '--no-trunc shows whole ids');
  t.deepEqual((await runCli(['network', 'ls', '-q'], { env })).stdout, 'blue\nred\n');
});

test('zsh: in a real terminal, Tab completes commands, container names, network names and flags', async (t) => {
  if (!needsRoot(t)) return;
  const { dir, env } = await setup();
  const r = await runCli(['completion', 'zsh']);
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.startsWith('#compdef nsbox\n'));
  writeFileSync(path.join(dir, '_nsbox'), r.stdout);
  await exec('zsh', ['-n', path.join(dir, '_nsbox')]);
  writeFileSync(path.join(dir, '.zshrc'), `autoload -U compinit && compinit -u -d ${dir}/zcompdump\nsource ${dir}/_nsbox\nPS1='%% '\n`);
  const term = Terminal.open(`nsbox-zsh-${process.pid}`, `env HOME=${dir} ZDOTDIR=${dir} NSBOX_ROOT=${env.NSBOX_ROOT} PATH=${env.PATH} zsh -i`);
  t.teardown(() => term.close());
  await term.waitFor((s) => s.includes('%'), 'the prompt');
  const tab = async (line: string, want: RegExp): Promise<void> => {
    term.keys('C-u');
    term.text(line);
    term.keys('Tab');
    t.regex(await term.waitFor((s) => want.test(s), `${line}<Tab> → ${want}`, 10_000), want);
  };
  await tab('nsbox st', /start\s+-- start created containers\n.*stats\s+-- display a live stream.*\n.*stop\s+-- stop containers/);
  await tab('nsbox stop ', /^sleeper\s+web$/m);
  await tab('nsbox run --rm --network ', /nsbox run --rm --network blue red|^blue\s+red$/m);
  await tab('nsbox network rm r', /nsbox network rm red/);
  await tab('nsbox exec web hostnam', /nsbox exec web hostname/);
  await tab('nsbox ps --no-', /nsbox ps --no-trunc/);
  await tab('nsbox completion ', /^bash\s+zsh$/m);
});

/** Every command path, from the CLI's own definitions. */
function paths(): string[] {
  const program = new Command('nsbox').enablePositionalOptions();
  for (const c of COMMANDS) c.add(program);
  const out = [''];
  const walk = (cmd: Command, p: string[]): void => {
    for (const c of cmd.commands) { out.push([...p, c.name()].join(' ')); walk(c, [...p, c.name()]); }
  };
  walk(program, []);
  return out;
}

test('every command\'s --help ends with one example', async (t) => {
  const all = paths();
  t.deepEqual(Object.keys(EXAMPLES).sort(), [...all].sort(), 'one example per command, none for a command that is gone');
  const helps = await Promise.all(all.map((p) => runCli([...p.split(' ').filter(Boolean), '--help'])));
  all.forEach((p, i) => {
    t.is(helps[i]!.code, 0, p);
    t.true(helps[i]!.stdout.trimEnd().endsWith(`\nExample:\n  ${EXAMPLES[p]}`), `nsbox ${p} --help:\n${helps[i]!.stdout}`);
  });
});
