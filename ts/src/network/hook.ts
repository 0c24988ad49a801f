/**
 * The start hook that puts a container on its network: after the runtime reports `created` and
 * before `start`, attach `/proc/PID/ns/net`; after the container exits, detach.
 *
 * Its prepare stage runs before the runtime does: it creates the container's /etc/hosts,
 * /etc/resolv.conf and /etc/hostname under the state root and has them bound in (the runtime makes
 * its mounts before `created`, long before the address is known). Attach then rewrites them in place
 * (same inode: a bind mount pins it) with the address, the peers and the name servers.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { fromWire } from '../errors.js';
import { registerStartHook, type PrepareHookContext, type Prepared, type StartHook, type StartHookContext } from '../hooks.js';
import { isNamedNetwork } from '../network-options.js';
import type { ValidatedOptions } from '../options.js';
import { attachContainer, detachContainer } from './api.js';
import { attachRootlessBridge, bridgeAnnotations, isRootlessBridge, prepareRootlessBridge, type RootlessBridge } from './rootless/bridge-hook.js';
import { prepareRootless, rootlessChoice, startRootless, type RootlessChoice } from './rootless/hook.js';
import { isRootless, netRunDir } from './rootless/state-dir.js';

function stateRoot(): string | undefined {
  return process.env.NSBOX_ROOT || undefined;
}

/**
 * As nsbox-net's Store: `R/run` under NSBOX_ROOT=R, else /run/nsbox; a rootless caller's are
 * under its own state root (rootless/state-dir.ts), never a root path.
 */
export function containerFilesDir(id: string, root = stateRoot()): string {
  if (!root && isRootless()) return path.join(netRunDir(), 'containers', id);
  return path.join(root ? path.join(root, 'run') : '/run/nsbox', 'containers', id);
}

const FILES = [
  { key: 'hostsPath', name: 'hosts', target: '/etc/hosts' },
  { key: 'resolvConfPath', name: 'resolv.conf', target: '/etc/resolv.conf' },
  { key: 'hostnamePath', name: 'hostname', target: '/etc/hostname' },
] as const;
type FileKey = (typeof FILES)[number]['key'];

/**
 * The files this container gets bound in, or undefined when none: not on a named network, no mount
 * namespace of its own (nothing to bind into), or each target already taken by the caller's volumes.
 */
function containerFiles(id: string, o: ValidatedOptions): { dir: string; files: Array<(typeof FILES)[number] & { path: string }> } | undefined {
  if (!isNamedNetwork(o.network)) return undefined;
  if (o.namespaces !== undefined && !o.namespaces.includes('mnt')) return undefined;
  const taken = new Set((o.volumes ?? []).map((v) => path.posix.normalize(v.target)));
  const dir = containerFilesDir(id);
  const files = FILES.filter((f) => !taken.has(f.target)).map((f) => ({ ...f, path: path.join(dir, f.name) }));
  return files.length === 0 ? undefined : { dir, files };
}

const NAME = /^[A-Za-z0-9_.-]+$/;

/** What the container sees should attach never run (it is killed then): loopback names and its own. */
function placeholder(name: string, o: ValidatedOptions, hostname: string, rootless?: { dns: string }): string {
  switch (name) {
    case 'hosts': {
      const own = [hostname, o.name].filter((n): n is string => n !== undefined && NAME.test(n));
      return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${own.length ? `127.0.1.1\t${own.join(' ')}\n` : ''}`;
    }
    case 'resolv.conf':
      if (o.dns?.length) return o.dns.map((d) => `nameserver ${d}\n`).join('');
      // The helper's DNS forwarder (the host's loopback resolvers are not reachable from inside).
      if (rootless) return `nameserver ${rootless.dns}\n`;
      try {
        return readFileSync('/etc/resolv.conf', 'utf8');
      } catch {
        return '';
      }
    default:
      return `${hostname}\n`;
  }
}

/** Prepared rootless bridges, by container id, for the attach that follows. */
const bridges = new Map<string, RootlessBridge>();

function prepareFiles(ctx: PrepareHookContext): Prepared | void {
  // Rootless on a user-defined network: the user's holder, whose user namespace the container's
  // is made in (rootless/bridge-hook.ts).
  const bridge = isRootlessBridge(ctx.options) ? prepareRootlessBridge(ctx.options) : undefined;
  // Rootless: which helper, and is it usable (refused here, before anything starts).
  const rootless = bridge ? undefined : rootlessChoice(ctx.options);
  // Its keeper starts now and gets the container's namespaces from the runtime (rootless/hook.ts).
  const keeper = rootless ? prepareRootless(ctx.id, rootless, ctx.options, containerFilesDir(ctx.id)) : undefined;
  const annotations = bridge ? bridgeAnnotations(bridge) : keeper?.annotations;
  if (bridge) bridges.set(ctx.id, bridge);
  const forget = async () => {
    bridges.delete(ctx.id);
    await keeper?.abandon();
  };
  const files = containerFiles(ctx.id, ctx.options);
  if (!files) return bridge || keeper ? { annotations, teardown: forget } : undefined;
  // The hostname the container will have: the one asked for, else the one its uts namespace copies.
  const hostname = ctx.options.hostname ?? os.hostname();
  try {
    mkdirSync(files.dir, { recursive: true, mode: 0o755 });
    for (const f of files.files) writeFileSync(f.path, placeholder(f.name, ctx.options, hostname, rootless ?? bridge), { mode: 0o644 });
  } catch (e) {
    rmSync(files.dir, { recursive: true, force: true });
    void keeper?.abandon();
    bridges.delete(ctx.id);
    const err = e as NodeJS.ErrnoException;
    throw fromWire({
      code: err.code ?? 'ERR_RUNTIME', op: 'create container network files', path: err.path ?? files.dir,
      errno: typeof err.errno === 'number' ? -err.errno : null, message: err.message,
    });
  }
  return {
    volumes: files.files.map((f) => ({ source: f.path, target: f.target, readOnly: false })),
    annotations,
    teardown: async () => {
      await forget();
      await rm(files.dir, { recursive: true, force: true });
    },
  };
}

async function attach(ctx: StartHookContext) {
  const o = ctx.options;
  if (!isNamedNetwork(o.network)) return;
  const paths: Partial<Record<FileKey, string>> = {};
  for (const f of containerFiles(ctx.id, o)?.files ?? []) paths[f.key] = f.path;
  if (isRootlessBridge(o)) {
    const bridge = bridges.get(ctx.id) ?? prepareRootlessBridge(o);
    bridges.delete(ctx.id);
    return attachRootlessBridge(ctx, bridge, paths, containerFilesDir(ctx.id));
  }
  // The keeper prepare started has the container's namespaces: wait for its helper.
  if (rootlessChoice(o)) return startRootless(ctx);
  const ep = await attachContainer({
    pid: ctx.pid,
    network: o.network,
    ip: o.ip,
    mac: o.mac,
    ports: o.ports,
    dns: o.dns,
    container: o.name ?? ctx.id.slice(0, 12),
    hostname: o.hostname,
    ...paths,
    root: stateRoot(),
  });
  return {
    endpoint: ep,
    async teardown() {
      await detachContainer({ endpoint: ep.id, network: ep.network, root: stateRoot() });
    },
  };
}

export const networkStartHook: StartHook = Object.assign(attach, { prepare: prepareFiles });

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
