/**
 * The network start hook's rootless half: a rootless container on 'pasta', 'slirp4netns' or the
 * default network 'nsbox' gets a user-mode helper instead of a bridge and veth (which need
 * CAP_NET_ADMIN in the host's network namespace). Prepare chooses the helper and checks what it
 * needs before the runtime starts; attach starts it (through the keeper) against the container's
 * namespaces, between `created` and `start`, so the command starts with its network up.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { invalidSpec } from '../../errors.js';
import type { StartHookContext, Teardown } from '../../hooks.js';
import { isNamedNetwork } from '../../network-options.js';
import type { ValidatedOptions } from '../../options.js';
import { checkTun, chooseHelper, HELPER_DNS, helperOf, refuseBridgeOnly, startHelper, type HelperKind } from './helper.js';
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

/** Before the runtime starts: the tun device must be usable and the state directory ours. */
export function prepareRootless(_id: string, choice: RootlessChoice): void {
  checkTun(choice.kind);
  mkdirSync(path.join(netRunDir(), 'helpers'), { recursive: true, mode: 0o700 });
}

/** The helper's directory (pid file, log, status.json that ps and inspect read). */
export function helperDir(id: string): string {
  return path.join(netRunDir(), 'helpers', id);
}

export async function startRootless(ctx: StartHookContext, choice: RootlessChoice, filesDir: string | undefined): Promise<Teardown> {
  const h = await startHelper({
    kind: choice.kind, helper: choice.path, pid: ctx.pid, dir: helperDir(ctx.id), hostLoopback: ctx.options.hostLoopback ?? false,
    ports: ctx.options.ports ?? [], cleanup: filesDir ? [filesDir] : [],
  });
  return { teardown: () => h.stop() };
}
