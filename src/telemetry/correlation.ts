/**
 * Correlation: a correlation id and a W3C `traceparent` carried through async code by
 * AsyncLocalStorage, so every event emitted on behalf of one request or job can be tied together.
 * The bus stamps them onto event metadata; pools carry them across the thread hop.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { TelemetryError } from '../errors.ts';

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
 * enclosing) one, or starts a new trace.
 */
export function withCorrelation<T>(
  context: { correlationId?: string; traceparent?: string } | undefined,
  fn: () => T,
): T {
  const outer = storage.getStore();
  const correlationId = context?.correlationId ?? outer?.correlationId ?? newCorrelationId();
  const traceparent = childTraceparent(context?.traceparent ?? outer?.traceparent);
  return storage.run({ correlationId, traceparent }, fn);
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
