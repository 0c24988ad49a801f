/**
 * Following a log across rotations (the monitor renames container.log to container.log.1 at its size
 * limit and starts a new file): the follower finishes the file it holds, reads a file rotated past it
 * whole, and never reads a line twice or from the middle of a file.
 */
import { appendFileSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test from 'ava';

import { readLog } from '../ts/src/lifecycle/logs.js';

const entry = (n: number): string => `${JSON.stringify({ stream: 'stdout', time: '2026-01-01T00:00:00Z', log: `line${n}\n` })}\n`;
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('follow: two rotations between two looks lose nothing, repeat nothing', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nsbox-logs-'));
  const log = path.join(dir, 'container.log');
  try {
    for (let i = 1; i <= 3; i++) appendFileSync(log, entry(i));
    let done = false;
    const seen: string[] = [];
    const reader = (async () => {
      for await (const e of readLog(log, () => done, { follow: true, interval: 300 })) seen.push(e.log.trim());
    })();
    await delay(100); // the follower has read lines 1-3 and sleeps for 300 ms
    appendFileSync(log, entry(4)); // written to the first file after the follower's look
    renameSync(log, `${log}.1`);
    for (let i = 5; i <= 7; i++) appendFileSync(log, entry(i));
    renameSync(log, `${log}.1`); // the first file is gone now (the follower still holds it)
    for (let i = 8; i <= 9; i++) appendFileSync(log, entry(i));
    done = true;
    await reader;
    t.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `line${n}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
