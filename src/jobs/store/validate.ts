/**
 * Checks what callers hand the store before anything is written. A whole enqueue batch is checked
 * first, so one bad job means no row at all; the error names the field (`jobs[2].data.items[0]`).
 * Payloads are serialised here once, and the text is what the statement sends.
 */
import { Buffer } from 'node:buffer';
import { JobError } from '../../errors/classes.ts';
import { checkTracestate, parseTraceparent } from '../../telemetry/correlation.ts';
import type { AbandonedClaims, BackoffPolicy, EnqueueInput } from '../types.ts';

/** A validated job, ready for the insert (the id is taken at flush time; fixed shape). */
export class PreparedJob {
  id: string | null = null;
  constructor(
    readonly queue: string,
    readonly name: string,
    readonly payload: string | null,
    readonly priority: number,
    readonly maxAttempts: number,
    readonly backoff: BackoffPolicy,
    readonly delayMs: number,
    readonly idempotencyKey: string | null,
    readonly correlationId: string | null,
    readonly traceparent: string | null,
    readonly tracestate: string | null,
    readonly timeoutMs: number | null,
  ) {}
}

/** The largest job payload (JSON bytes) a store takes unless `maxPayloadBytes` says otherwise. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;
const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ type: 'exponential', delayMs: 1_000 });
// Queues stay clear of ':' and '/': dispatch keys (BullMQ) and claimers (`supervisor/pool`) use them as separators.
const queueShape = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const nameShape = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;
const INT4_MAX = 2_147_483_647;
const MAX_DELAY_MS = 10 * 365 * 24 * 3600 * 1000;
const MAX_DEPTH = 64;
// jsonb refuses U+0000 and unpaired surrogates, which JSON.stringify lets through.
// eslint-disable-next-line no-control-regex -- matching NUL is the point
const unstorable = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function invalidJob(field: string, message: string): JobError {
  return new JobError('PITBOSS_INVALID_JOB', `${field} ${message}`, { field });
}

const show = (value: unknown): string => {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'function' ? 'a function' : String(value);
};

/** A queue name as the store takes it, or PITBOSS_INVALID_JOB naming `field`. */
export const checkQueueName = (field: string, value: unknown): string => checkName(field, value, queueShape);

/** True when `value` is a queue name the store would take. */
export const isQueueName = (value: unknown): value is string => typeof value === 'string' && queueShape.test(value);

function checkName(field: string, value: unknown, shape: RegExp): string {
  if (typeof value !== 'string' || !shape.test(value)) {
    const chars = shape === queueShape ? '[A-Za-z0-9_.-]' : '[A-Za-z0-9_.:/-]';
    throw invalidJob(field, `must be 1..128 characters of ${chars} starting with a letter or digit, got ${show(value)}`);
  }
  return value;
}

function checkInteger(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidJob(field, `must be an integer in ${min}..${max}, got ${show(value)}`);
  }
  return value;
}

function checkText(field: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string' || value === '' || value.length > maxLength || unstorable.test(value)) {
    throw invalidJob(field, `must be a non-empty string of at most ${maxLength} characters without NUL, got ${show(value)}`);
  }
  return value;
}

/** Throws unless `value` survives JSON as itself: no functions, BigInt, symbols, NaN/Infinity, cycles, Maps… */
function checkJson(field: string, value: unknown, seen: Set<object>, depth: number): void {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'string') {
    if (unstorable.test(value)) throw invalidJob(field, 'contains NUL or an unpaired surrogate, which Postgres jsonb cannot store');
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalidJob(field, `is ${value}, which JSON cannot represent`);
    return;
  }
  if (typeof value !== 'object') throw invalidJob(field, `is ${typeof value === 'bigint' ? 'a BigInt' : `a ${typeof value}`}, which is not JSON-serialisable`);
  if (depth > MAX_DEPTH) throw invalidJob(field, `nests deeper than ${MAX_DEPTH} levels`);
  if (seen.has(value)) throw invalidJob(field, 'is a circular reference');
  if (Array.isArray(value)) {
    seen.add(value);
    for (let i = 0; i < value.length; i++) checkJson(`${field}[${i}]`, value[i], seen, depth + 1);
    seen.delete(value);
    return;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw invalidJob(field, 'is an invalid Date');
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw invalidJob(field, `is a ${(value as object).constructor?.name ?? 'non-plain object'}; only plain objects, arrays and Dates serialise faithfully`);
  }
  seen.add(value);
  for (const [key, item] of Object.entries(value)) {
    if (unstorable.test(key)) throw invalidJob(field, 'has a key with NUL or an unpaired surrogate');
    if (item !== undefined) checkJson(`${field}.${key}`, item, seen, depth + 1);
  }
  seen.delete(value);
}

/** Serialises a JSON-safe value, enforcing `maxBytes` (UTF-8). `undefined` is stored as SQL NULL. */
export function serialise(field: string, value: unknown, maxBytes: number): string | null {
  if (value === undefined) return null;
  checkJson(field, value, new Set(), 0);
  const text = JSON.stringify(value);
  // 3 bytes per UTF-16 unit is the worst case: skip counting when even that fits.
  if (text.length * 3 > maxBytes && Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw invalidJob(field, `is ${Buffer.byteLength(text, 'utf8')} bytes as JSON, over the ${maxBytes}-byte limit`);
  }
  return text;
}

