/** Random ids without node:crypto, whose ~15 internal modules cost a CLI start-up about 2 ms to load. */
import { closeSync, openSync, readSync } from 'node:fs';

/** `n` bytes from /dev/urandom (the kernel's CSPRNG, what randomBytes draws from too), as hex. */
export function randomHex(n: number): string {
  const buf = Buffer.alloc(n);
  const fd = openSync('/dev/urandom', 'r');
  try {
    for (let off = 0; off < n;) off += readSync(fd, buf, off, n - off, null);
  } finally {
    closeSync(fd);
  }
  return buf.toString('hex');
}
