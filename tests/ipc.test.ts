// S4: SysV IPC objects are per ipc namespace (util-linux ipcmk/ipcs from the host root, read-only).
import { execFileSync } from 'node:child_process';

import test from 'ava';
import { spawn } from 'nsbox';

import { keyValues, Transcript } from './helpers/lines.js';
import { needsRoot } from './helpers/privileged.js';

/** Message queue keys listed by `ipcs -q` (random per queue with ipcmk). */
function queueKeys(ipcsOutput: string): string[] {
  return ipcsOutput.split('\n').filter((l) => /^0x[0-9a-f]+\s/.test(l)).map((l) => l.split(/\s+/)[0]!);
}

const hostKeys = () => queueKeys(execFileSync('ipcs', ['-q'], { encoding: 'utf8' }));

test("S4: a queue made inside is invisible on the host, and the host's is invisible inside", async (t) => {
  if (!needsRoot(t)) return;
  const hostQueue = /(\d+)/.exec(execFileSync('ipcmk', ['-Q'], { encoding: 'utf8' }))![1]!;
  try {
    const before = hostKeys();
    t.true(before.length > 0);
    const script = 'echo seen="$(ipcs -q | grep ^0x | cut -d" " -f1 | tr "\\n" " ")"; ipcmk -Q >/dev/null; echo made="$(ipcs -q | grep ^0x | cut -d" " -f1)"; read go';
    const c = spawn({ command: ['/bin/sh', '-c', script], stderr: 'inherit' }); // the defaults include ipc
    const out = new Transcript(c.stdout);
    await out.until(/made=.*\n/);
    const kv = keyValues(out.text);
    // While the container (and its queue) is alive:
    t.is(kv.seen?.trim(), '', "the host's queues are not visible inside");
    t.regex(kv.made ?? '', /^0x[0-9a-f]+$/, 'the queue made inside is');
    t.false(hostKeys().includes(kv.made!), 'and the host does not see it');
    c.stdin!.end('go\n');
    t.is((await c.wait()).exitCode, 0);
  } finally {
    execFileSync('ipcrm', ['-q', hostQueue]);
  }
});
