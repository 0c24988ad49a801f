/**
 * Peers by name on a rootless user-defined network (issue #13), as `nobody` in the throwaway host
 * of rootless-host.ts: a (detached) started before b resolves and reaches b by name; after
 * `rm -f b`, a's /etc/hosts no longer lists b, nor e once e has stopped (its watcher releases it).
 * The same nsbox-net attach/detach as for root, run by `nsbox-runtime rootless-net` in the holder.
 */
import { existsSync, readdirSync } from 'node:fs';

import { report, until } from './common.js';
import { cli, liveProcs, ofThisScenario, setupHost, XDG } from './rootless-host.js';

setupHost();
const inA = (cmd: string) => cli(['exec', 'a', 'sh', '-c', cmd]);
const ipOf = (name: string) =>
  (JSON.parse(cli(['network', 'inspect', 'names']).stdout || '[{}]') as Array<{ endpoints?: Array<{ container: string; ip: string }> }>)[0]?.endpoints?.find((e) => e.container === name)?.ip ?? 'none';

const facts: Record<string, unknown> = {};
facts.create = cli(['network', 'create', 'names', '--subnet', '10.91.1.0/24']);
facts.a = cli(['run', '-d', '--name', 'a', '--network', 'names', '--', 'sleep', '1000']);
facts.inodeBefore = inA('stat -c %i /etc/hosts').stdout.trim();
facts.b = cli(['run', '-d', '--name', 'b', '--network', 'names', '--', 'sleep', '1000']);
facts.bIp = ipOf('b');
facts.aIp = ipOf('a');
facts.getent = inA('getent ahostsv4 b');
facts.ping = inA('ping -c1 -W2 b');
facts.aHosts = inA('cat /etc/hosts').stdout;
facts.inodeAfter = inA('stat -c %i /etc/hosts').stdout.trim();
facts.rmB = cli(['rm', '-f', 'b']);
facts.aHostsAfterRm = inA('cat /etc/hosts').stdout;
// A container that ends by itself (stop: its watcher releases the endpoint at the exit).
facts.e = cli(['run', '-d', '--name', 'e', '--network', 'names', '--', 'sleep', '1000']);
facts.eListed = /\se$/m.test(inA('cat /etc/hosts').stdout);
facts.stopE = cli(['stop', '-t', '1', 'e']);
facts.eDropped = await until(() => !/\se$/m.test(inA('cat /etc/hosts').stdout), 10_000);
facts.rmE = cli(['rm', 'e']);
facts.rmA = cli(['rm', '-f', 'a']);
facts.rmNet = cli(['network', 'rm', 'names']);
const ours = (tag: string) => liveProcs(tag).filter((p) => ofThisScenario(p.pid)).length;
await until(() => ours('net-holder') + ours('rootless-net') === 0);
const containers = `${XDG}/nsbox/run/containers`;
facts.leftover = { procs: ours('net-holder') + ours('rootless-net'), containers: existsSync(containers) ? readdirSync(containers) : [] };
report(facts);
