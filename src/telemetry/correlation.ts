/**
 * Correlation: a correlation id and a W3C `traceparent` (with the caller's `tracestate`, if any)
 * carried through async code by AsyncLocalStorage, so every event emitted on behalf of one request or job can be tied together.
 * The bus stamps them onto event metadata; pools carry them across the thread hop.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { TelemetryError } from '../errors/classes.ts';

/**
 * node:crypto is loaded on the first new id, not at import: this module is part of every pool
 * thread's runtime, which only ever restores ids it was given, and importing crypto there made each
 * thread start ~8-10 ms slower on Node 24 (~2 ms on Node 20; bench/restart-latency).
 */
const randomBytes = (size: number): Buffer => process.getBuiltinModule('node:crypto').randomBytes(size);

/** The correlation carried by an async context. */
export interface Correlation {
  readonly correlationId: string;
  readonly traceparent: string;
  /** W3C tracestate that came with the trace: vendor entries propagated unchanged (absent when none). */
  readonly tracestate?: string;
}

/** A parsed W3C traceparent (version 00). */
export interface TraceParent {
  readonly version: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly flags: string;
}

const storage = new AsyncLocalStorage<Correlation>();
const traceparentShape = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const allZeros = /^0+$/;
// W3C Trace Context §3.3.1: list members `key=value`, keys simple (`a-z0-9_-*/`) or multi-tenant
// (`tenant@system`), values 1-256 printable ASCII without ',' and '=' (not ending in a space).
const tracestateMember = /^(?:[a-z][a-z0-9_*/-]{0,255}|[a-z0-9][a-z0-9_*/-]{0,240}@[a-z][a-z0-9_*/-]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_TRACESTATE_CHARS = 512;
const MAX_TRACESTATE_MEMBERS = 32;

/** A new random 16-byte trace id, as 32 lowercase hex characters. */
export const newTraceId = (): string => randomBytes(16).toString('hex');

/** A new random 8-byte span id, as 16 lowercase hex characters. */
export const newSpanId = (): string => randomBytes(8).toString('hex');

/** A new correlation id (a UUID). */
export const newCorrelationId = (): string => crypto.randomUUID();

/** Parses a traceparent header; returns null when it is malformed or uses the all-zero ids W3C forbids. */
export function parseTraceparent(header: string): TraceParent | null {
  const match = traceparentShape.exec(header.trim().toLowerCase());
  if (match === null) return null;
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  if (version === 'ff' || allZeros.test(traceId) || allZeros.test(spanId)) return null;
  return { version, traceId, spanId, flags };
}

/**
 * A tracestate header as W3C Trace Context allows it: at most 512 characters and 32 comma-separated
 * `key=value` members with no key repeated (empty members between commas are allowed). Returns it
 * trimmed, or null when it breaks a rule (a receiver then drops it rather than pass on garbage).
 */
export function checkTracestate(header: string): string | null {
  const value = header.trim();
  if (value.length > MAX_TRACESTATE_CHARS) return null;
  const keys = new Set<string>();
  for (const raw of value.split(',')) {
    const member = raw.trim();
    if (member === '') continue;
    if (!tracestateMember.test(member)) return null;
    const key = member.slice(0, member.indexOf('='));
    if (keys.has(key)) return null;
    keys.add(key);
  }
  return keys.size === 0 || keys.size > MAX_TRACESTATE_MEMBERS ? null : value;
}

/** Formats a traceparent header (version 00). */
export function formatTraceparent(parts: { traceId: string; spanId: string; sampled?: boolean }): string {
  const tp = `00-${parts.traceId}-${parts.spanId}-${parts.sampled === false ? '00' : '01'}`;
  if (parseTraceparent(tp) === null) {
    throw new TelemetryError('PITBOSS_INVALID_TRACEPARENT', `cannot format a traceparent from ${JSON.stringify(parts)}`);
  }
  return tp;
}

/** A child of `parent`: same trace, new span id, same flags. Starts a new trace when `parent` is absent. */
export function childTraceparent(parent?: string | null): string {
  const parsed = parent ? parseTraceparent(parent) : null;
  if (parent && parsed === null) {
    throw new TelemetryError('PITBOSS_INVALID_TRACEPARENT', `malformed traceparent ${JSON.stringify(parent)}`);
  }
  if (parsed === null) return formatTraceparent({ traceId: newTraceId(), spanId: newSpanId() });
  return `00-${parsed.traceId}-${newSpanId()}-${parsed.flags}`;
}

/** The trace id inside a traceparent, or null. */
export function traceIdOf(traceparent: string): string | null {
  return parseTraceparent(traceparent)?.traceId ?? null;
}

/** The correlation of the current async context, if any. */
export function currentCorrelation(): Correlation | undefined {
  return storage.getStore();
}

/**
 * Runs `fn` inside a correlation context. Missing ids are filled in: the correlation id is inherited
 * from the enclosing context or newly made; the traceparent becomes a child span of the given (or
 * enclosing) one, or starts a new trace. The tracestate travels with its parent, unchanged: the given
 * one (or the enclosing context's when no traceparent is given); a new trace has none, and a given
 * traceparent without one drops the enclosing context's, which belongs to another trace.
 */
export function withCorrelation<T>(
  context: { correlationId?: string; traceparent?: string; tracestate?: string } | undefined,
  fn: () => T,
): T {
  const outer = storage.getStore();
  const correlationId = context?.correlationId ?? outer?.correlationId ?? newCorrelationId();
  const parent = context?.traceparent ?? outer?.traceparent;
  const traceparent = childTraceparent(parent);
  const tracestate = parent === undefined ? undefined
    : context?.traceparent !== undefined ? context.tracestate : context?.tracestate ?? outer?.tracestate;
  return storage.run(tracestate === undefined ? { correlationId, traceparent } : { correlationId, traceparent, tracestate }, fn);
}

/**
 * Runs `fn` with exactly the given correlation (no new span): used where a context crosses a
 * boundary unchanged, e.g. into a worker thread.
 */
export function restoreCorrelation<T>(correlation: Correlation, fn: () => T): T {
  return storage.run(correlation, fn);
}

/**
 * Runs `fn` outside any correlation: for work on behalf of many callers that one of them merely
 * happened to start (a group-commit flush, a store outage), which must not carry that one's ids.
 * Timers and promises created inside inherit the empty context.
 */
export function withoutCorrelation<T>(fn: () => T): T {
  return storage.exit(fn);
}
