/**
 * Fault injection: after a `crash-then-break-boot` task, the next thread to load this module
 * throws once while loading — a replacement thread dying during bootstrap, which sets piscina's
 * sticky "fails during bootstrap" flag. Coordination is through a file, as threads share no memory.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workerData } from 'node:worker_threads';
import { defineWorker } from '../src/pool/define.ts';

const flag = join(tmpdir(), `pitboss-flaky-boot-${process.pid}-${(workerData as { pool: string }).pool}`);
if (existsSync(flag)) {
  rmSync(flag);
  throw new Error('flaky boot: failing once while loading');
}

export default defineWorker((input: { kind: 'ok' | 'crash-then-break-boot' }) => {
  if (input.kind === 'crash-then-break-boot') {
    writeFileSync(flag, '1');
    process.exit(9);
  }
  return 'ok';
});
