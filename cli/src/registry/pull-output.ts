/**
 * docker's pull output, shared by `nsbox pull` (on stdout) and by `run`/`create` when they pull a
 * missing image (on stderr, after "Unable to find image 'X' locally", as docker prints it).
 */
import { ensureImage, type EnsureImageHooks, type ProgressEvent, type PullPolicyOptions, type PullResult } from 'nsbox';

import { ProgressPrinter } from './progress.js';

/** `alpine:latest` for `docker.io/library/alpine:latest`, as docker names it in its lines. */
export const familiar = (reference: string): string => reference.replace(/^docker\.io\/(library\/(?=[^/]+$))?/, '');

export class PullLines {
  readonly printer: ProgressPrinter;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly image: string,
    private readonly quiet = false,
  ) {
    this.printer = new ProgressPrinter(out, out.isTTY === true && !quiet);
  }

  onProgress = (e: ProgressEvent): void => {
    if (this.quiet) return;
    if (e.kind === 'resolved') {
      const image = this.image;
      const hasTag = /:[^/]*$/.test(image.split('@')[0]!.split('/').pop() ?? '') || image.includes('@');
      if (!hasTag) this.out.write('Using default tag: latest\n');
      const at = image.includes('@') ? image.split('@')[1]! : (e.reference.split('/').pop()!.split(':')[1] ?? 'latest');
      const repo = e.reference.replace(/^[^/]+\//, '').replace(/[:@].*$/, '');
      this.out.write(`${at}: Pulling from ${repo}\n`);
    }
    this.printer.handle(e);
  };

  /** The Digest and Status lines once the pull is done. */
  done(result: PullResult): void {
    this.printer.finish();
    if (this.quiet) return;
    const name = familiar(result.reference);
    this.out.write(`Digest: ${result.digest}\n`);
    this.out.write(result.downloaded ? `Status: Downloaded newer image for ${name}\n` : `Status: Image is up to date for ${name}\n`);
  }
}

/**
 * `run`/`create`: the pull policy applied before the container is made, docker's lines on stderr.
 * Returns the options with `pull: 'never'`, so the library does not pull again.
 */
export async function pullForRun<T extends PullPolicyOptions>(o: T, signal?: AbortSignal): Promise<T> {
  if (o.image === undefined) return o;
  const lines = new PullLines(process.stderr, o.image);
  const hooks: EnsureImageHooks = {
    onMissing: (ref) => process.stderr.write(`Unable to find image '${familiar(withTag(ref))}' locally\n`),
    onProgress: lines.onProgress,
    onPulled: (r) => lines.done(r),
  };
  if (signal) hooks.signal = signal;
  try {
    return await ensureImage(o, hooks);
  } finally {
    lines.printer.finish();
  }
}

/** docker's message shows the reference with its default tag (`busybox:latest`). */
function withTag(ref: string): string {
  const last = ref.split('@')[0]!.split('/').pop() ?? '';
  return ref.includes('@') || last.includes(':') ? ref : `${ref}:latest`;
}
