/**
 * An image's config applied to run options, by docker's rules: a command given replaces Cmd;
 * `entrypoint` replaces Entrypoint and clears Cmd; `env` is merged over the image's Env; `cwd`
 * (-w) over WorkingDir; `user` (-u) over User (names looked up in the image's /etc/passwd and
 * /etc/group); Volumes become anonymous volumes (directories in the container's layer, filled with
 * what the image has at that path, as docker does).
 */
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { invalidSpec } from '../errors.js';
import { nativeImageSync } from '../native.js';
import { userSpec, type UserSpec, type ValidatedOptions, type Volume } from '../options.js';
import type { ImageRunConfig } from './store.js';

export interface ImageContext {
  reference: string;
  /** Layer directories, top first. */
  lowerdirs: string[];
  /** Where anonymous volumes are made (the container's writable layer directory). */
  volumeDir: string;
  store?: string;
}

export function applyImageConfig(o: ValidatedOptions, cfg: ImageRunConfig, ctx: ImageContext): ValidatedOptions {
  const out: ValidatedOptions = { ...o };
  const entrypoint = o.entrypoint !== undefined ? entrypointList(o.entrypoint) : (cfg.Entrypoint ?? []);
  const given = o.command !== undefined && o.command.length > 0;
  const cmd = given ? o.command! : o.entrypoint !== undefined ? [] : (cfg.Cmd ?? []);
  out.command = [...entrypoint, ...cmd];
  if (out.command.length === 0 || out.command[0] === '') {
    throw invalidSpec('command', `image ${ctx.reference} has no Entrypoint or Cmd: give a command`);
  }
  const env = new Map<string, string>();
  for (const e of [...(cfg.Env ?? []), ...(o.env ?? [])]) {
    const i = e.indexOf('=');
    if (i > 0) env.set(e.slice(0, i), e);
  }
  out.env = [...env.values()];
  if (o.cwd === undefined && cfg.WorkingDir) {
    if (!cfg.WorkingDir.startsWith('/')) throw invalidSpec('image.WorkingDir', `${JSON.stringify(cfg.WorkingDir)} in ${ctx.reference} is not absolute`);
    out.cwd = cfg.WorkingDir;
  }
  if (o.user === undefined && cfg.User) out.user = imageUser(cfg.User, ctx);
  const volumes = Object.keys(cfg.Volumes ?? {}).filter((t) => !(o.volumes ?? []).some((v) => path.posix.normalize(v.target) === path.posix.normalize(t)));
  if (volumes.length) out.volumes = [...(o.volumes ?? []), ...volumes.map((t, i) => anonymousVolume(t, i, ctx))];
  return out;
}

function entrypointList(e: string | string[]): string[] {
  if (typeof e === 'string') return e === '' ? [] : [e];
  return e;
}

function anonymousVolume(target: string, i: number, ctx: ImageContext): Volume {
  if (!target.startsWith('/')) throw invalidSpec('image.Volumes', `${JSON.stringify(target)} in ${ctx.reference} is not absolute`);
  const source = path.join(ctx.volumeDir, 'volumes', String(i));
  mkdirSync(source, { recursive: true, mode: 0o755 });
  // As docker: the volume starts with what the image has there.
  nativeImageSync<null>('imagePopulateVolume', ctx.store ?? null, ctx.lowerdirs, target, source);
  return { source, target, readOnly: false };
}

/** `User` of an image: `uid[:gid]`, or names resolved in the image's own passwd/group files. */
export function imageUser(spec: string, ctx: ImageContext): UserSpec {
  if (/^\d+(:\d+)?$/.test(spec)) {
    const u = userSpec(spec);
    if (u.gid === undefined) u.gid = Number(field(ctx, 'etc/passwd', (f) => f[2] === String(u.uid), 3) ?? 0);
    return u;
  }
  const [user, group] = spec.split(':', 2) as [string, string | undefined];
  const byName = (f: string[], name: string) => f[0] === name;
  const uid = /^\d+$/.test(user) ? user : field(ctx, 'etc/passwd', (f) => byName(f, user), 2);
  if (uid === undefined) throw invalidSpec('user', `image ${ctx.reference}: no user ${JSON.stringify(user)} in its /etc/passwd`);
  let gid: string | undefined;
  if (group === undefined) gid = field(ctx, 'etc/passwd', (f) => f[2] === uid, 3) ?? '0';
  else gid = /^\d+$/.test(group) ? group : field(ctx, 'etc/group', (f) => byName(f, group), 2);
  if (gid === undefined) throw invalidSpec('user', `image ${ctx.reference}: no group ${JSON.stringify(group)} in its /etc/group`);
  return { uid: Number(uid), gid: Number(gid) };
}

/** A field of the first matching line of the topmost layer's copy of `file` (never through a symlink). */
function field(ctx: ImageContext, file: string, match: (f: string[]) => boolean, index: number): string | undefined {
  for (const dir of ctx.lowerdirs) {
    const p = path.join(dir, file);
    let text: string;
    try {
      if (!lstatSync(path.join(dir, 'etc')).isDirectory() || !lstatSync(p).isFile()) continue;
      text = readFileSync(p, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f.length > index && match(f)) return f[index];
    }
    return undefined;
  }
  return undefined;
}
