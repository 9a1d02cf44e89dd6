// Stalled-job recovery: a job taken by a consumer that dies (SIGKILLed process) or walks away (a close
// that timed out) is handed out again once its lock lapses, to whichever consumer checks next.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BullmqDispatcher } from '../../../src/jobs/dispatch/index.ts';
import type { Dispatcher } from '../../../src/jobs/types.ts';
import { testRedisUrl } from '../../helpers/services.ts';
import { deferred, eventually, job, recorder, uniquePrefix } from './helpers.ts';

const LOCK_DURATION_MS = 1_000;
const STALLED_INTERVAL_MS = 300;
const holdingConsumer = fileURLToPath(new URL('./fixtures/holding-consumer.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const opened: Dispatcher[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((dispatcher) => dispatcher.close()));
});

function dispatcher(prefix: string): BullmqDispatcher {
  const created = new BullmqDispatcher({ url: testRedisUrl(), prefix, lockDurationMs: LOCK_DURATION_MS, stalledIntervalMs: STALLED_INTERVAL_MS });
  opened.push(created);
  return created;
}

describe('BullmqDispatcher stalled-job recovery', () => {
  it('hands a job out again after the process that took it was SIGKILLed', async () => {
    const prefix = uniquePrefix();
    const producer = dispatcher(prefix);
    await producer.add([job('1')]);

    const child = spawn(process.execPath, ['--import', 'tsx', holdingConsumer, testRedisUrl(), prefix], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await eventually(() => output.includes('taken 1'), `the child to take job 1 (output: ${output})`, 20_000);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }

    const rec = recorder();
    producer.consume('q', { concurrency: 1 }, rec.process);
    await eventually(() => rec.deliveries.length === 1, 'job 1 handed out again', LOCK_DURATION_MS + 10 * STALLED_INTERVAL_MS + 5_000);
    expect(rec.ids()).toEqual(['1']);
    await eventually(async () => (await producer.count('q')) === 0, 'count 0 after done');
  });

  it('hands a job out again after a consumer abandoned it on a close that timed out', async () => {
    const prefix = uniquePrefix();
    const first = dispatcher(prefix);
    const release = deferred();
    const abandoning = recorder(async () => {
      await release.promise;
      return { kind: 'done' };
    });
    const consumer = first.consume('q', { concurrency: 1 }, abandoning.process);
    await first.add([job('1')]);
    await eventually(() => abandoning.deliveries.length === 1, 'job 1 taken');
    await consumer.close(100);

    const second = dispatcher(prefix);
    const rec = recorder();
    second.consume('q', { concurrency: 1 }, rec.process);
    await eventually(() => rec.deliveries.length === 1, 'job 1 handed out again', LOCK_DURATION_MS + 10 * STALLED_INTERVAL_MS + 5_000);
    // The abandoned attempt finishing late records nothing: it no longer owns the job.
    release.resolve();
    await eventually(async () => (await second.count('q')) === 0, 'count 0 after done');
    expect(rec.ids()).toEqual(['1']);
  });
});
