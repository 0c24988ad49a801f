/**
 * The resource options' types and shape checks (docker's `--memory`, `--cpus`, `--pids-limit`,
 * `--ulimit`, `--shm-size`, `--tmpfs`, …). What the values mean is decided in one place, the Rust
 * core (crates/nsbox-core/src/resources): its units (`'256m'`, `1.5`), docker's validation messages
 * and the OCI sections. Errors name the option (`resources.memory`).
 */
import { invalidSpec } from './errors.js';

/** Bytes, or docker's size text: `'256m'`, `'1g'`, `'64MiB'`. */
export type SizeOption = number | string;

export interface Ulimit {
  name: string;
  soft: number;
  hard?: number;
}

export interface ResourceOptions {
  /** Memory limit (`--memory`), at least 6 MiB. */
  memory?: SizeOption;
  /** Memory plus swap (`--memory-swap`); -1: unlimited swap. */
  memorySwap?: SizeOption;
  /** Soft limit (`--memory-reservation`). */
  memoryReservation?: SizeOption;
  /** Accepted and ignored, as docker 23+ does: Linux ≥ 5.16 has no kernel memory limit. */
  kernelMemory?: SizeOption;
  /** No OOM killer in the container's cgroup (cgroup v1 only; refused on v2, which has no such knob). */
  oomKillDisable?: boolean;
  /** CPUs' worth of time (`--cpus 1.5`): a CFS quota over a 100 ms period. */
  cpus?: number | string;
  cpuShares?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  /** CPUs the container may run on (`'0-1,3'`). */
  cpusetCpus?: string;
  cpusetMems?: string;
  /** Most processes at once; 0 or -1: unlimited. */
  pidsLimit?: number;
  /** Proportional I/O weight, 10–1000: refused unless a block device uses the BFQ scheduler. */
  blkioWeight?: number;
  /** `'/dev/vda:1mb'`: bytes per second read from a block device. */
  deviceReadBps?: string[];
  deviceWriteBps?: string[];
  /** `'/dev/vda:100'`: I/O operations per second. */
  deviceReadIops?: string[];
  deviceWriteIops?: string[];
  /** `'nofile=1024:2048'` or `{ name: 'nofile', soft: 1024, hard: 2048 }`. */
  ulimits?: Array<string | Ulimit>;
  /** Size of /dev/shm (docker's default: 64 MiB). */
  shmSize?: SizeOption;
  /** `'/run:size=64m,mode=755'`: a tmpfs at PATH (replacing the host view's /tmp or /run). */
  tmpfs?: string[];
}

const SIZE_KEYS = ['memory', 'memorySwap', 'memoryReservation', 'kernelMemory', 'shmSize'] as const;
const NUMBER_KEYS = ['cpuShares', 'cpuPeriod', 'cpuQuota', 'pidsLimit', 'blkioWeight'] as const;
const STRING_KEYS = ['cpusetCpus', 'cpusetMems'] as const;
const LIST_KEYS = ['deviceReadBps', 'deviceWriteBps', 'deviceReadIops', 'deviceWriteIops', 'tmpfs'] as const;
const KEYS = new Set<string>([...SIZE_KEYS, ...NUMBER_KEYS, ...STRING_KEYS, ...LIST_KEYS, 'oomKillDisable', 'cpus', 'ulimits']);

/** Shapes only; values are the core's to judge. */
export function validateResourceOptions(v: unknown): ResourceOptions {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidSpec('resources', 'must be an object');
  const r = v as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!KEYS.has(k)) throw invalidSpec(`resources.${k}`, `unknown resource option ${JSON.stringify(k)}`);
  }
  const field = (k: string) => `resources.${k}`;
  for (const k of SIZE_KEYS) {
    const x = r[k];
    if (x !== undefined && !(typeof x === 'string' || (typeof x === 'number' && Number.isSafeInteger(x)))) {
      throw invalidSpec(field(k), "must be a number of bytes or a size such as '256m'");
    }
  }
  for (const k of NUMBER_KEYS) {
    const x = r[k];
    if (x !== undefined && !(typeof x === 'number' && Number.isSafeInteger(x))) throw invalidSpec(field(k), 'must be a whole number');
  }
  for (const k of STRING_KEYS) {
    if (r[k] !== undefined && typeof r[k] !== 'string') throw invalidSpec(field(k), 'must be a string');
  }
  for (const k of LIST_KEYS) {
    const x = r[k];
    if (x !== undefined && !(Array.isArray(x) && x.every((s) => typeof s === 'string'))) throw invalidSpec(field(k), 'must be an array of strings');
  }
  if (r.oomKillDisable !== undefined && typeof r.oomKillDisable !== 'boolean') throw invalidSpec(field('oomKillDisable'), 'must be a boolean');
  if (r.cpus !== undefined && typeof r.cpus !== 'number' && typeof r.cpus !== 'string') throw invalidSpec(field('cpus'), 'must be a number or a string');
  if (r.ulimits !== undefined) {
    if (!Array.isArray(r.ulimits)) throw invalidSpec(field('ulimits'), "must be an array of 'name=soft[:hard]' or { name, soft, hard }");
    r.ulimits.forEach((u, i) => {
      if (typeof u === 'string') return;
      const o = u as Record<string, unknown> | null;
      if (typeof o !== 'object' || o === null || typeof o.name !== 'string' || typeof o.soft !== 'number' || (o.hard !== undefined && typeof o.hard !== 'number')) {
        throw invalidSpec(`resources.ulimits[${i}]`, "must be 'name=soft[:hard]' or { name, soft, hard? }");
      }
    });
  }
  return { ...(r as ResourceOptions) };
}
