/**
 * Errors a pool's `run` rejects with. Each is a `PoolError` with a stable code, so callers can tell
 * "try later" (saturated, queue timeout) from "the work failed" (task failed, timed out, crashed).
 */
import { PoolError } from './classes.ts';
import { describeError } from './describe.ts';
import type { SerializedError } from '../pool/wire/protocol.ts';

export { PoolError };

/** The pool queue is full: the task was refused, nothing ran. */
export class PoolSaturatedError extends PoolError {
  constructor(pool: string, maxQueue: number) {
    super('PITBOSS_POOL_SATURATED', `pool ${pool}: queue is full (maxQueue ${maxQueue})`);
  }
}

/** The task waited in the queue longer than `queueTimeoutMs`: it never ran. */
export class QueueTimeoutError extends PoolError {
  constructor(pool: string, waitedMs: number) {
    super('PITBOSS_QUEUE_TIMEOUT', `pool ${pool}: task waited ${Math.round(waitedMs)} ms in the queue`);
  }
}

/** The task ran past `taskTimeoutMs` (or its run's own `timeoutMs`) and its thread was terminated. */
export class TaskTimeoutError extends PoolError {
  constructor(pool: string, timeoutMs: number, own = false) {
    super('PITBOSS_TASK_TIMEOUT', `pool ${pool}: task exceeded ${own ? 'its run timeoutMs' : 'taskTimeoutMs'} ${timeoutMs}`);
  }
}

/** Worker code threw. `remote` holds the original error's name, message, stack and code. */
export class TaskFailedError extends PoolError {
  readonly remote: SerializedError;

  constructor(pool: string, remote: SerializedError) {
    super('PITBOSS_TASK_FAILED', `pool ${pool}: ${remote.name}: ${remote.message}`);
    this.remote = remote;
    if (remote.stack !== undefined) this.stack = `${this.name}: ${this.message}\n--- in worker thread ---\n${remote.stack}`;
  }
}

/** The thread running the task died. `reason`: 'crash' | 'exit' | 'oom' | 'unclonable_answer'. */
export class WorkerCrashedError extends PoolError {
  readonly reason: string;

  constructor(pool: string, reason: string, cause: unknown, detail?: string) {
    super('PITBOSS_WORKER_CRASHED', `pool ${pool}: worker thread died (${reason}): ${detail ?? describeError(cause).error}`, { cause });
    this.reason = reason;
  }
}

/**
 * The pool ended the thread running the task for its own reasons (a close past its timeout): the
 * task did not fail by itself, though it may have partly run. The job system requeues such a job
 * without charging an attempt.
 */
export class TaskInterruptedError extends PoolError {
  readonly reason: string;

  constructor(pool: string, reason: string) {
    super('PITBOSS_TASK_INTERRUPTED', `pool ${pool}: the thread running the task was stopped (${reason}) before it finished`);
    this.reason = reason;
  }
}

/** The pool takes no more tasks. */
export class PoolClosedError extends PoolError {
  /** `why` replaces the plain "is closed" (a supervised pool that was not back in time, say). */
  constructor(pool: string, why?: string) {
    super('PITBOSS_POOL_CLOSED', `pool ${pool} ${why ?? 'is closed'}`);
  }
}

/** The pool restarted threads more often than its intensity allows and stopped. */
export class PoolFailedError extends PoolError {
  /**
   * `lastDeath`: how the thread that went past the limit died (reason and error), so the failure
   * names its cause; `cause`: that thread's error (a worker module's load error, say).
   */
  constructor(pool: string, restarts: number, periodMs: number, why?: string, lastDeath?: string, cause?: unknown) {
    super('PITBOSS_POOL_FAILED', `pool ${pool}: ${why ?? `${restarts} thread restarts within ${periodMs} ms exceeded its intensity`}${lastDeath === undefined ? '' : ` (the last: ${lastDeath})`}`,
      cause === undefined ? undefined : { cause });
  }
}
