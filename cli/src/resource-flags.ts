/**
 * docker's resource flags (`--memory`, `--cpus`, `--pids-limit`, `--ulimit`, …) for `run`, `create`
 * and `update`. The values go to the library as typed: their units and checks are the Rust core's
 * (one parser for every caller); here flags become `resources` and the core's field names
 * (`resources.memory`) become the flag's name in errors.
 */
import type { Command } from 'commander';
import { InvalidSpecError, NsboxError, resourceWarnings, type ResourceOptions } from 'nsbox';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

type Kind = 'size' | 'int' | 'text' | 'list' | 'bool';

interface FlagDef {
  flags: string;
  key: keyof ResourceOptions;
  kind: Kind;
  help: string;
  /** Also on `update` (docker's update has these). */
  update: boolean;
}

const DEFS: FlagDef[] = [
  { flags: '-m, --memory <SIZE>', key: 'memory', kind: 'size', help: 'memory limit, e.g. 256m (at least 6m)', update: true },
  { flags: '--memory-swap <SIZE>', key: 'memorySwap', kind: 'size', help: 'memory plus swap limit; -1: unlimited swap', update: true },
  { flags: '--memory-reservation <SIZE>', key: 'memoryReservation', kind: 'size', help: 'memory soft limit', update: true },
  { flags: '--kernel-memory <SIZE>', key: 'kernelMemory', kind: 'size', help: 'accepted and ignored, as docker 23+ (no kernel memory limit on Linux 5.16+)', update: true },
  { flags: '--oom-kill-disable', key: 'oomKillDisable', kind: 'bool', help: 'disable the OOM killer (cgroup v1 only)', update: false },
  { flags: '--cpus <N>', key: 'cpus', kind: 'text', help: 'CPUs worth of time, e.g. 1.5', update: true },
  { flags: '-c, --cpu-shares <N>', key: 'cpuShares', kind: 'int', help: 'relative CPU weight (default 1024)', update: true },
  { flags: '--cpu-period <USEC>', key: 'cpuPeriod', kind: 'int', help: 'CFS period in microseconds', update: true },
  { flags: '--cpu-quota <USEC>', key: 'cpuQuota', kind: 'int', help: 'CFS quota in microseconds per period', update: true },
  { flags: '--cpuset-cpus <LIST>', key: 'cpusetCpus', kind: 'text', help: 'CPUs to run on, e.g. 0-1,3', update: true },
  { flags: '--cpuset-mems <LIST>', key: 'cpusetMems', kind: 'text', help: 'memory nodes to allocate from', update: true },
  { flags: '--pids-limit <N>', key: 'pidsLimit', kind: 'int', help: 'most processes at once (0 or -1: unlimited)', update: true },
  { flags: '--blkio-weight <N>', key: 'blkioWeight', kind: 'int', help: 'I/O weight 10-1000 (needs the BFQ scheduler)', update: true },
  { flags: '--device-read-bps <DEV:RATE>', key: 'deviceReadBps', kind: 'list', help: 'read rate limit of a block device, e.g. /dev/vda:1mb (repeatable)', update: false },
  { flags: '--device-write-bps <DEV:RATE>', key: 'deviceWriteBps', kind: 'list', help: 'write rate limit of a block device (repeatable)', update: false },
  { flags: '--device-read-iops <DEV:N>', key: 'deviceReadIops', kind: 'list', help: 'read operations per second of a block device (repeatable)', update: false },
  { flags: '--device-write-iops <DEV:N>', key: 'deviceWriteIops', kind: 'list', help: 'write operations per second of a block device (repeatable)', update: false },
  { flags: '--ulimit <NAME=SOFT[:HARD]>', key: 'ulimits', kind: 'list', help: 'an rlimit, e.g. nofile=1024:1024 (repeatable)', update: false },
  { flags: '--shm-size <SIZE>', key: 'shmSize', kind: 'size', help: 'size of /dev/shm (default 64m)', update: false },
  { flags: '--tmpfs <PATH[:OPTS]>', key: 'tmpfs', kind: 'list', help: 'a tmpfs at PATH, e.g. /run:size=64m (repeatable)', update: false },
];

