/**
 * The network start hook's rootless half: a rootless container on 'pasta', 'slirp4netns' or the
 * default network 'nsbox' gets a user-mode helper instead of a bridge and veth (which need
 * CAP_NET_ADMIN in the host's network namespace). Prepare chooses the helper and checks what it
 * needs and starts the keeper before the runtime; the runtime hands the keeper the container's
 * namespaces as soon as they exist, and the keeper starts the helper on them while the container is
 * set up; attach (between `created` and `start`) waits until it is up, so the command starts with
 * its network up.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { invalidSpec } from '../../errors.js';
import type { StartHookContext, Teardown } from '../../hooks.js';
import { isNamedNetwork } from '../../network-options.js';
import type { ValidatedOptions } from '../../options.js';
import { checkTun, chooseHelper, HELPER_DNS, helperOf, refuseBridgeOnly, spawnKeeper, type HelperKind, type PendingHelper } from './helper.js';
import { isRootless, netRunDir } from './state-dir.js';

/** The network every container without --network=NAME lands on (nsbox-net's DEFAULT_NETWORK). */
const DEFAULT_NETWORK = 'nsbox';

export interface RootlessChoice {
  kind: HelperKind;
  path: string;
  /** The name server the container's resolv.conf gets. */
  dns: string;
}

/** A rootless container on a helper network: which helper; undefined for everything else. */
export function rootlessChoice(o: ValidatedOptions): RootlessChoice | undefined {
  if (!isNamedNetwork(o.network)) return undefined;
  const wanted = helperOf(o.network);
  if (!isRootless()) {
    if (wanted) throw invalidSpec('network', `${wanted} is for rootless containers; as root, use a bridge network (the default nsbox, or one from network create)`);
    return undefined;
  }
  // A user-defined network of a rootless user goes through its holder (bridge-hook.ts), not here.
  if (!wanted && o.network !== DEFAULT_NETWORK) return undefined;
  refuseBridgeOnly(o, o.network);
  const h = chooseHelper(wanted);
  return { ...h, dns: HELPER_DNS[h.kind] };
}

/** nsbox's annotation: where the runtime hands the container's namespaces to the keeper. */
export const ANNOTATION_NET_HELPER_SOCKET = 'org.nsbox.net-helper-socket';

/**
 * nsbox's annotation: `receive`: the keeper makes the container's user and network namespaces and
 * starts the helper on them before the runtime, which receives them on the socket above.
 */
export const ANNOTATION_NET_HELPER_NAMESPACES = 'org.nsbox.net-helper-namespaces';

/**
 * Whether the keeper makes the namespaces: for pasta only, whose own start (~20 ms of CPU) it then
 * overlaps with the runtime's whole start (measured: attach cost 10 against 21 ms, docs/networking.md).
 * slirp4netns is already up by `created` with the runtime's hand-over, and making the namespaces
 * first only put the keeper's start before the runtime's (8 against 5 ms). Only for the default map
 * (the user's own uid and gid as 0, which an unprivileged keeper writes itself; a rootless container
 * always has a user namespace): explicit maps (subordinate ranges through newuidmap) keep the
 * runtime making them and handing them over.
 */
export function keeperMakesNamespaces(kind: HelperKind, o: ValidatedOptions): boolean {
  // The runtime then lives in the container's user namespace: only a pid namespace of the
  // container's own keeps it out of the container's sight (the runtime refuses it otherwise).
  const ownPid = o.namespaces === undefined || o.namespaces.includes('pid');
  return kind === 'pasta' && ownPid && !o.uidMap?.length && !o.gidMap?.length;
}

/** The helper's directory (pid file, log, status.json that ps and inspect read). */
export function helperDir(id: string): string {
  return path.join(netRunDir(), 'helpers', id);
}

/** Keepers started at prepare, by container id, for the attach that follows. */
const pending = new Map<string, PendingHelper>();

/**
 * Before the runtime starts: the tun device must be usable and the state directory ours. Then the
 * keeper starts and waits for the runtime to hand it the container's namespaces (the annotation
 * returned here tells the runtime where), so the helper comes up while the container is set up.
 */
export function prepareRootless(id: string, choice: RootlessChoice, o: ValidatedOptions, filesDir: string | undefined): { annotations: Record<string, string>; abandon(): Promise<void> } {
  checkTun(choice.kind);
  mkdirSync(path.join(netRunDir(), 'helpers'), { recursive: true, mode: 0o700 });
  const dir = helperDir(id);
  const socket = path.join(dir, 'keeper.sock');
  // The keeper removes the /etc files' directory when the container ends (a detached container's
  // starter is long gone by then).
  const makeNamespaces = keeperMakesNamespaces(choice.kind, o);
  const keeper = spawnKeeper({
    kind: choice.kind, helper: choice.path, socket, dir, hostLoopback: o.hostLoopback ?? false, ports: o.ports ?? [], cleanup: filesDir ? [filesDir] : [], makeNamespaces,
  });
  pending.set(id, keeper);
  return {
    annotations: { [ANNOTATION_NET_HELPER_SOCKET]: socket, ...(makeNamespaces ? { [ANNOTATION_NET_HELPER_NAMESPACES]: 'receive' } : {}) },
    // Only while attach has not taken it over (the runtime failed before `created`).
    async abandon() {
      if (pending.get(id) !== keeper) return;
      pending.delete(id);
      await keeper.abandon();
    },
  };
}

/** At `created`: the helper was started on the handed-over namespaces; wait until it is up. */
export async function startRootless(ctx: StartHookContext): Promise<Teardown> {
  const keeper = pending.get(ctx.id);
  if (!keeper) throw invalidSpec('network', `no network helper keeper was prepared for container ${ctx.id}`);
  pending.delete(ctx.id);
  const h = await keeper.ready();
  return { teardown: () => h.stop() };
}
