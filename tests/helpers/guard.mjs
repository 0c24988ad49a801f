// Loaded by ava into every test worker before its test file (package.json "ava.require").
//
// A synchronous child that never ends (or whose grandchild keeps its pipes open) blocks a worker's
// event loop for good: ava cannot even time it out from inside, and `npm test` then runs until CI
// kills it, saying nothing. Here every spawnSync/execFileSync/execSync a test makes without a
// timeout gets one, so such a call fails with ETIMEDOUT and names its command instead.
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

const DEFAULT_MS = Number(process.env.NSBOX_TEST_SYNC_TIMEOUT_MS) || 180_000;

function guarded(fn, optionsIndex) {
  return function (...args) {
    // (file, args?, options?) or (command, options?): find the options object, or add one
    let i = optionsIndex;
    if (optionsIndex === 2 && !Array.isArray(args[1])) i = 1;
    const o = args[i];
    if (o === undefined || (typeof o === 'object' && o !== null && !Array.isArray(o))) {
      if (o?.timeout === undefined) args[i] = { ...o, timeout: DEFAULT_MS, killSignal: o?.killSignal ?? 'SIGKILL' };
    }
    return fn.apply(this, args);
  };
}

childProcess.spawnSync = guarded(childProcess.spawnSync, 2);
childProcess.execFileSync = guarded(childProcess.execFileSync, 2);
childProcess.execSync = guarded(childProcess.execSync, 1);
syncBuiltinESMExports();

// A test that fails half-way can leave a child behind (a container waiting on its stdin for a `go`
// that never comes): its pipes keep the worker alive after its last test, and `npm test` waits for
// it. Once ava is done with a file, the worker exits; our containers die with their caller.
// (ava's ESM entry has it; this file is loaded as CommonJS, hence the import in the hook ava awaits.)
export default async function guard() {
  const { registerCompletionHandler } = await import('ava');
  registerCompletionHandler(() => process.exit());
}
