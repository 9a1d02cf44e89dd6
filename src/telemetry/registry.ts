/**
 * The bus's compiled view of the event table: one `EventEntry` per known event, holding the handler
 * array and the sampling rate that `execute` reads. Entries are rebuilt at attach/detach/rule-change
 * time, never at emit time (STYLE §3): `execute` is one map lookup and an index loop.
 */
import { TelemetryError } from '../errors/classes.ts';
import { hasScopedRule, patternMatches, patternShape, resolveRate, type ControlRule } from './rules.ts';
import type { EventSpec, EventTable } from './types.ts';

/** A handler as stored by the bus (event-agnostic; the public types live on `attach`). */
export type StoredHandler = (
  event: string,
  measurements: Readonly<Record<string, number>>,
  metadata: Readonly<Record<string, unknown>>,
  config: unknown,
  weight: number,
) => void;

/** One attach call: an id, the patterns it asked for, the function and its config. */
export interface Attachment {
  readonly id: string;
  readonly patterns: readonly string[];
  readonly fn: StoredHandler;
  readonly config: unknown;
  /** The handler asked for correlation_id/traceparent on its metadata. */
  readonly correlation: boolean;
  /** The handler writes the record: it receives events the rules sampled out too (with weight 0). */
  readonly record: boolean;
}

type Loose = Record<string, unknown>;
type Live = (entry: EventEntry, measurements: Readonly<Record<string, number>>, metadata: Loose) => void;
const noMetadata: Readonly<Loose> = Object.freeze({});
const noop = (): void => {};

/** What `bus.event(name)` returns; `execute` is replaced, never branched on (STYLE §5). */
export class CompiledHandle {
  readonly name: string;
  execute: (measurements: Readonly<Record<string, number>>, metadata?: Loose) => void = noop;

  constructor(name: string) {
    this.name = name;
  }
}

/** The per-event state `execute` reads. Every field initialised here so shapes stay fixed (STYLE §10). */
export class EventEntry {
  readonly name: string;
  readonly spec: EventSpec;
  readonly measurementKeys: ReadonlySet<string>;
  handlers: readonly Attachment[] = [];
  /**
   * The record handlers among `handlers`: what an event the rules sampled out is still delivered to
   * (Postgres is the truth, sampling is for observers). Read only on the sampled-out path.
   */
  recorders: readonly Attachment[] = [];
  /** Keep-rate for emitters without a pool/worker scope. */
  rate = 1;
  /** True when a scoped rule could apply, so the rate depends on metadata.pool/worker_id. */
  scoped = false;
  /** Resolved rates per `pool\0worker`, cleared whenever rules change. */
  scopedRates: Map<string, number> = new Map();
  /** Some handler wants correlation stamped on this event's metadata. */
  stampCorrelation = false;
  readonly handle: CompiledHandle;

  constructor(name: string, spec: EventSpec) {
    this.name = name;
    this.spec = spec;
    this.measurementKeys = new Set(spec.measurements);
    this.handle = new CompiledHandle(name);
  }

  /** Re-derives rate and handlers; called on attach, detach, register and rule changes. */
  compile(attachments: Iterable<Attachment>, rules: readonly ControlRule[], scope: { pool: string; worker: string } | null, live: Live): void {
    const handlers: Attachment[] = [];
    for (const a of attachments) if (a.patterns.some((p) => patternMatches(p, this.name))) handlers.push(a);
    this.handlers = handlers;
    this.recorders = handlers.filter((h) => h.record);
    this.rate = resolveRate(rules, this.name, scope?.pool ?? null, scope?.worker ?? null);
    this.scoped = scope === null && hasScopedRule(rules, this.name);
    this.scopedRates = new Map();
    this.stampCorrelation = handlers.some((h) => h.correlation);
    const silent = handlers.length === 0 || (this.rate === 0 && !this.scoped && this.recorders.length === 0);
    this.handle.execute = silent ? noop : (measurements, metadata) => live(this, measurements, metadata ?? noMetadata);
  }

  rateFor(rules: readonly ControlRule[], pool: unknown, worker: unknown): number {
    const poolKey = pool === undefined || pool === null ? null : String(pool);
    const workerKey = worker === undefined || worker === null ? null : String(worker);
    const key = `${poolKey ?? ''}\u0000${workerKey ?? ''}`;
    let rate = this.scopedRates.get(key);
    if (rate === undefined) {
      rate = resolveRate(rules, this.name, poolKey, workerKey);
      this.scopedRates.set(key, rate);
    }
    return rate;
  }
}

const eventNameShape = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/;

/** Validates host-registered events before they join the table. */
export function validateEventTable(events: EventTable, existing: ReadonlyMap<string, EventEntry>): void {
  for (const [name, spec] of Object.entries(events)) {
    const fail = (why: string): never => {
      throw new TelemetryError('PITBOSS_INVALID_EVENT_SPEC', `event ${JSON.stringify(name)}: ${why}`);
    };
    if (!eventNameShape.test(name)) fail('names are dot-separated lowercase segments, at least two (e.g. "billing.invoice.sent")');
    if (existing.has(name)) fail('is already defined');
    if (typeof spec !== 'object' || spec === null) fail('the definition must be an object');
    for (const key of ['measurements', 'metadata', 'labels'] as const) {
      const list: unknown = spec[key];
      if (!Array.isArray(list) || list.some((k) => typeof k !== 'string' || k === '')) fail(`${key} must be an array of non-empty strings`);
    }
    const metadata = new Set(spec.metadata);
    const notMetadata = spec.labels.filter((l) => !metadata.has(l));
    if (notMetadata.length > 0) fail(`labels ${notMetadata.join(', ')} are not metadata keys`);
    if (typeof spec.description !== 'string' || spec.description === '') fail('description must be a non-empty string');
  }
}

/** The events a pattern selects, failing when it is malformed or selects nothing (a typo). */
export function eventsForPattern(pattern: string, entries: ReadonlyMap<string, EventEntry>): string[] {
  if (typeof pattern !== 'string' || !patternShape.test(pattern)) {
    throw new TelemetryError('PITBOSS_UNKNOWN_EVENT', `${JSON.stringify(pattern)} is not an event name, '<prefix>.*' or '*'`);
  }
  const names = [...entries.keys()].filter((name) => patternMatches(pattern, name));
  if (names.length === 0) {
    throw new TelemetryError('PITBOSS_UNKNOWN_EVENT', `${JSON.stringify(pattern)} matches no event in the catalog`);
  }
  return names;
}
