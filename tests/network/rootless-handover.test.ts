/**
 * Rootless helpers get the container's namespaces handed over by the runtime (issue #13, attach
 * speed): as `nobody` in a throwaway `unshare --net --mount` namespace (scenarios/rootless-handover.ts).
 * For pasta with the default map the keeper makes those namespaces itself before the runtime
 * (podman's order).
 * CI budget: 30 s (one scenario, ~9 containers).
 */
import test from 'ava';

import { runRootlessScenario } from './helpers.js';

type Cli = { code: number | null; stdout: string; stderr: string };
type Left = { keepers: number; helpers: number; dirs: string[] };
type Helper = { code: number | null; stderr: string; args: string; user: string; net: string; containerUser: string; containerNet: string; keeperMakes: boolean; helperFirst: boolean; shared: string[] };
interface Facts {
  pasta: Helper;
  slirp4netns: Helper;
  explicitMap: Helper;
  noPidNs: Helper;
  held: { create: Cli; pid: number; whileHeld: { code: number | null; err: string }; start: number | null; whileRunning: { code: number | null; out: string } };
  afterGood: Left;
  failures: Record<'name' | 'rootfs' | 'volume' | 'volume-slirp' | 'detached', { code: number | null; stderr: string; left: Left }> & { takenFirst?: number | null };
}

test('rootless helpers start on namespaces the runtime hands over; nothing is left when the runtime fails', async (t) => {
  const f = await runRootlessScenario<Facts>(t, 'rootless-handover');
  if (!f) return;
  for (const h of [f.pasta, f.slirp4netns, f.explicitMap, f.noPidNs]) {
    t.is(h.code, 0, h.stderr);
    t.regex(h.args, /\/proc\/self\/fd\/6/, `the helper targets a descriptor: ${h.args}`);
    t.notRegex(h.args, /\/proc\/\d+\/ns\//, 'not /proc/PID/ns/*');
    t.regex(h.user, /^user:\[\d+\]$/);
    t.is(h.user, h.containerUser, "the helper's fd 5 is the container's user namespace");
    t.is(h.net, h.containerNet, "the helper's fd 6 is the container's network namespace");
  }
  // The default map: the keeper made the namespaces and started the helper before the runtime's
  // clone (the container's user and network namespaces are the helper's, checked above).
  t.deepEqual([f.pasta.keeperMakes, f.pasta.helperFirst], [true, true]);
  // slirp4netns, and pasta with an explicit map, keep the runtime's hand-over after its clone.
  t.deepEqual([f.slirp4netns.keeperMakes, f.slirp4netns.helperFirst, f.explicitMap.keeperMakes, f.explicitMap.helperFirst], [false, false, false, false]);
  t.deepEqual([f.noPidNs.keeperMakes, f.noPidNs.helperFirst], [false, false], 'no pid namespace of its own: the runtime\'s hand-over');
  // Only what the container does not make is the host's: nothing with the default namespaces
  // (the user namespace the keeper made is not), pid and the rest with --ns user,mnt,net,uts,ipc.
  for (const h of [f.pasta, f.slirp4netns, f.explicitMap]) t.deepEqual(h.shared, [], `shared with the host: ${h.shared.join(',')}`);
  t.deepEqual(f.noPidNs.shared, ['cgroup', 'pid', 'time']);
  t.regex(f.pasta.args, /--userns=\/proc\/self\/fd\/5 --netns=\/proc\/self\/fd\/6 --no-netns-quit/);
  t.regex(f.slirp4netns.args, /--netns-type=path --userns-path=\/proc\/self\/fd\/5 \/proc\/self\/fd\/6 tap0/);

  t.is(f.held.create.code, 0, f.held.create.stderr);
  t.true(f.held.pid > 0);
  t.not(f.held.whileHeld.code, 0, 'held at created, the container is not dumpable: its own uid cannot open its namespaces');
  t.regex(f.held.whileHeld.err, /Permission denied/);
  t.is(f.held.start, 0);
  t.is(f.held.whileRunning.code, 0, 'once its command runs, it can (inspect, exec)');
  t.deepEqual(f.afterGood, { keepers: 0, helpers: 0, dirs: [] });

  const { takenFirst, ...failures } = f.failures;
  t.is(takenFirst, 0);
  t.regex(failures.name.stderr, /ERR_NAME_IN_USE/, 'refused by the runtime, before the hand-over');
  for (const [name, r] of Object.entries(failures)) {
    t.is(r.code, 125, `${name}: ${r.stderr}`);
    t.regex(r.stderr, /^nsbox: [^\n]+: E[A-Z_]+: /m, `${name}: one line with the step and the error code: ${r.stderr}`);
    t.deepEqual(r.left, { keepers: 0, helpers: 0, dirs: [] }, `${name}: no keeper, helper or helper directory left`);
  }
});
