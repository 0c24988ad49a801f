/**
 * The start hook that puts a container on its network: after the runtime reports `created` and
 * before `start`, attach `/proc/PID/ns/net`; after the container exits, detach.
 */
import { registerStartHook, type StartHook } from '../hooks.js';
import { isNamedNetwork } from '../network-options.js';
import { attachContainer, detachContainer } from './api.js';

export const networkStartHook: StartHook = async (ctx) => {
  const o = ctx.options;
  if (!isNamedNetwork(o.network)) return;
  const ep = await attachContainer({
    pid: ctx.pid,
    network: o.network,
    ip: o.ip,
    mac: o.mac,
    ports: o.ports,
    dns: o.dns,
    container: o.name ?? ctx.id.slice(0, 12),
    hostname: o.hostname,
    root: process.env.NSBOX_ROOT || undefined,
  });
  return {
    endpoint: ep,
    async teardown() {
      await detachContainer({ endpoint: ep.id, network: ep.network, root: process.env.NSBOX_ROOT || undefined });
    },
  };
};

let unregister: (() => void) | undefined;

/** Registers the hook (done on import of the package); idempotent. */
export function enableNetworking(): void {
  unregister ??= registerStartHook('network', networkStartHook);
}

/** For tests: run containers without the network hook. */
export function disableNetworking(): void {
  unregister?.();
  unregister = undefined;
}
