/**
 * Argument checks shared by every dispatcher, so both backends refuse the same inputs with the same
 * codes. `:` is refused in ids and queue names because BullMQ builds Redis keys from them
 * (`<prefix>:<queue>:<id>`) and rejects it; the local backend refuses it too, so a program that runs
 * embedded does not start failing when `REDIS_URL` is set.
 */
import { DispatchError } from '../../errors/classes.ts';
import type { DispatchJob } from '../types.ts';

/** Delay before a job whose processor threw is handed out again, unless configured. */
export const DEFAULT_FAILURE_RETRY_DELAY_MS = 1_000;

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function invalid(message: string): DispatchError {
  return new DispatchError('PITBOSS_INVALID_DISPATCH_JOB', message);
}

/** Throws `PITBOSS_INVALID_DISPATCH_JOB` unless `queue` can name a queue on every backend. */
export function checkQueueName(queue: unknown): asserts queue is string {
  if (!isNonEmptyString(queue) || queue.includes(':')) {
    throw invalid(`queue name must be a non-empty string without ':' (got ${JSON.stringify(queue)})`);
  }
}

/** Throws `PITBOSS_INVALID_DISPATCH_JOB` naming the first malformed job and field. */
export function checkJobs(jobs: unknown): asserts jobs is readonly DispatchJob[] {
  if (!Array.isArray(jobs)) throw invalid('add() takes an array of jobs');
  for (const job of jobs as unknown[]) {
    if (typeof job !== 'object' || job === null) throw invalid('every job must be an object');
    const { id, queue, name, priority, delayMs, maxAttempts } = job as Record<string, unknown>;
    if (!isNonEmptyString(id) || id.includes(':')) throw invalid(`job id must be a non-empty string without ':' (got ${JSON.stringify(id)})`);
    checkQueueName(queue);
    if (!isNonEmptyString(name)) throw invalid(`job ${id}: name must be a non-empty string`);
    if (typeof priority !== 'number' || !Number.isFinite(priority)) throw invalid(`job ${id}: priority must be a finite number`);
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs)) throw invalid(`job ${id}: delayMs must be a finite number`);
    if (typeof maxAttempts !== 'number' || !Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw invalid(`job ${id}: maxAttempts must be an integer >= 1`);
    }
  }
}

/** Throws `PITBOSS_INVALID_CONFIG` unless `concurrency` is a positive integer. */
export function checkConcurrency(concurrency: unknown): asserts concurrency is number {
  if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1) {
    throw new DispatchError('PITBOSS_INVALID_CONFIG', `consume: concurrency must be an integer >= 1 (got ${String(concurrency)})`);
  }
}

/** Throws `PITBOSS_INVALID_CONFIG` naming `key` unless `value` is a non-negative finite number (or absent). */
export function checkOptionalMs(key: string, value: unknown, { positive = false } = {}): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    throw new DispatchError('PITBOSS_INVALID_CONFIG', `${key} must be a ${positive ? 'positive' : 'non-negative'} number of milliseconds (got ${String(value)})`);
  }
}
