/**
 * Peers by name on a root user-defined network, whichever started first: a (detached) started
 * before b resolves and reaches b by name; after `rm -f b`, a's /etc/hosts no longer lists b, nor
 * e once e has stopped (its monitor releases it); a container on another network never appears;
 * a peer whose hosts file is gone does not fail a newcomer's attach. Host-root mode (glibc's
 * getent and iputils' ping of the host, read-only root).
 */
import { renameSync } from 'node:fs';
import path from 'node:path';

import { cli, prepare, report, tmpfsStateRoot, until } from './common.js';

prepare();
const root = tmpfsStateRoot();
const inA = (cmd: string) => cli('exec', 'a', 'sh', '-c', cmd);
const ipOf = (net: string, name: string) =>
  (JSON.parse(cli('network', 'inspect', net).stdout || '[{}]') as Array<{ endpoints?: Array<{ container: string; ip: string }> }>)[0]?.endpoints?.find((e) => e.container === name)?.ip ?? 'none';

const facts: Record<string, unknown> = {};
facts.create = cli('network', 'create', 'blue', '--subnet', '10.202.0.0/24');
cli('network', 'create', 'red', '--subnet', '10.203.0.0/24');
facts.a = cli('run', '-d', '--name', 'a', '--network', 'blue', '--', 'sleep', '1000');
facts.inodeBefore = inA('stat -c %i /etc/hosts').stdout.trim();
facts.b = cli('run', '-d', '--name', 'b', '--network', 'blue', '--', 'sleep', '1000');
facts.c = cli('run', '-d', '--name', 'c', '--network', 'red', '--', 'sleep', '1000');
facts.bIp = ipOf('blue', 'b');
facts.aIp = ipOf('blue', 'a');
facts.getent = inA('getent ahostsv4 b');
facts.ping = inA('ping -c1 -W2 b');
facts.aHosts = inA('cat /etc/hosts').stdout;
facts.inodeAfter = inA('stat -c %i /etc/hosts').stdout.trim();
facts.bHosts = cli('exec', 'b', 'cat', '/etc/hosts').stdout;
facts.rmB = cli('rm', '-f', 'b');
facts.aHostsAfterRm = inA('cat /etc/hosts').stdout;
facts.getentAfterRm = inA('getent ahostsv4 b');
// A container that ends by itself (stop: its monitor releases the endpoint at the exit).
facts.e = cli('run', '-d', '--name', 'e', '--network', 'blue', '--', 'sleep', '1000');
facts.eListed = /\se$/m.test(inA('cat /etc/hosts').stdout);
facts.stopE = cli('stop', '-t', '1', 'e');
facts.eDropped = await until(() => !/\se$/m.test(inA('cat /etc/hosts').stdout), 10_000);
facts.rmE = cli('rm', 'e');
// a's hosts file gone from under the state root (a's mount keeps its inode): a newcomer still starts.
const aHostsFile = path.join(root, 'run', 'containers', (facts.a as { stdout: string }).stdout.trim(), 'hosts');
let moved = false;
try {
  renameSync(aHostsFile, `${aHostsFile}.away`);
  moved = true;
} catch { /* reported below: moved false */ }
facts.moved = moved;
facts.newcomer = cli('run', '--rm', '--name', 'd', '--network', 'blue', '--', 'sh', '-c', 'grep -c "\\sa$" /etc/hosts');
if (moved) renameSync(`${aHostsFile}.away`, aHostsFile);
facts.rmA = cli('rm', '-f', 'a');
facts.rmC = cli('rm', '-f', 'c');
facts.rmNets = [cli('network', 'rm', 'blue'), cli('network', 'rm', 'red')].map((r) => r.code);
report(facts);
