/** An OCI bundle (config.json from the TS API's ociConfig) for driving nsbox-runtime directly. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { ociConfig } from '../../ts/src/index.js';
import type { Rootfs } from '../helpers/rootfs.js';

export function writeBundle(rootfs: Rootfs, command: string[]): string {
  const spec = ociConfig({ command, rootfs: rootfs.root });
  writeFileSync(path.join(rootfs.dir, 'config.json'), JSON.stringify(spec));
  return rootfs.dir;
}
