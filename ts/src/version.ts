import { createRequire } from 'node:module';

/** The package's version, read from package.json (ts/src and ts/dist are both two levels below it). */
export const version: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
