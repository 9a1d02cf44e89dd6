/**
 * Structured logs and runtime levels outside `startDeployment`: everything a library user needs is
 * exported from the package root, and works with a plain bus and a real pool.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { attachEventLogs, createTelemetry, LogLevels, PitbossLogger, Pool } from '../../src/index.ts';
import { captureLines } from '../helpers/log-capture.ts';
import { eventually, workerPath } from '../helpers/pool.ts';

const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close({ timeoutMs: 2_000 })));
});

describe('logs for library users', () => {
  it('attaches event lines and ctx.log lines from the package root, with levels changed at runtime', async () => {
    const bus = createTelemetry();
    const { stream, lines } = captureLines();
    const logger = new PitbossLogger({ levels: new LogLevels('info'), destination: stream });
    const detach = attachEventLogs(bus, logger);
    const pool = new Pool({ name: 'lib', worker: workerPath('faults'), threads: 1, telemetry: bus, logger, statusIntervalMs: null, sampleIntervalMs: null });
    pools.push(pool);
    await pool.start();

    bus.execute('job.stop', { duration: 1e6, queue_time: 0, attempt: 1 }, { queue: 'q', job_name: 'n', job_id: 'j1', status: 'completed' });
    await pool.run({ kind: 'log', level: 'debug', msg: 'hidden at info' });
    await pool.run({ kind: 'log', level: 'info', msg: 'worker says hi' });
    await eventually(() => lines.some((l) => l.msg === 'worker says hi'), 5_000, 'the ctx.log line');
    expect(lines.find((l) => l.event === 'job_completed')).toMatchObject({ category: 'job', level: 'info', job_id: 'j1' });
    expect(lines.find((l) => l.msg === 'worker says hi')).toMatchObject({ pool: 'lib', worker_id: 0 });
    expect(lines.some((l) => l.msg === 'hidden at info')).toBe(false);

    // Runtime levels: job lines off, this worker's debug on (the thread reads its level from shared memory).
    logger.levels.set({ categories: { job: 'warn' }, workers: { 'lib/0': 'debug' } });
    lines.length = 0;
    bus.execute('job.stop', { duration: 1e6, queue_time: 0, attempt: 1 }, { queue: 'q', job_name: 'n', job_id: 'j2', status: 'completed' });
    await pool.run({ kind: 'log', level: 'debug', msg: 'debug now shown' });
    await eventually(() => lines.some((l) => l.msg === 'debug now shown'), 5_000, 'the debug ctx.log line');
    expect(lines.some((l) => l.event === 'job_completed')).toBe(false);

    detach();
    logger.levels.set({ categories: { job: 'info' } });
    bus.execute('job.stop', { duration: 1e6, queue_time: 0, attempt: 1 }, { queue: 'q', job_name: 'n', job_id: 'j3', status: 'completed' });
    expect(lines.some((l) => l.job_id === 'j3')).toBe(false);
  }, 30_000);
});