/** commander's property name for a flag: `--memory-swap` → memorySwap, `--ulimit` → ulimit. */
function prop(def: FlagDef): string {
  const long = /--([a-z-]+)/.exec(def.flags)![1]!;
  return long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function longName(def: FlagDef): string {
  return /--[a-z-]+/.exec(def.flags)![0];
}

export function addResourceFlags(cmd: Command, forUpdate = false): Command {
  for (const d of DEFS) {
    if (forUpdate && !d.update) continue;
    if (d.kind === 'list') cmd.option(d.flags, d.help, collect);
    else cmd.option(d.flags, d.help);
  }
  return cmd;
}

function flagError(flag: string, message: string): InvalidSpecError {
  return new InvalidSpecError({ code: 'ERR_INVALID_SPEC', op: flag, path: null, errno: null, message });
}

/** The `resources` option from the parsed flags; undefined when none was given. */
export function resourcesFromFlags(flags: Record<string, unknown>): ResourceOptions | undefined {
  const out: Record<string, unknown> = {};
  for (const d of DEFS) {
    const v = flags[prop(d)];
    if (v === undefined) continue;
    if (d.kind === 'int') {
      const s = String(v).trim();
      if (!/^-?\d+$/.test(s)) throw flagError(longName(d), `invalid argument ${JSON.stringify(v)} for "${longName(d)}" flag: not a whole number`);
      out[d.key] = Number(s);
    } else {
      out[d.key] = v;
    }
  }
  return Object.keys(out).length === 0 ? undefined : (out as ResourceOptions);
}

/** The runtime's OCI field names (`update`'s and a start's cgroup errors) → the flag that set them. */
const OCI_FIELDS: Record<string, string> = {
  'memory.limit': '--memory', 'memory.swap': '--memory-swap', 'memory.reservation': '--memory-reservation',
  'memory.disableOOMKiller': '--oom-kill-disable', 'pids.limit': '--pids-limit', 'cpu.shares': '--cpu-shares',
  'cpu.quota': '--cpus/--cpu-quota', 'cpu.period': '--cpus/--cpu-period', 'cpu.cpus': '--cpuset-cpus', 'cpu.mems': '--cpuset-mems',
  'blockIO.weight': '--blkio-weight', 'blockIO.throttleReadBpsDevice': '--device-read-bps',
  'blockIO.throttleWriteBpsDevice': '--device-write-bps', 'blockIO.throttleReadIOPSDevice': '--device-read-iops',
  'blockIO.throttleWriteIOPSDevice': '--device-write-iops',
};

/** `resources.memorySwap` → `--memory-swap`, `resources.ulimits[1]` → `--ulimit`, `linux.resources.pids.limit` → `--pids-limit`; null for other fields. */
export function flagForField(field: string): string | null {
  const oci = /^linux\.resources\.(.+)$/.exec(field);
  if (oci) return OCI_FIELDS[oci[1]!] ?? null;
  const m = /^resources\.([A-Za-z]+)(?:\[\d+\])?$/.exec(field);
  const def = m && DEFS.find((d) => d.key === m[1]);
  return def ? longName(def) : null;
}

/** An error naming a resource option by its field is re-told naming the flag (same code and exit status). */
export function withFlagNames(err: unknown): unknown {
  if (!(err instanceof NsboxError)) return err;
  const flag = flagForField(err.op);
  if (!flag) return err;
  const prefix = `${err.op}: ${err.code}: `;
  const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  if (err.code === 'ERR_INVALID_SPEC') return flagError(flag, message);
  return new NsboxError({ code: err.code, op: flag, path: err.path, errno: err.errno, message }, err.exitCode);
}

/** docker's `WARNING: …` lines for these options (a bad value is reported later, by the run itself). */
export function printResourceWarnings(resources: ResourceOptions | undefined): void {
  if (!resources) return;
  let warnings: string[] = [];
  try {
    warnings = resourceWarnings(JSON.stringify(resources));
  } catch {
    return;
  }
  for (const w of warnings) process.stderr.write(`WARNING: ${w}\n`);
}
