/** 50 detached containers at once: all run, names distinct, state intact; rm -f of all leaves nothing. */
import test from 'ava';

import { readState } from '../../ts/src/index.js';
import { needsRoot } from '../helpers/privileged.js';
import { batched, fixture, leftovers, zombies } from './helpers.js';

test.serial('50 run -d at once, then rm -f of all leaves nothing', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  try {
    const containers = await Promise.all(Array.from({ length: 50 }, () => f.rt.run({ command: ['/bin/sleep', '1000'], rootfs: f.rootfs.root })));
    const states = f.rt.list();
    t.is(states.length, 50);
    t.true(states.every((s) => s.status === 'running'));
    t.is(new Set(states.map((s) => s.name)).size, 50, 'names are distinct');
    t.is(new Set(states.map((s) => s.pid)).size, 50);
    for (const c of containers) {
      const s = readState(f.root, c.id);
      t.regex(s.id, /^[0-9a-f]{64}$/);
      t.is(s.name, c.name);
      t.true(s.cgroups.length > 0);
      t.is(s.namespaces.length, 8);
    }
    // The container outlives nothing of ours: its parent is the monitor, not this process.
    t.true(states.every((s) => s.monitorPid !== process.pid));
    await batched(containers, 8, (c) => c.remove({ force: true }));
    t.deepEqual(leftovers(f.root, states), []);
    t.deepEqual(zombies(), []);
  } finally {
    await f.dispose();
  }
});
