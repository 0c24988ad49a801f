/**
 * Our events.jsonl lines as docker's events: its actions (exit is `die`, remove is `destroy`), its
 * JSON message (Type, Action, Actor{ID, Attributes}, time, timeNano, and the old status/id), its
 * text line, and `--since`/`--until`/`--filter` as `docker events` reads them.
 */
import type { LifecycleEvent } from 'nsbox';
import { constants } from 'node:os';

const ACTIONS: Record<LifecycleEvent['type'], string> = {
  create: 'create', start: 'start', oom: 'oom', kill: 'kill', pause: 'pause', unpause: 'unpause', exit: 'die', remove: 'destroy',
};

export interface DockerEvent {
  status: string;
  id: string;
  Type: 'container';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  /** Exact: a Number cannot hold today's nanoseconds (toJson writes it as a JSON integer). */
  timeNano: bigint;
}

/** Nanoseconds since the epoch of an RFC 3339 time, exactly (Date keeps milliseconds only). */
export function nanos(time: string): bigint {
  const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!m) return BigInt(Date.parse(time)) * 1_000_000n;
  const whole = BigInt(Date.parse(`${m[1]}${m[3]}`)) * 1_000_000n;
  return whole + BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9) || '0');
}

function signalNumber(name: string | null | undefined): string | undefined {
  if (!name) return undefined;
  const n = (constants.signals as Record<string, number>)[name];
  return n === undefined ? name : String(n);
}

export function toDocker(e: LifecycleEvent): DockerEvent {
  const action = ACTIONS[e.type] ?? e.type;
  const attributes: Record<string, string> = { name: e.name };
  if (e.type === 'exit') attributes.exitCode = String(e.exitCode ?? '');
  if (e.type === 'kill') {
    const s = signalNumber(e.signal);
    if (s) attributes.signal = s;
  }
  const ns = nanos(e.time);
  return {
    status: action, id: e.id, Type: 'container', Action: action, Actor: { ID: e.id, Attributes: attributes }, scope: 'local',
    time: Number(ns / 1_000_000_000n), timeNano: ns,
  };
}

/** One line of `--format json`: docker's message, timeNano as the exact integer. */
export function toJson(d: DockerEvent): string {
  return JSON.stringify({ ...d, timeNano: '\u0000' }).replace('"\\u0000"', d.timeNano.toString());
}

/** `2026-12-05T14:51:01.123456789Z container start ID (exitCode=0, name=web)`: docker's line, attributes sorted. */
export function line(e: LifecycleEvent, d: DockerEvent): string {
  const attrs = Object.keys(d.Actor.Attributes).sort().map((k) => `${k}=${d.Actor.Attributes[k]}`).join(', ');
  return `${e.time} container ${d.Action} ${d.id} (${attrs})`;
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** docker's times: RFC 3339 (or a date), Unix seconds (`1700000000.5`), or a Go duration before now (`10m`, `1h30m`). */
export function parseTime(flag: string, text: string, now = Date.now()): Date {
  if (/^\d+(\.\d+)?$/.test(text)) return new Date(Number(text) * 1000);
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) {
    let ms = 0;
    for (const [, n, u] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * UNITS[u!]!;
    return new Date(now - ms);
  }
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`${flag}: invalid time ${JSON.stringify(text)} (RFC 3339 such as 2026-12-05T14:51:01Z, Unix seconds, or a duration before now such as 10m)`);
  return new Date(t);
}

const FILTER_KEYS = ['container', 'event', 'type'];

/** `--filter KEY=VALUE` (repeatable): values of one key are alternatives, different keys must all match. */
export function parseFilters(list: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of list) {
    const i = f.indexOf('=');
    const key = i > 0 ? f.slice(0, i) : '';
    if (!FILTER_KEYS.includes(key)) throw new Error(`--filter: invalid filter ${JSON.stringify(f)} (container=NAME|ID, event=ACTION, type=container)`);
    const value = f.slice(i + 1);
    if (key === 'event' && !Object.values(ACTIONS).includes(value) && !(value in ACTIONS)) {
      throw new Error(`--filter: unknown event ${JSON.stringify(value)} (${Object.values(ACTIONS).join(', ')})`);
    }
    out.set(key, [...(out.get(key) ?? []), value]);
  }
  return out;
}

export function matches(filters: Map<string, string[]>, e: LifecycleEvent, d: DockerEvent): boolean {
  const ok = (key: string, test: (v: string) => boolean) => !filters.has(key) || filters.get(key)!.some(test);
  return ok('container', (v) => v === e.name || (v.length > 0 && e.id.startsWith(v)))
    && ok('event', (v) => v === d.Action || v === e.type)
    && ok('type', (v) => v === 'container');
}

const PLACEHOLDER = /\{\{\s*(json\s+)?\.([\w.]*)\s*\}\}/g;

function lookup(d: Record<string, unknown>, dotted: string): unknown {
  let v: unknown = d;
  for (const k of dotted.split('.').filter(Boolean)) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/** Checks a Go-template `--format` before anything is printed: only `{{.Field.Sub}}` and `{{json .X}}`. */
export function checkTemplate(format: string, sample: DockerEvent): void {
  const rest = format.replace(PLACEHOLDER, '');
  if (rest.includes('{{')) throw new Error(`--format: only {{.Field}} and {{json .Field}} placeholders are supported (${JSON.stringify(format)})`);
  for (const [all, , dotted] of format.matchAll(PLACEHOLDER)) {
    if (dotted && !dotted.startsWith('Actor.Attributes.') && lookup(goView(sample), dotted!) === undefined) {
      throw new Error(`--format: unknown field ${all} (Type, Action, Status, ID, Actor.ID, Actor.Attributes.NAME, Time, TimeNano, Scope)`);
    }
  }
}

/** Go's field names: .Status, .ID, .Time, .TimeNano and .Scope are docker's status, id, time, timeNano and scope. */
function goView(d: DockerEvent): Record<string, unknown> {
  return { ...d, Status: d.status, ID: d.id, Time: d.time, TimeNano: d.timeNano, Scope: d.scope };
}

export function template(format: string, d: DockerEvent): string {
  const go = goView(d);
  return format.replace(PLACEHOLDER, (_a, json: string | undefined, dotted: string) => {
    const v = lookup(go, dotted);
    if (dotted === '') return toJson(d);
    if (typeof v === 'bigint') return v.toString();
    if (json) return JSON.stringify(v ?? null);
    return v === undefined || v === null ? '<no value>' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }).replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}
