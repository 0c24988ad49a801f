// Loaded with --import: prints every module resolved, so a test can check what start-up loads.
import { register } from 'node:module';

register('data:text/javascript,' + encodeURIComponent(`
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  process.stderr.write('import ' + r.url + '\\n');
  return r;
}`));
