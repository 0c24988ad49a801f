/**
 * The image commands (docker's names): `images` (= `image ls`), `image inspect`, `rmi` (= `image rm`),
 * `image prune`, `tag`, `load -i FILE`, `save -o FILE`. The store: NSBOX_STORE, /var/lib/nsbox as root.
 */
import type { Command } from 'commander';
import { inspectImage, listImages, loadImage, pruneImages, removeImage, saveImage, tagImage, type ImageInfo } from 'nsbox';

import { reportError } from '../report-error.js';
import { flagError } from '../run-flags.js';
import { ago, table } from './ps-common.js';

const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);

export function size(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)}${units[i]}`;
}

/** `docker.io/library/busybox:latest` → [`docker.io/library/busybox`, `latest`]. */
function repoTag(full: string): [string, string] {
  // A name pulled by digest (`repo@sha256:…`) has no tag: docker's <none>.
  const name = full.split('@')[0]!;
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? [name.slice(0, colon), name.slice(colon + 1)] : [name, '<none>'];
}

/** docker's `--format` fields, one line a name: `{{.Name}}`, `{{.Repository}}`, `{{.Tag}}`, `{{.ID}}`, `{{.Digest}}`, `{{.Size}}`. */
function template(format: string, i: ImageInfo, name: string): string {
  const [repo, tag] = repoTag(name);
  const fields: Record<string, string> = { Name: name, Repository: repo, Tag: tag, ID: short(i.id), Digest: i.digest, Size: size(i.size), CreatedAt: i.created ?? '' };
  return format.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (all, f: string) => {
    if (fields[f] === undefined) throw flagError('--format', `unknown field ${all} (${Object.keys(fields).map((k) => `{{.${k}}}`).join(' ')})`);
    return fields[f]!;
  }).replace(/\\t/g, '\t');
}

async function list(flags: { quiet?: boolean; noTrunc?: boolean; format?: string; digests?: boolean }): Promise<void> {
  const images = await listImages();
  const id = (i: ImageInfo) => (flags.noTrunc ? i.id : short(i.id));
  if (flags.quiet) return void process.stdout.write([...new Set(images.map(id))].map((x) => `${x}\n`).join(''));
  if (flags.format === 'json') return void process.stdout.write(images.map((i) => `${JSON.stringify(i)}\n`).join(''));
  if (flags.format?.includes('{{')) return void process.stdout.write(images.flatMap((i) => i.names.map((n) => `${template(flags.format!, i, n)}\n`)).join(''));
  if (flags.format && flags.format !== 'table') throw flagError('--format', `unknown format ${JSON.stringify(flags.format)} (table or json)`);
  const rows = images.flatMap((i) => i.names.map((n) => {
    const [repo, tag] = repoTag(n);
    return [repo, tag, ...(flags.digests ? [i.digest] : []), id(i), i.created ? `${ago(i.created)} ago` : '', size(i.size)];
  }));
  process.stdout.write(table([['REPOSITORY', 'TAG', ...(flags.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'], ...rows]));
}

async function rmi(refs: string[], flags: { force?: boolean }): Promise<void> {
  let code = 0;
  for (const r of refs) {
    try {
      const out = await removeImage(r, { force: flags.force === true });
      process.stdout.write([...out.untagged.map((n) => `Untagged: ${n}`), ...out.deleted.map((d) => `Deleted: ${d}`)].map((l) => `${l}\n`).join(''));
    } catch (e) {
      code = reportError(e);
    }
  }
  process.exitCode = code;
}

const guard = (fn: (...a: any[]) => Promise<void>) => async (...a: unknown[]) => {
  try {
    await fn(...a);
  } catch (e) {
    process.exitCode = reportError(e);
  }
};

function lsFlags(c: Command): Command {
  return c
    .option('-q, --quiet', 'only image ids')
    .option('--no-trunc', 'full ids')
    .option('--digests', 'show the manifest digests')
    .option('--format <FORMAT>', "'table' (default), 'json' (one object per line) or a template such as '{{.Name}}'")
    .action(guard(list));
}

export function addImagesCommand(program: Command): void {
  lsFlags(program.command('images').description('list images in the store'));
}

export function addImageCommand(program: Command): void {
  const image = program.command('image').description('manage images in the store');
  lsFlags(image.command('ls').alias('list').description('list images'));
  image.command('inspect').description('image details as JSON (config, layers, digests)').argument('<image...>')
    .action(guard(async (refs: string[]) => {
      const out: unknown[] = [];
      let code = 0;
      for (const r of refs) {
        try {
          out.push(await inspectImage(r));
        } catch (e) {
          code = reportError(e);
        }
      }
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      process.exitCode = code;
    }));
  image.command('rm').description('remove images').argument('<image...>').option('-f, --force', 'even if a container uses it').action(guard(rmi));
  image.command('prune').description('free the blobs and layers nothing uses')
    .option('-a, --all', 'also remove every image no container uses')
    .option('-f, --force', 'do not prompt (nsbox never prompts)')
    .action(guard(async (flags: { all?: boolean }) => {
      const out = await pruneImages({ all: flags.all === true });
      process.stdout.write([...out.untagged.map((n) => `untagged: ${n}`), ...out.deleted.map((d) => `deleted: ${d}`)].map((l) => `${l}\n`).join(''));
      process.stdout.write(`Freed ${out.blobs} blob(s) and ${out.layers} layer(s)\n`);
    }));
}

export function addRmiCommand(program: Command): void {
  program.command('rmi').description('remove images (a name untags; the last name, a digest or an id removes)')
    .argument('<image...>').option('-f, --force', 'even if a container uses it').action(guard(rmi));
}

export function addTagCommand(program: Command): void {
  program.command('tag').description('give an image another name').argument('<source>').argument('<target>')
    .action(guard(async (source: string, target: string) => void (await tagImage(source, target))));
}

export function addLoadCommand(program: Command): void {
  program.command('load').description('load images from an OCI or docker archive (docker save / podman save)')
    .option('-i, --input <FILE>', 'the archive')
    .option('-q, --quiet', 'print nothing')
    .action(guard(async (flags: { input?: string; quiet?: boolean }) => {
      if (!flags.input) throw flagError('--input', 'name the archive with -i FILE (reading stdin is not supported)');
      const loaded = await loadImage(flags.input);
      if (!flags.quiet) process.stdout.write(loaded.map((l) => (l.name ? `Loaded image: ${l.name}\n` : `Loaded image ID: ${l.digest}\n`)).join(''));
    }));
}

export function addSaveCommand(program: Command): void {
  program.command('save').description('write images to an archive').argument('<image...>')
    .option('-o, --output <FILE>', 'the archive to write')
    .option('--format <FORMAT>', 'docker-archive (default) or oci-archive')
    .action(guard(async (refs: string[], flags: { output?: string; format?: string }) => {
      if (!flags.output) throw flagError('--output', 'name the archive with -o FILE (writing to stdout is not supported)');
      const format = flags.format ?? 'docker-archive';
      if (format !== 'docker-archive' && format !== 'oci-archive') throw flagError('--format', `${JSON.stringify(format)}: docker-archive or oci-archive`);
      await saveImage(refs, flags.output, { format });
    }));
}
