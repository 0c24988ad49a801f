/** `nsbox inspect CONTAINER...`: a JSON array like docker's, with namespaces, maps, offsets, mounts, endpoints, security. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import type { Command } from 'commander';

import { eachContainer, runtimeFor, withRoot, type RootFlags } from './ps-common.js';

export function addInspectCommand(program: Command): void {
  withRoot(program.command('inspect').description('low-level information on containers').argument('<container...>'))
    .action(async (refs: string[], flags: RootFlags) => {
      const rt = runtimeFor(flags);
      const out: unknown[] = [];
      process.exitCode = await eachContainer(refs, async (ref) => {
        const c = rt.get(ref);
        const s = c.inspect();
        let config: unknown = null;
        try {
          config = JSON.parse(readFileSync(path.join(rt.root, s.id, 'config.json'), 'utf8'));
        } catch {
          /* removed meanwhile */
        }
        // The limits in force (update merges its changes into config.json), without the device rules
        // (`security` shows those), and the rlimits.
        const cfg = config as { linux?: { resources?: Record<string, unknown> }; process?: { rlimits?: unknown[] } } | null;
        const { devices: _d, ...limits } = cfg?.linux?.resources ?? {};
        // docker's State block too, for scripts that read `.State.OOMKilled` or `.State.ExitCode`.
        const State = {
          Status: s.status, Running: s.status === 'running' || s.status === 'paused', Paused: s.status === 'paused', OOMKilled: s.oomKilled,
          Dead: s.status === 'dead', Pid: s.status === 'running' || s.status === 'paused' ? s.pid ?? 0 : 0, ExitCode: s.exitCode ?? 0,
          StartedAt: s.startedAt ?? '', FinishedAt: s.finishedAt ?? '',
        };
        // A rootless container's helper, with what is true now inside its netns (its tap device).
        const networkHelper = s.networkHelper ? await c.networkHelper() : null;
        out.push({ ...s, networkHelper, State, resources: { ...limits, rlimits: cfg?.process?.rlimits ?? [] }, security: c.security(), config });
      });
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    });
}
