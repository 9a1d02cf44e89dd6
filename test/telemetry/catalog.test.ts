import { describe, expect, it } from 'vitest';
import { catalog } from '../../src/index.ts';

// DESIGN.md's catalog table, transcribed: the code's catalog must hold exactly these events.
const designEvents = [
  'pool.initialized', 'pool.status', 'pool.saturated', 'pool.queue.enqueued', 'pool.queue.dequeued', 'pool.queue.timeout',
  'pool.worker.spawn_started', 'pool.worker.spawned', 'pool.worker.spawn_failed', 'pool.worker.terminated', 'pool.worker.restarted',
  'pool.worker.recycled', 'worker.call.start', 'worker.call.stop', 'worker.call.exception', 'worker.memory.sampled', 'worker.cpu.sampled',
  'job.enqueued', 'job.start', 'job.stop', 'job.exception', 'job.retry', 'job.dead', 'job.stalled', 'job.cancelled',
  'action.start', 'action.stop', 'action.exception', 'supervisor.child.started', 'supervisor.child.terminated',
  'supervisor.child.restarted', 'supervisor.intensity_exceeded', 'supervisor.shutdown', 'dispatch.connection.lost',
  'dispatch.connection.reconnected', 'store.connection.lost', 'store.connection.reconnected', 'store.flush',
  'telemetry.handler.failure', 'telemetry.events.dropped', 'telemetry.control.changed',
];

// Events the issues added beyond DESIGN.md's table, each with the issue that asked for it.
const addedEvents = [
  'worker.call.crashed', // issue 14: task-caused thread deaths counted apart from intensity, so a poison task type shows
  'queue.paused', 'queue.resumed', // issue 18: an operator pauses and resumes a queue fleet-wide
  'schedule.fired', 'schedule.skipped', // issue 18: cron schedules, each tick fired (or skipped, with why) once across a fleet
  'job.retried', // issue 18: an operator put a dead, failed or cancelled job back to queued
  'job.progress', // issue 18: ctx.progress of a running job
];

// Values that are unbounded per job, thread or error and so must never become metric labels.
const unbounded = ['job_id', 'error', 'thread_id', 'correlation_id', 'traceparent', 'event', 'progress_json'];

describe('catalog', () => {
  it('holds exactly the events of DESIGN.md and the ones issues added', () => {
    expect(Object.keys(catalog).sort()).toEqual([...designEvents, ...addedEvents].sort());
  });

  it.each(Object.entries(catalog))('%s is well formed', (name, spec) => {
    expect(name).toMatch(/^[a-z0-9_]+(\.[a-z0-9_]+)+$/);
    expect(spec.description.length).toBeGreaterThan(5);
    for (const label of spec.labels) expect(spec.metadata).toContain(label);
    for (const key of unbounded) expect(spec.labels as readonly string[]).not.toContain(key);
    expect(new Set(spec.measurements).size).toBe(spec.measurements.length);
    expect(new Set(spec.metadata).size).toBe(spec.metadata.length);
  });

  it('span families have stop and exception carrying duration', () => {
    for (const prefix of ['worker.call', 'job', 'action'] as const) {
      expect(catalog[`${prefix}.stop`].measurements).toContain('duration');
      expect(catalog[`${prefix}.exception`].measurements).toContain('duration');
      expect(catalog[`${prefix}.exception`].metadata).toContain('error_type');
    }
  });
});
