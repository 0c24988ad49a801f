/**
 * docker's `stats` text: its units (go-units: BytesSize for memory, 1024-based with 4 significant
 * digits; HumanSizeWithPrecision(…, 3) for network and block I/O, 1000-based), its field names
 * for `--format` and its column titles.
 */
import type { StatsSample } from 'nsbox';

/** Go's `%.{p}g`: p significant digits, trailing zeros dropped, exponent form outside 1e-4…1e{p}. */
export function goG(x: number, p: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x === 0 ? 0 : x);
  const [mant, ex] = x.toExponential(p - 1).split('e') as [string, string];
  const exp = Number(ex);
  const trim = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= p) return `${trim(mant)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return trim(x.toFixed(Math.max(0, p - 1 - exp)));
}

function customSize(size: number, base: number, units: string[], p: number): string {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return `${goG(size, p)}${units[i]}`;
}

/** go-units BytesSize: `1.5MiB`, `64MiB`, `7.755GiB`. */
export const bytesSize = (n: number): string => customSize(n, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'], 4);

/** go-units HumanSizeWithPrecision(n, 3): `1.23kB`, `648B`, `12.3MB`. */
export const humanSize = (n: number): string => customSize(n, 1000, ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'], 3);

export interface StatsRow {
  BlockIO: string;
  CPUPerc: string;
  Container: string;
  ID: string;
  MemPerc: string;
  MemUsage: string;
  Name: string;
  NetIO: string;
  PIDs: string;
}

/** docker's column titles of each field (the table header of a `table …` format). */
export const TITLES: Record<keyof StatsRow, string> = {
  Container: 'CONTAINER', ID: 'CONTAINER ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
};

export const DEFAULT_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

/**
 * One sample as docker's fields; `ref` is what the user named it by (docker's `Container`). A
 * running container without cgroups of its own (rootless on v1) shows `--` where only they could tell.
 */
export function statsRow(s: StatsSample, o: { noTrunc?: boolean; ref?: string }): StatsRow {
  const id = o.noTrunc ? s.id : s.id.slice(0, 12);
  const unknown = s.running && !s.cgroups;
  return {
    BlockIO: unknown ? '-- / --' : `${humanSize(s.blockIO.read)} / ${humanSize(s.blockIO.write)}`,
    CPUPerc: unknown || s.cpuPercent === null ? '--' : `${s.cpuPercent.toFixed(2)}%`,
    Container: o.ref ?? id,
    ID: id,
    MemPerc: unknown ? '--' : `${s.memoryPercent.toFixed(2)}%`,
    MemUsage: unknown ? '-- / --' : `${bytesSize(s.memory.usage)} / ${bytesSize(s.memory.limit)}`,
    Name: s.name,
    NetIO: `${humanSize(s.network.rx)} / ${humanSize(s.network.tx)}`,
    PIDs: unknown ? '--' : String(s.pids.current),
  };
}

const PLACEHOLDER = /\{\{\s*\.(\w+)\s*\}\}/g;

/** Throws docker-like for a placeholder that is not a field. */
export function checkTemplate(format: string): void {
  for (const [all, field] of format.matchAll(PLACEHOLDER)) {
    if (!(field! in TITLES)) throw new Error(`--format: unknown field ${all} (${Object.keys(TITLES).map((k) => `{{.${k}}}`).join(' ')})`);
  }
}

/** docker's `{{json .}}`: the whole row as JSON. */
const JSON_DOT = /\{\{\s*json\s+\.\s*\}\}/g;

const fill = (format: string, get: (field: keyof StatsRow) => string, row?: StatsRow): string =>
  format.replace(JSON_DOT, () => (row ? JSON.stringify(row) : 'JSON')).replace(PLACEHOLDER, (_a, f: keyof StatsRow) => get(f))
    .replace(/\\t/g, '\t').replace(/\\n/g, '\n');

/**
 * The text of one sample batch for a Go-template format: `table …` gets docker's header and
 * tabwriter columns (minimum width 10, padding 3); anything else is one line per container.
 */
export function render(format: string, rows: StatsRow[]): string {
  const table = format.startsWith('table');
  const body = table ? format.replace(/^table\s*/, '') : format;
  const lines = rows.map((r) => fill(body, (f) => r[f], r));
  if (!table) return lines.map((l) => `${l}\n`).join('');
  const cells = [fill(body, (f) => TITLES[f]), ...lines].map((l) => l.split('\t'));
  const n = Math.max(...cells.map((c) => c.length));
  const widths = Array.from({ length: n }, (_, i) => Math.max(10, ...cells.map((c) => (c[i]?.length ?? 0) + 3)));
  return cells.map((c) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]!))).join('').trimEnd()).map((l) => `${l}\n`).join('');
}
