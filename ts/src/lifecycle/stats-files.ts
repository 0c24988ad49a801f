/**
 * How stats reads its small files cheaply. A cgroup or /proc seq file regenerates its text on every
 * read at offset 0, so a stream keeps each file open and preads it (one syscall per file per sample,
 * about a third of open+read+close's cost on this host); a one-off read opens, reads once and closes.
 */
import { closeSync, openSync, readSync } from 'node:fs';

const BUF = Buffer.allocUnsafe(64 * 1024);

/** The whole (small) file, or undefined when it cannot be read: a container gone meanwhile. */
export function readSmall(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    // One read: cgroup and /proc seq files hand over all they have (far below 64 KiB) at once.
    return BUF.toString('latin1', 0, readSync(fd, BUF, 0, BUF.length, null));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export type ReadFile = (file: string) => string | undefined;

/** Files held open at most: beyond, reads fall back to open+read+close (the fd limit is shared). */
const MAX_OPEN = 4096;

/**
 * Files kept open between the samples of a stream. `sweep()` after each sample closes those not
 * read in it (containers gone: a removed cgroup's file only answers ENODEV); `close()` closes all.
 */
export class OpenFiles {
  private readonly fds = new Map<string, number>();
  private readonly used = new Set<string>();

  readonly read: ReadFile = (file) => {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      if (this.fds.size >= MAX_OPEN) return readSmall(file);
      try {
        fd = openSync(file, 'r');
      } catch {
        return undefined;
      }
      this.fds.set(file, fd);
    }
    this.used.add(file);
    try {
      return BUF.toString('latin1', 0, readSync(fd, BUF, 0, BUF.length, 0));
    } catch {
      this.drop(file);
      return undefined;
    }
  };

  sweep(): void {
    for (const file of [...this.fds.keys()]) if (!this.used.has(file)) this.drop(file);
    this.used.clear();
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    this.used.clear();
  }

  private drop(file: string): void {
    const fd = this.fds.get(file);
    this.fds.delete(file);
    if (fd !== undefined) closeSync(fd);
  }
}
