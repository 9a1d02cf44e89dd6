/**
 * Retrying (redriving) jobs from the operator's side: one job by id, or every dead, failed or
 * cancelled job matching a filter. The store moves the rows (store.search); this commits first, then
 * dispatches (promoting what dispatch still holds back) and emits `job.retried` per job, as enqueue does. A dispatch failure does not fail the
 * retry: the rows are queued, and the reconciler dispatches them.
 */
import { JobError } from '../errors/classes.ts';
import type { Telemetry } from '../telemetry/bus.ts';
import { jobMetadata } from './reconciler.ts';
import type { JobStore } from './store/store.ts';
import { retryableStatuses, type RetryFilter, type RetryOutcome } from './store/search.ts';
import { toDispatchJob, type Dispatcher, type JobRecord } from './types.ts';

interface RedriveParts {
  readonly store: JobStore;
  readonly dispatcher: Dispatcher;
  readonly bus: Telemetry;
}

async function dispatchRetried({ dispatcher, bus }: RedriveParts, outcomes: readonly RetryOutcome[]): Promise<void> {
  const retried = outcomes.filter((o) => o.retried);
  if (retried.length === 0) return;
  // promote, not add: a failed job's backoff, or a delayed job cancelled, may still be held in dispatch.
  await dispatcher.promote(retried.map((o) => toDispatchJob(o.job))).catch(() => {});
  for (const { job, previousStatus } of retried) {
    // The job's own correlation: the retry is one more chapter of the job, not of the caller.
    bus.execute('job.retried', { attempt: job.attempts }, { ...jobMetadata(job), status: previousStatus });
  }
}

/**
 * Retries one job; null when there is no such job. Rejects with PITBOSS_JOB_NOT_RETRYABLE (409)
 * naming its state when it is queued, running or completed — including when a concurrent retry
 * queued it first, so of two concurrent retries exactly one makes a new attempt.
 */
export async function retryJob(parts: RedriveParts, id: string): Promise<JobRecord | null> {
  const outcome = await parts.store.search.retry(id);
  if (outcome === null) return null;
  if (!outcome.retried) {
    throw new JobError('PITBOSS_JOB_NOT_RETRYABLE', `job ${id} is ${outcome.job.status}; only ${retryableStatuses.join(', ')} jobs can be retried`);
  }
  await dispatchRetried(parts, [outcome]);
  return outcome.job;
}

/** Retries every job matching `filter` (bounded by its limit), batch by batch; resolves to how many. */
export function retryJobsWhere(parts: RedriveParts, filter: RetryFilter): Promise<number> {
  return parts.store.search.retryWhere(filter, (outcomes) => dispatchRetried(parts, outcomes));
}
