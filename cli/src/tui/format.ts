/** Pure formatting helpers shared by the views. */
import type { IdMapLine, TimeOffsets } from './api.js';

export const shortId = (id: string): string => id.slice(0, 12);

/** Pads or truncates (with …) to exactly `width` columns. */
export function fit(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  if (s.length > width) return width === 1 ? '…' : `${s.slice(0, width - 1)}…`;
  return align === 'left' ? s.padEnd(width) : s.padStart(width);
}

export function duration(secs: number): string {
  if (!Number.isFinite(secs) || secs < 0) return '-';
  const s = Math.floor(secs);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

export function uptime(startedAt: string | undefined, now: number): string {
  if (!startedAt) return '-';
  const t = Date.parse(startedAt);
  return Number.isNaN(t) ? '-' : duration((now - t) / 1000);
}

export function bytes(n: number | undefined): string {
  if (n === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1)}${units[u]}`;
}

export const percent = (p: number | undefined): string => (p === undefined ? '-' : `${p.toFixed(1)}%`);

export const mapLine = (l: IdMapLine): string => `${l.inside} → ${l.outside} × ${l.length}`;

export function offsets(t: TimeOffsets | undefined): string {
  if (!t) return 'none';
  const one = (o: { secs: number; nanos: number }): string =>
    `${o.secs >= 0 ? '+' : ''}${o.secs}s${o.nanos ? ` ${o.nanos}ns` : ''}${Math.abs(o.secs) >= 60 ? ` (${duration(Math.abs(o.secs))})` : ''}`;
  return `monotonic ${one(t.monotonic)}   boottime ${one(t.boottime)}`;
}

/** First index to show so that `selected` is visible in a window of `height` rows. */
export function windowStart(selected: number, start: number, height: number, count: number): number {
  if (height <= 0 || count <= height) return 0;
  let s = Math.min(Math.max(start, 0), count - height);
  if (selected < s) s = selected;
  else if (selected >= s + height) s = selected - height + 1;
  return Math.max(0, Math.min(s, count - height));
}

/** Splits a command line on spaces, honouring '…' and "…" quoting. */
export function splitCommand(s: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3] ?? '');
  return out;
}

export const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));

const SPARKS = ' ▁▂▃▄▅▆▇█';

/** The last `width` values as block characters, 0…`max` (default: the largest shown, at least 1). */
export function sparkline(values: number[], width: number, max?: number): string {
  const shown = values.slice(-Math.max(0, width));
  const top = max ?? Math.max(1, ...shown);
  return shown.map((v) => SPARKS[clamp(Math.round((v / top) * (SPARKS.length - 1)), 0, SPARKS.length - 1)]).join('').padStart(width);
}

/** A `width`-cell bar filled to `fraction` (0…1). */
export function bar(fraction: number, width: number): string {
  const full = clamp(Math.round(fraction * width), 0, width);
  return `${'█'.repeat(full)}${'░'.repeat(Math.max(0, width - full))}`;
}

/** One line safe to draw: tabs as spaces, no CR, NULs (a /proc cmdline) as spaces, other controls as `?`. */
// eslint-disable-next-line no-control-regex
export const printable = (l: string): string => l.replace(/\t/g, '  ').replace(/\r/g, '').replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\0' ? ' ' : '?'));
