/**
 * As nobody, on rootless networks: SIGKILL `nsbox learn --check S14` mid-step (two networks in
 * nobody's holder, three containers), then start learn again as nobody: its first step removes the
 * dead session's containers and networks, and the holder ends with the last network. Runs as root
 * inside `unshare --net --mount --ipc` (../helpers.ts), which it makes a host nobody's networks can
 * use: an uplink and a 0666 tun node. Reports; ../kill.test.ts asserts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { listStates } from 'nsbox';

import { NOBODY, tunHostSetup } from '../helpers.js';
import { AS_NOBODY } from '../../helpers/nobody.js';
import { CLI, processesNaming, report, until } from './common.js';

// The host setup of throwawayTunHost, run here (this process is already in the throwaway namespace).
execFileSync('sh', ['-c', tunHostSetup('666')]);
const parent = mkdtempSync(path.join(tmpdir(), 'nsbox-learn-rk-'));
const root = path.join(parent, 'state');
mkdirSync(root, { mode: 0o700 });
chownSync(parent, NOBODY, NOBODY);
chownSync(root, NOBODY, NOBODY);
const env = { PATH: process.env.PATH!, HOME: parent, XDG_RUNTIME_DIR: '', NSBOX_ROOT: root };
const asNobody = (args: string[]) => spawn(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), process.execPath, CLI, ...args], { stdio: 'ignore', env, cwd: '/' });

const networks = () => {
  try {
    return readdirSync(path.join(root, 'run', 'rnet', 'networks')).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
};
const picture = () => ({
  states: listStates(root).map((s) => `${s.name} ${s.status}`),
  networks: networks(),
  holder: existsSync(path.join(root, 'run', 'netns.pid')),
  processes: processesNaming(root),
});

const child = asNobody(['learn', '--check', 'S14']);
const reached = await until(() => networks().length === 2 && listStates(root).some((s) => s.name.includes('-s14-b1-') && s.status === 'running'));
child.kill('SIGKILL');
await new Promise((r) => child.once('exit', r));
const left = picture();

const next = await new Promise<number | null>((resolve) => asNobody(['learn', '--check', 'S3']).once('exit', (code) => resolve(code)));
// The holder exits once the last network is gone (its pid file first): give its processes a moment.
await until(() => picture().processes.length === 0, 5_000);
const after = picture();
report({ reached, left, next, after });
rmSync(parent, { recursive: true, force: true });
