/**
 * How a `DispatchJob` becomes a BullMQ job, and back. Kept in one place because each mapping works
 * around a BullMQ rule that was verified against bullmq 6.7 (pinned by test/jobs/dispatch/bullmq-assumptions.test.ts).
 */
import type { JobsOptions } from 'bullmq';
import type { DispatchJob } from '../types.ts';

/**
 * BullMQ refuses custom ids that look like integers ("Custom Id cannot be integers") and a job's hash
 * lives next to the queue's own keys (`<prefix>:<queue>:<id>` beside `:wait`, `:delayed`, `:meta`),
 * so the row id "42" travels as "job-42": never an integer, never a queue key.
 */
const ID_PREFIX = 'job-';

function toBullmqId(rowId: string): string {
  return ID_PREFIX + rowId;
}

export function fromBullmqId(bullmqId: string | undefined): string {
  if (bullmqId === undefined) return '';
  return bullmqId.startsWith(ID_PREFIX) ? bullmqId.slice(ID_PREFIX.length) : bullmqId;
}

/** BullMQ's highest priority number (2^21 - 1); lower numbers run first. */
const PRIORITY_LIMIT = 2 ** 21 - 1;
const PRIORITY_ZERO = 2 ** 20;

/**
 * Our priority (higher first, default 0, may be negative) as a BullMQ priority (1 first, 2^21-1 last).
 * Every job gets a non-zero BullMQ priority on purpose: BullMQ serves priority 0 ("none") from the
 * plain wait list before all prioritized jobs, so mapping our 0 to it would run default jobs ahead of
 * urgent ones. Within one priority BullMQ keeps insertion order (a per-queue counter in the score).
 * Priorities beyond ±2^20 are clamped.
 */
function toBullmqPriority(priority: number): number {
  return Math.min(PRIORITY_LIMIT, Math.max(1, PRIORITY_ZERO - Math.round(priority)));
}

/**
 * The BullMQ form of a job. `removeOnComplete`/`removeOnFail` matter for correctness, not just memory:
 * adding an id that still exists in any state, completed and failed included, is a silent no-op, so a
 * finished job must leave Redis for the reconciler to be able to dispatch its id again.
 *
 * `attempts` mirrors the job's budget for anyone inspecting the queue; BullMQ never spends it, since
 * the consumer records every outcome itself (`moveToCompleted`, `moveToDelayed`) and never fails a
 * job through BullMQ: the store counts attempts, not dispatch.
 */
export function toBullmqJob(job: DispatchJob): { name: string; data: null; opts: JobsOptions } {
  return {
    name: job.name,
    // The payload stays in the store; the processor looks the row up by id.
    data: null,
    opts: {
      jobId: toBullmqId(job.id),
      priority: toBullmqPriority(job.priority),
      delay: Math.max(0, Math.round(job.delayMs)),
      attempts: job.maxAttempts,
      removeOnComplete: true,
      removeOnFail: true,
    },
  };
}
