// Loaded with --import: prints every module resolved, ESM and CommonJS (the CLI bundle is CommonJS),
// so a test can check what start-up loads.
import Module, { register } from 'node:module';
import { pathToFileURL } from 'node:url';

register('data:text/javascript,' + encodeURIComponent(`
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  process.stderr.write('import ' + r.url + '\\n');
  return r;
}`));

const load = Module._load;
Module._load = function (request, parent, isMain) {
  try {
    const file = Module._resolveFilename(request, parent, isMain);
    process.stderr.write(`import ${file.startsWith('/') ? pathToFileURL(file).href : file}\n`);
  } catch { /* the real load reports it */ }
  return load.apply(this, arguments);
};
