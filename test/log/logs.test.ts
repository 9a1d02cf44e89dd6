import { describe, expect, it } from 'vitest';
import { createTelemetry } from '../../src/index.ts';
import { attachEventLogs, eventLines } from '../../src/log/event-logs.ts';
import { LogLevels } from '../../src/log/levels.ts';
import { PitbossLogger, redactUrl } from '../../src/log/logger.ts';
import { startTestDeployment } from '../helpers/deployment.ts';
import { captureLines } from '../helpers/log-capture.ts';
import { eventually, startPool } from '../helpers/pool.ts';

function setup(level: 'info' | 'debug' = 'info') {
  const { stream, lines } = captureLines();
  const logger = new PitbossLogger({ levels: new LogLevels(level), destination: stream });
  return { logger, lines };
}

describe('logs', () => {
  it('categories have their own levels, changeable at runtime', () => {
    const { logger, lines } = setup();
    logger.category('job').debug({ event: 'x' }, 'hidden');
    logger.levels.set({ categories: { job: 'debug' } });
    logger.category('job').debug({ event: 'x' }, 'shown');
    logger.category('pool').debug({ event: 'x' }, 'still hidden');
    expect(lines.map((l) => l.msg)).toEqual(['shown']);
    expect(lines[0]).toMatchObject({ level: 'debug', category: 'job' });
  });

  it('refuses unknown levels, categories and worker keys naming the key', () => {
    const levels = new LogLevels();
    expect(() => levels.set({ default: 'loud' as never })).toThrow(/default must be one of/);
    expect(() => levels.set({ categories: { nope: 'info' } })).toThrow(/categories\.nope/);
    expect(() => levels.set({ workers: { cpu: 'debug' } })).toThrow(/workers\.cpu/);
    expect(levels.snapshot().version).toBe(0);
  });

  it('redacts secrets', () => {
    const { logger, lines } = setup();
    logger.category('http').info({ headers: { authorization: 'Bearer s3cret' }, password: 'p', config: { token: 't' } }, 'req');
    expect(JSON.stringify(lines[0])).not.toMatch(/s3cret|"p"|"t"/);
    expect(redactUrl('postgres://app:hunter2@db:5432/x')).toBe('postgres://app:***@db:5432/x');
  });

  it('turns catalog events into lines with stable names and job fields', () => {
    const { logger, lines } = setup('debug');
    const bus = createTelemetry();
    attachEventLogs(bus, logger);
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const job = { queue: 'q', job_name: 'n', job_id: '7', correlation_id: 'c-7', traceparent: tp };
    bus.execute('job.start', { attempt: 1, queue_time: 5 }, job);
    bus.execute('job.stop', { attempt: 1, duration: 9 }, { ...job, status: 'completed' });
    bus.execute('job.exception', { attempt: 2 }, { ...job, status: 'failed', error_type: 'Boom', error: 'x' });
    bus.execute('job.exception', { attempt: 3 }, { ...job, status: 'dead', error_type: 'WorkerCrashedError', error: 'x' });
    bus.execute('pool.worker.terminated', { lifetime: 1, tasks: 2 }, { pool: 'p', worker_id: 0, reason: 'crash', planned: false });
    bus.execute('telemetry.handler.failure', {}, { handler_id: 'h', event: 'job.stop', error_type: 'E', error: 'e' });
    expect(lines.map((l) => [l.event, l.level])).toEqual([
      ['job_started', 'debug'], ['job_completed', 'info'], ['job_failed', 'warn'], ['job_crashed', 'error'], ['worker_crashed', 'error'], ['handler_detached', 'error'],
    ]);
    expect(lines[0]).toMatchObject({ queue: 'q', job_id: '7', attempt: 1, correlation_id: 'c-7', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', category: 'job' });
    expect(lines[0]!.traceparent).toBeUndefined();
  });

  it('attaches only the lines the current levels write, and re-attaches on change', () => {
    const { logger, lines } = setup('info');
    const bus = createTelemetry();
    const detach = attachEventLogs(bus, logger);
    expect(bus.listHandlers()[0]!.events).not.toContain('job.start');
    bus.execute('job.start', { attempt: 1 }, { queue: 'q' });
    logger.levels.set({ categories: { job: 'debug' } });
    bus.execute('job.start', { attempt: 1 }, { queue: 'q' });
    expect(lines.map((l) => l.event)).toEqual(['job_started']);
    detach();
    expect(bus.listHandlers()).toEqual([]);
    expect(Object.values(eventLines).length).toBeGreaterThan(15);
  });

  it('a per-worker level change reaches the worker thread without a restart', async () => {
    const { logger, lines } = setup('info');
    const { pool } = await startPool({ threads: 1, logger });
    await pool.run({ kind: 'log', level: 'debug', msg: 'before' });
    logger.levels.set({ workers: { 'test/0': 'debug' } });
    await pool.run({ kind: 'log', level: 'debug', msg: 'after' });
    await pool.run({ kind: 'log', level: 'info', msg: 'info line' });
    await eventually(() => lines.length >= 2, 2000, 'worker lines');
    expect(lines.map((l) => l.msg)).toEqual(['after', 'info line']);
    expect(lines[0]).toMatchObject({ category: 'worker', pool: 'test', worker_id: 0, event: 'worker_log', level: 'debug' });
  });

  it('disabled worker levels are dropped inside the thread, before crossing to the supervisor', async () => {
    const { logger } = setup('info');
    const crossed: string[] = [];
    const { pool } = await startPool({ threads: 1, logger, onLog: (record) => crossed.push(record.msg) });
    await pool.run({ kind: 'log', level: 'debug', msg: 'dropped in thread' });
    logger.levels.set({ categories: { worker: 'debug' } });
    await pool.run({ kind: 'log', level: 'debug', msg: 'crossed' });
    expect(crossed).toEqual(['crossed']);
  });

  it('a deployment names its supervisor on every line as supervisor_id, apart from the tree node of supervisor events', async () => {
    const d = await startTestDeployment();
    await d.running.stop();
    const shutdown = d.logs.filter((line) => line.event === 'supervisor_shutdown');
    // The root of the tree carries the deployment's id; its shutdown line has both keys, once each.
    expect(shutdown.map((line) => [line.supervisor, line.supervisor_id])).toContainEqual([d.running.supervisorId, d.running.supervisorId]);
    expect(d.logs.length).toBeGreaterThan(0);
    for (const line of d.logs) expect(line.supervisor_id).toBe(d.running.supervisorId);
    for (const raw of d.rawLogs) expect(raw.match(/"supervisor":/g)?.length ?? 0, raw).toBeLessThanOrEqual(1);
  }, 30_000);
});
