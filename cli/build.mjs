#!/usr/bin/env node
// Bundles the CLI into cli/dist with esbuild (tsc only type-checks cli/). Start-up is what this is
// for: Node parses one file instead of ~60 modules, and loads nothing the command does not use.
//
//   cli/dist/main.js   the `nsbox` executable: commander, the commands and the library, CommonJS
//                      (cli/dist/package.json says so): Node's ESM loader costs a few ms more, and an
//                      ESM import of a builtin evaluates every lazy getter it has (node:crypto loads
//                      webcrypto).
//   cli/dist/tui.mjs   `nsbox tui` alone imports it: the TUI, ink and react (ESM: yoga-layout uses
//                      top-level await), and tui-*.mjs what it imports lazily. It has its own copy
//                      of the library.
//   cli/dist/meta.json esbuild's metafile: which sources went where (tests read it; not packaged).
//
// Builtins that only some commands need (child_process, crypto, net, …) are loaded on first use: the
// bundle imports them through a stub (lazyBuiltins below) that requires the real module when one of
// its functions is first called.
//
// Both bundles sit in cli/dist itself, two levels below the package root like ts/dist's files, so the
// library's package-relative paths (ts/src/platform.ts, version.ts) hold.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

const cliDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(cliDir);
const outdir = path.join(cliDir, 'dist');
const require = createRequire(import.meta.url);

const LAZY = ['child_process', 'crypto', 'dgram', 'fs/promises', 'net', 'readline', 'timers/promises'];

/**
 * `import { spawn } from 'node:child_process'` (or commander's require of it) gets a module whose
 * `spawn` requires node:child_process on its first call. Only functions are wrapped; the default
 * export is a proxy. A named import of anything else (a class, a constant) fails the build, so a
 * wrapper never stands where identity matters.
 */
export const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    const filter = new RegExp(`^(node:)?(${LAZY.join('|').replace('/', '\\/')})$`);
    build.onResolve({ filter }, (args) => {
      if (args.namespace === 'lazy-builtin') return { path: args.path, external: true };
      return { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' };
    });
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
      const real = require(`node:${args.path}`);
      const fns = Object.getOwnPropertyNames(real).filter((k) => {
        const d = Object.getOwnPropertyDescriptor(real, k);
        return /^[a-z]\w*$/.test(k) && typeof d?.value === 'function' && !/^class\b/.test(Function.prototype.toString.call(d.value));
      });
      const id = JSON.stringify(`node:${args.path}`);
      return {
        loader: 'js',
        contents: [
          `let m; const load = () => (m ??= require(${id}));`,
          ...fns.map((k) => `export function ${k}(...a) { return load().${k}.apply(this, a); }`),
          'export default /* @__PURE__ */ new Proxy({}, { get: (_, k) => load()[k], has: (_, k) => k in load() });',
        ].join('\n'),
      };
    });
  },
};

/** What both bundles share. */
export const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // The CLI imports the library by its name; bundle its sources.
  alias: { nsbox: './ts/src/index.ts' },
  // ink loads it only when DEV=true (React devtools); it is not a dependency.
  external: ['react-devtools-core'],
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
};

/** A CommonJS bundle run from a file two levels below the package root (bench/cli-start.mjs builds one too). */
export const cjs = {
  ...common,
  format: 'cjs',
  plugins: [lazyBuiltins],
  define: { ...common.define, 'import.meta.url': '__nsboxModuleUrl' },
  banner: { js: "var __nsboxModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
};


async function build() {
  fs.rmSync(outdir, { recursive: true, force: true });
  const [main, tui] = await Promise.all([
    esbuild.build({
      ...cjs,
      entryPoints: { main: 'cli/src/main.ts' },
      outdir,
      // The TUI is the other bundle; the command imports it by its output name.
      plugins: [...cjs.plugins, { name: 'tui-external', setup: (b) => b.onResolve({ filter: /\/tui\/index\.js$/ }, () => ({ path: './tui.mjs', external: true })) }],
    }),
    esbuild.build({
      ...common,
      entryPoints: { tui: 'cli/src/tui/index.ts' },
      outdir,
      outExtension: { '.js': '.mjs' },
      format: 'esm',
      // ink imports React's devtools (not a dependency) only when DEV=true: it must stay in a chunk of its own.
      splitting: true,
      chunkNames: 'tui-[hash]',
      // react and commander's dependencies are CommonJS: their require() of Node's modules needs a real one.
      banner: { js: "import { createRequire as __nsboxCreateRequire } from 'node:module'; const require = __nsboxCreateRequire(import.meta.url);" },
    }),
  ]);
  fs.writeFileSync(path.join(outdir, 'package.json'), '{ "type": "commonjs" }\n');
  const meta = { inputs: { ...main.metafile.inputs, ...tui.metafile.inputs }, outputs: { ...main.metafile.outputs, ...tui.metafile.outputs } };
  fs.writeFileSync(path.join(outdir, 'meta.json'), JSON.stringify(meta));
  fs.chmodSync(path.join(outdir, 'main.js'), 0o755);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await build();
