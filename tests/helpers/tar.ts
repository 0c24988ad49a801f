/**
 * A small, deterministic tar writer (POSIX ustar, with pax extended headers where ustar runs out):
 * regular files, directories, symlinks, hard links, character/block devices and fifos, with modes
 * (setuid and sticky bits included), owners, mtimes and xattrs. Enough for OCI layers and image
 * archives; it never reads the host's metadata, so the same entries always give the same bytes.
 */
import path from 'node:path';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  type: TarEntryType;
  /** Relative path inside the archive, without a leading `/` or `./` (directories need no trailing `/`). */
  path: string;
  /** Regular files only. */
  content?: Buffer | string;
  /** symlink: what the link says; hardlink: the archive path of the file it links to. */
  target?: string;
  /** Permission bits, including setuid (0o4000), setgid (0o2000) and sticky (0o1000). */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Seconds since the epoch. */
  mtime?: number;
  /** char/block devices. */
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, written as pax `SCHILY.xattr.NAME` records (what GNU tar and containers/storage read). */
  xattrs?: Record<string, string | Buffer>;
  /**
   * Write `path` (and a hard link's `target`) exactly as given — `../x`, `/abs` — for the hostile-layer
   * tests; a layer holding such an entry is written in the order given, not canonicalised.
   */
  raw?: boolean;
}

/** 2024-01-01T00:00:00Z: the default mtime of every entry, so archives do not depend on the clock. */
export const FIXED_MTIME = 1704067200;

const TYPEFLAG: Record<TarEntryType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };
const BLOCK = 512;

function octal(value: number, width: number): string {
  // width includes the terminating NUL
  const s = value.toString(8);
  if (s.length > width - 1) throw new Error(`tar: ${value} does not fit an octal field of ${width} bytes`);
  return s.padStart(width - 1, '0') + '\0';
}

function writeString(buf: Buffer, offset: number, width: number, value: string, field: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > width) throw new Error(`tar: ${field} ${JSON.stringify(value)} is longer than ${width} bytes`);
  bytes.copy(buf, offset);
}

/** Splits a long path into ustar's prefix (≤155) and name (≤100) at a `/`, or returns null. */
function splitUstar(name: string): [string, string] | null {
  const bytes = Buffer.byteLength(name);
  if (bytes <= 100) return ['', name];
  if (bytes > 256) return null;
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest.length > 0) return [prefix, rest];
  }
  return null;
}