function checkBackoff(field: string, value: unknown): BackoffPolicy {
  if (value === undefined) return DEFAULT_BACKOFF;
  if (typeof value !== 'object' || value === null) throw invalidJob(field, `must be { type, delayMs }, got ${show(value)}`);
  const { type, delayMs } = value as Record<string, unknown>;
  if (type !== 'fixed' && type !== 'exponential') throw invalidJob(`${field}.type`, `must be 'fixed' or 'exponential', got ${show(type)}`);
  return { type, delayMs: checkInteger(`${field}.delayMs`, delayMs, 0, INT4_MAX) };
}

/** Optional context every job of one enqueue call carries. */
export interface EnqueueContext {
  readonly correlationId: string | null;
  readonly traceparent: string | null;
  /** W3C tracestate that came with `traceparent` (kept only with one). */
  readonly tracestate?: string | null;
}

function checkContext(context: EnqueueContext | undefined): Required<EnqueueContext> {
  if (context === undefined || context === null) return { correlationId: null, traceparent: null, tracestate: null };
  const correlationId = context.correlationId == null ? null : checkText('context.correlationId', context.correlationId, 128);
  const { traceparent } = context;
  if (traceparent != null && (typeof traceparent !== 'string' || parseTraceparent(traceparent) === null)) {
    throw invalidJob('context.traceparent', `must be a W3C traceparent header, got ${show(traceparent)}`);
  }
  const { tracestate } = context;
  if (tracestate != null) {
    if (typeof tracestate !== 'string' || checkTracestate(tracestate) === null) {
      throw invalidJob('context.tracestate', `must be a W3C tracestate header (≤ 512 characters, ≤ 32 key=value members), got ${show(tracestate)}`);
    }
    if (traceparent == null) throw invalidJob('context.tracestate', 'is only kept with a context.traceparent, which is missing');
  }
  return { correlationId, traceparent: traceparent ?? null, tracestate: tracestate ?? null };
}

/** Validates a whole enqueue call; throws `PITBOSS_INVALID_JOB` for the first bad field. */
export function prepareJobs(inputs: readonly EnqueueInput[], context: EnqueueContext | undefined, maxPayloadBytes: number): PreparedJob[] {
  if (!Array.isArray(inputs)) throw invalidJob('jobs', 'must be an array of jobs');
  const { correlationId, traceparent, tracestate } = checkContext(context);
  return inputs.map((input, i) => {
    const at = `jobs[${i}]`;
    if (typeof input !== 'object' || input === null) throw invalidJob(at, `must be an object, got ${show(input)}`);
    const delayMs = input.delayMs ?? 0;
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
      throw invalidJob(`${at}.delayMs`, `must be a number of ms in 0..${MAX_DELAY_MS}, got ${show(delayMs)}`);
    }
    return new PreparedJob(
      checkName(`${at}.queue`, input.queue, queueShape),
      checkName(`${at}.name`, input.name, nameShape),
      serialise(`${at}.data`, input.data, maxPayloadBytes),
      checkInteger(`${at}.priority`, input.priority ?? 0, -INT4_MAX, INT4_MAX),
      checkInteger(`${at}.maxAttempts`, input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, 1, 100),
      checkBackoff(`${at}.backoff`, input.backoff),
      delayMs,
      input.idempotencyKey === undefined || input.idempotencyKey === null ? null : checkText(`${at}.idempotencyKey`, input.idempotencyKey, 256),
      correlationId,
      traceparent,
      tracestate,
      input.timeoutMs === undefined || input.timeoutMs === null ? null : checkInteger(`${at}.timeoutMs`, input.timeoutMs, 1, INT4_MAX),
    );
  });
}

/** Job ids are positive Postgres bigints in decimal. */
export function isJobId(id: unknown): id is string {
  return typeof id === 'string' && /^[1-9][0-9]{0,18}$/.test(id) && BigInt(id) <= 9_223_372_036_854_775_807n;
}

/** A `{ type, message }` error as stored (truncated, never failing the write it rides on). */
export function errorJson(field: string, error: unknown): string {
  if (typeof error !== 'object' || error === null) throw invalidJob(field, `must be { type, message }, got ${show(error)}`);
  const { type, message } = error as Record<string, unknown>;
  if (typeof type !== 'string' || typeof message !== 'string') throw invalidJob(field, 'must have string type and message');
  return JSON.stringify({ type: clean(type, 200), message: clean(message, 8_192) });
}

/** Truncates and replaces characters jsonb cannot hold, so recording an error never fails. */
export function clean(text: string, maxLength: number): string {
  const cut = text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
  return unstorable.test(cut) ? cut.replace(new RegExp(unstorable.source, 'g'), '\ufffd') : cut;
}

/** An integer of at least `min`, or PITBOSS_INVALID_JOB naming `key`. */
export function checkCount(key: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw invalidJob(key, `must be an integer ≥ ${min}, got ${String(value)}`);
  return value;
}

/** A supervisor id as `claimed_by` starts with it: non-empty, no "/" (the separator). */
export function checkSupervisorId(id: unknown, field = 'supervisor.id'): string {
  if (typeof id !== 'string' || id === '' || id.includes('/')) throw invalidJob(field, 'must be a non-empty string without "/"');
  return clean(id, 200);
}

export function checkAbandoned(abandoned: AbandonedClaims | undefined): AbandonedClaims | null {
  if (abandoned === undefined) return null;
  const { supervisorId, olderThanMs, running } = abandoned;
  if (!Array.isArray(running) || !running.every(isJobId)) throw invalidJob('abandoned.running', 'must be an array of job ids');
  return { supervisorId: checkSupervisorId(supervisorId, 'abandoned.supervisorId'), olderThanMs: checkCount('abandoned.olderThanMs', olderThanMs, 1), running };
}
