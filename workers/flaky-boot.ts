/**
 * Fault injection: after a `crash-then-break-boot` task, the next thread to load this module
 * throws once while loading — a replacement thread dying during bootstrap, which sets piscina's
 * sticky "fails during bootstrap" flag. After `crash-then-slow-boot`, the next one takes 800 ms to
 * load (a slow replacement). Coordination is through files, as threads share no memory.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workerData } from 'node:worker_threads';
import { defineWorker } from '../src/pool/define.ts';

const flag = join(tmpdir(), `pitboss-flaky-boot-${process.pid}-${(workerData as { pool: string }).pool}`);
const slowFlag = `${flag}-slow`;
if (existsSync(flag)) {
  rmSync(flag);
  throw new Error('flaky boot: failing once while loading');
}
if (existsSync(slowFlag)) {
  rmSync(slowFlag);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 800);
}

export default defineWorker((input: { kind: 'ok' | 'crash-then-break-boot' | 'crash-then-slow-boot' }) => {
  if (input.kind === 'crash-then-break-boot' || input.kind === 'crash-then-slow-boot') {
    writeFileSync(input.kind === 'crash-then-break-boot' ? flag : slowFlag, '1');
    process.exit(9);
  }
  return 'ok';
});