function paxRecord(key: string, value: Buffer): Buffer {
  // "LEN key=value\n", LEN counting itself
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function header(fields: {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, fields.name, 'name');
  writeString(h, 100, 8, octal(fields.mode, 8), 'mode');
  writeString(h, 108, 8, octal(fields.uid, 8), 'uid');
  writeString(h, 116, 8, octal(fields.gid, 8), 'gid');
  writeString(h, 124, 12, octal(fields.size, 12), 'size');
  writeString(h, 136, 12, octal(fields.mtime, 12), 'mtime');
  h.fill(' ', 148, 156); // checksum is computed with its own field as spaces
  writeString(h, 156, 1, fields.typeflag, 'typeflag');
  writeString(h, 157, 100, fields.linkname, 'linkname');
  writeString(h, 257, 6, 'ustar\0', 'magic');
  writeString(h, 263, 2, '00', 'version');
  writeString(h, 265, 32, fields.uname, 'uname');
  writeString(h, 297, 32, fields.gname, 'gname');
  writeString(h, 329, 8, octal(fields.devmajor, 8), 'devmajor');
  writeString(h, 337, 8, octal(fields.devminor, 8), 'devminor');
  writeString(h, 345, 155, fields.prefix, 'prefix');
  let sum = 0;
  for (const b of h) sum += b;
  writeString(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ', 'checksum');
  return h;
}

function pad(len: number): Buffer {
  const rem = len % BLOCK;
  return Buffer.alloc(rem === 0 ? 0 : BLOCK - rem);
}

function normalise(p: string): string {
  const n = path.posix.normalize(p.replace(/^\/+/, '').replace(/^(\.\/)+/, ''));
  if (n === '.' || n === '' || n.startsWith('../')) throw new Error(`tar: bad entry path ${JSON.stringify(p)}`);
  return n.replace(/\/+$/, '');
}

/** One entry's header(s) and data, 512-byte aligned. */
export function tarEntry(e: TarEntry): Buffer {
  const p = e.raw ? e.path : normalise(e.path);
  const content = e.type === 'file' ? (typeof e.content === 'string' ? Buffer.from(e.content) : (e.content ?? Buffer.alloc(0))) : Buffer.alloc(0);
  const name = e.type === 'dir' ? `${p}/` : p;
  const linkname = e.type === 'symlink' || e.raw ? (e.target ?? '') : e.type === 'hardlink' ? normalise(e.target ?? '') : '';
  if ((e.type === 'symlink' || e.type === 'hardlink') && !linkname) throw new Error(`tar: ${e.type} ${p} needs a target`);
  const uid = e.uid ?? 0;
  const gid = e.gid ?? 0;
  const mtime = e.mtime ?? FIXED_MTIME;
  const mode = e.mode ?? (e.type === 'dir' ? 0o755 : e.type === 'symlink' ? 0o777 : 0o644);

  const pax: Buffer[] = [];
  let split = splitUstar(name);
  if (!split) {
    pax.push(paxRecord('path', Buffer.from(name)));
    split = ['', Buffer.from(name).subarray(0, 100).toString('latin1').replace(/[^\x20-\x7e]/g, '_')];
  }
  let link = linkname;
  if (Buffer.byteLength(linkname) > 100) {
    pax.push(paxRecord('linkpath', Buffer.from(linkname)));
    link = linkname.slice(0, 100);
  }
  for (const [k, v] of Object.entries(e.xattrs ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    pax.push(paxRecord(`SCHILY.xattr.${k}`, typeof v === 'string' ? Buffer.from(v) : v));
  }
  const out: Buffer[] = [];
  if (pax.length) {
    const body = Buffer.concat(pax);
    const paxName = `PaxHeaders/${path.posix.basename(p)}`.slice(0, 100);
    out.push(
      header({ name: paxName, prefix: '', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime, typeflag: 'x', linkname: '', uname: '', gname: '', devmajor: 0, devminor: 0 }),
      body,
      pad(body.length),
    );
  }
  out.push(
    header({
      name: split[1],
      prefix: split[0],
      mode: mode & 0o7777,
      uid,
      gid,
      size: content.length,
      mtime,
      typeflag: TYPEFLAG[e.type],
      linkname: link,
      uname: e.uname ?? (uid === 0 ? 'root' : ''),
      gname: e.gname ?? (gid === 0 ? 'root' : ''),
      devmajor: e.devmajor ?? 0,
      devminor: e.devminor ?? 0,
    }),
    content,
    pad(content.length),
  );
  return Buffer.concat(out);
}

/** A whole archive: the entries in the order given, then the two zero blocks that end a tar. */
export function tarArchive(entries: TarEntry[]): Buffer {
  return Buffer.concat([...entries.map(tarEntry), Buffer.alloc(2 * BLOCK)]);
}

/**
 * The canonical order for reproducible layers: missing parent directories added (0755, root), every
 * path once (the last definition wins), sorted bytewise by path, and hard links after everything else
 * so their targets are always written first.
 */
export function canonicalEntries(entries: TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const e of entries) {
    const p = normalise(e.path);
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!byPath.has(parent)) byPath.set(parent, { type: 'dir', path: parent });
    }
    byPath.set(p, { ...e, path: p });
  }
  const cmp = (a: TarEntry, b: TarEntry) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));
  const all = [...byPath.values()];
  return [...all.filter((e) => e.type !== 'hardlink').sort(cmp), ...all.filter((e) => e.type === 'hardlink').sort(cmp)];
}
