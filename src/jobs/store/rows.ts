/**
 * Database rows → the contract shapes of src/jobs/types.ts. Every object is built with all its
 * fields in one literal (fixed shape); timestamps are normalised because drivers differ in what
 * they hand back for some expressions.
 */
import type {
  ActionRecord, BackoffPolicy, ClaimedJob, DispatchJob, EnqueuedJob, JobDetails, JobRecord, JobStatus, QueueStats,
} from '../types.ts';
import type { SqlRow } from './types.ts';

const asDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));
const asDateOrNull = (value: unknown): Date | null => (value === null || value === undefined ? null : asDate(value));
const asText = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const asNumber = (value: unknown): number => Number(value);

function backoffOf(row: SqlRow): BackoffPolicy {
  return { type: row.backoff_type as BackoffPolicy['type'], delayMs: asNumber(row.backoff_delay_ms) };
}

function errorOf(value: unknown): JobRecord['error'] {
  if (value === null || value === undefined || typeof value !== 'object') return null;
  const { type, message } = value as Record<string, unknown>;
  return { type: String(type), message: String(message) };
}

export function toJobRecord(row: SqlRow): JobRecord {
  return {
    id: String(row.id),
    queue: String(row.queue),
    name: String(row.name),
    payload: row.payload ?? null,
    status: row.status as JobStatus,
    priority: asNumber(row.priority),
    attempts: asNumber(row.attempts),
    maxAttempts: asNumber(row.max_attempts),
    backoff: backoffOf(row),
    runAt: asDate(row.run_at),
    claimedBy: asText(row.claimed_by),
    idempotencyKey: asText(row.idempotency_key),
    correlationId: asText(row.correlation_id),
    traceparent: asText(row.traceparent),
    tracestate: asText(row.tracestate),
    createdAt: asDate(row.created_at),
    startedAt: asDateOrNull(row.started_at),
    finishedAt: asDateOrNull(row.finished_at),
    result: row.result ?? null,
    error: errorOf(row.error),
    timeoutMs: row.timeout_ms === null || row.timeout_ms === undefined ? null : asNumber(row.timeout_ms),
    progress: row.progress ?? null,
  };
}

export function toJobDetails(row: SqlRow): JobDetails {
  const actions = Array.isArray(row.actions) ? (row.actions as Record<string, unknown>[]) : [];
  return {
    ...toJobRecord(row),
    actions: actions.map((a): ActionRecord => ({
      jobId: String(a.jobId),
      attempt: asNumber(a.attempt),
      action: String(a.action),
      status: a.status === 'error' ? 'error' : 'ok',
      duration: asNumber(a.duration),
      error: asText(a.error),
    })),
  };
}

export function toEnqueued(row: SqlRow, created: boolean): EnqueuedJob {
  return {
    id: String(row.id),
    queue: String(row.queue),
    name: String(row.name),
    priority: asNumber(row.priority),
    maxAttempts: asNumber(row.max_attempts),
    backoff: backoffOf(row),
    runAt: asDate(row.run_at),
    created,
    status: row.status as JobStatus,
  };
}

export function toClaimed(row: SqlRow): ClaimedJob {
  return {
    id: String(row.id),
    queue: String(row.queue),
    name: String(row.name),
    payload: row.payload ?? null,
    attempt: asNumber(row.attempts),
    maxAttempts: asNumber(row.max_attempts),
    backoff: backoffOf(row),
    correlationId: asText(row.correlation_id),
    traceparent: asText(row.traceparent),
    tracestate: asText(row.tracestate),
    createdAt: asDate(row.created_at),
    runAt: asDate(row.run_at),
    timeoutMs: row.timeout_ms === null || row.timeout_ms === undefined ? null : asNumber(row.timeout_ms),
  };
}

export function toDispatchJob(row: SqlRow): DispatchJob {
  return {
    id: String(row.id),
    queue: String(row.queue),
    name: String(row.name),
    priority: asNumber(row.priority),
    maxAttempts: asNumber(row.max_attempts),
    backoff: backoffOf(row),
    delayMs: asNumber(row.delay_ms),
  };
}

export function toQueueStats(row: SqlRow): QueueStats {
  return {
    queue: String(row.queue),
    queued: asNumber(row.queued),
    running: asNumber(row.running),
    failed: asNumber(row.failed),
    completed: asNumber(row.completed),
    dead: asNumber(row.dead),
    cancelled: asNumber(row.cancelled),
  };
}
