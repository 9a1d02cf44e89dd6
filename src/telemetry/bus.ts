/**
 * The telemetry bus, in the spirit of Erlang's :telemetry: host code attaches handlers to cataloged
 * events; pitboss (and host code) executes events. `execute` is the hot path — one map lookup, the
 * sampling check, an index loop over a handler array compiled at attach time — so an event nobody
 * listens to costs a lookup and a return (see bench/telemetry-overhead).
 */
import { describeError } from '../errors/describe.ts';
import { TelemetryError } from '../errors/classes.ts';
import { catalog, type Catalog } from './catalog.ts';
import { RuleTable, type ControlRule, type ControlRuleInput, type RuleSnapshot } from './rules.ts';
import { currentCorrelation } from './correlation.ts';
import { nextSpanId, runSpan } from './span.ts';
import { EventEntry, eventsForPattern, validateEventTable, type Attachment, type StoredHandler } from './registry.ts';
import type {
  DropReason, EventName, EventPattern, EventTable, Handler, HandlerInfo, Matching, Measurements, Metadata, SpanPrefix,
} from './types.ts';

type Loose = Record<string, unknown>;
const noMeasurements: Readonly<Record<string, number>> = Object.freeze({});
const noMetadata: Readonly<Loose> = Object.freeze({});

/** How a handler is attached. */
export interface AttachOptions {
  /**
   * Stamp `correlation_id` and `traceparent` of the emitting async context onto the metadata this
   * handler receives (default false: handlers run synchronously in that context, so
   * `currentCorrelation()` works too, and events nobody asked to stamp skip the lookup).
   */
  correlation?: boolean;
  /**
   * For handlers that write the record (job actions, worker history), not for observers: the handler
   * receives every event of its patterns whatever the sampling rules say, with weight 0 when the
   * rules thinned the event out for everyone else (sampling is for observers, see docs/telemetry.md#events-sampling-and-weights). In worker
   * threads this covers `action.stop` / `action.exception`, which threads ship even when sampled out.
   */
  record?: boolean;
}

/** A handle on one event (`bus.event(name)`): `execute` without the name lookup. */
export interface EventHandle<C extends EventTable, E extends EventName<C>> {
  readonly name: E;
  execute(measurements: Measurements<C, E>, metadata?: Metadata<C, E>): void;
}

/** Runtime sampling and filter rules of one bus. */
export interface TelemetryControl {
  /** Adds or replaces the rule with the same pattern and scope; returns the validated rule. */
  setRule(rule: ControlRuleInput): ControlRule;
  /** Removes the rule with this pattern and scope; false when there was none. */
  removeRule(pattern: string, scope?: ControlRuleInput['scope']): boolean;
  /** The current rule table and its version. */
  rules(): RuleSnapshot;
  /** Adopts a newer rule table from elsewhere (another thread or supervisor); false when not newer. */
  apply(snapshot: RuleSnapshot): boolean;
  /**
   * Calls `listener` with the new table after every change (pools copy it into their threads).
   * Unlike attaching to `telemetry.control.changed`, this cannot be sampled out. Returns an unsubscribe.
   */
  subscribe(listener: (snapshot: RuleSnapshot) => void): () => void;
}

/** A telemetry bus over event table `C` (the built-in catalog plus any host-registered events). */
export class Telemetry<C extends EventTable = Catalog> {
  readonly #entries = new Map<string, EventEntry>();
  readonly #attachments = new Map<string, Attachment>();
  readonly #rules: RuleTable;
  #ruleListeners: readonly ((snapshot: RuleSnapshot) => void)[] = [];
  readonly #dropped: Record<DropReason, number> = { unknown_event: 0, invalid_measurement: 0, buffer_full: 0 };
  readonly #scope: { pool: string; worker: string } | null;
  /** Sampling and filter rules. */
  readonly control: TelemetryControl;

  /**
   * @param events the event table.
   * @param scope set when every event of this bus comes from one pool/worker (the bus inside a worker
   *   thread): scoped rules then resolve once per rule change instead of per event.
   */
  constructor(events: C, scope: { pool: string; worker: string | number } | null = null) {
    this.#scope = scope === null ? null : { pool: scope.pool, worker: String(scope.worker) };
    this.#rules = new RuleTable((change, pattern) => this.#rulesChanged(change, pattern));
    for (const [name, spec] of Object.entries(events)) this.#entries.set(name, new EventEntry(name, spec));
    const rules = this.#rules;
    this.control = {
      setRule: (rule) => rules.set(rule),
      removeRule: (pattern, scope) => rules.remove(pattern, scope),
      rules: () => rules.snapshot(),
      apply: (snapshot) => rules.replace(snapshot),
      subscribe: (listener) => {
        this.#ruleListeners = [...this.#ruleListeners, listener];
        return () => {
          this.#ruleListeners = this.#ruleListeners.filter((l) => l !== listener);
        };
      },
    };
  }

  /**
   * Emits an event to its handlers. Never throws: unknown names (possible from untyped callers) are
   * dropped and counted, and handler errors detach the handler.
   */
  execute<E extends EventName<C>>(event: E, measurements: Measurements<C, E>, metadata?: Metadata<C, E>): void {
    const entry = this.#entries.get(event);
    if (entry === undefined) return this.#drop('unknown_event', 1, { event: String(event).slice(0, 200), source: 'local' });
    const md: Loose = metadata ?? noMetadata;
    const rate = entry.scoped ? entry.rateFor(this.#rules.list(), md.pool, md.worker_id) : entry.rate;
    if (rate !== 1 && (rate === 0 || Math.random() >= rate)) {
      // Only a sampled-out event pays for the record path: at rate 1 recorders sit in `handlers`.
      if (entry.recorders.length !== 0) this.#deliver(entry, entry.recorders, measurements as Readonly<Record<string, number>>, md, 0);
      return;
    }
    if (entry.handlers.length === 0) return;
    this.#deliver(entry, entry.handlers, measurements as Readonly<Record<string, number>>, md, 1 / rate);
  }

  /**
   * Executes an event that arrived from outside the type system (a worker thread, a socket): checks
   * the name and that every measurement is a cataloged key with a finite number (and that an event
   * with measurement keys carries at least one), counting rejects by reason and event. Sampling is
   * not applied again because the sender already applied the rules (the same table: threads copy
   * it), but handlers get the weight 1/rate it implies. `sampledOut` marks an event the sender's rules
   * dropped and shipped only for record handlers. Returns false on reject.
   */
  ingest(event: string, measurements: unknown, metadata: unknown, origin?: Loose, sampledOut = false): boolean {
    const entry = this.#entries.get(event);
    if (entry === undefined) {
      this.#drop('unknown_event', 1, { ...origin, event: String(event).slice(0, 200) });
      return false;
    }
    if (!isValidMeasurements(measurements, entry.measurementKeys) || (metadata !== undefined && !isPlainObject(metadata))) {
      this.#drop('invalid_measurement', 1, { ...origin, event });
      return false;
    }
    if (entry.handlers.length === 0) return true;
    const md = origin === undefined ? ((metadata as Loose | undefined) ?? noMetadata) : { ...(metadata as Loose | undefined), ...origin };
    const rate = entry.scoped ? entry.rateFor(this.#rules.list(), md.pool, md.worker_id) : entry.rate;
    // rate 0 here: the rules changed to "drop" while the event was in flight; observers no longer want it.
    if (sampledOut || rate === 0) {
      if (entry.recorders.length !== 0) this.#deliver(entry, entry.recorders, measurements, md, 0);
      return true;
    }
    this.#deliver(entry, entry.handlers, measurements, md, 1 / rate);
    return true;
  }

  /** Counts events rejected elsewhere (e.g. a full thread buffer) and reports them as `telemetry.events.dropped`. */
  drop(reason: DropReason, count: number, metadata: Loose = {}): void {
    this.#drop(reason, count, metadata);
  }

  /** Dropped-event counts by reason since this bus was created. */
  dropped(): Readonly<Record<DropReason, number>> {
    return { ...this.#dropped };
  }

  /**
   * Attaches `handler` to an event, a `'<prefix>.*'` pattern or `'*'`. Prefix patterns also cover
   * events registered later. Throws `PITBOSS_HANDLER_EXISTS` for a duplicate id and
   * `PITBOSS_UNKNOWN_EVENT` for a pattern that matches nothing.
   */
  attach<const P extends EventPattern<C>, Config = undefined>(
    id: string, pattern: P, handler: Handler<C, Matching<C, P> & EventName<C>, Config>, config?: Config, options?: AttachOptions,
  ): void {
    this.attachMany(id, [pattern], handler, config, options);
  }

  /** Attaches one handler to several events or patterns under one id. */
  attachMany<const P extends EventPattern<C>, Config = undefined>(
    id: string, patterns: readonly P[], handler: Handler<C, Matching<C, P> & EventName<C>, Config>, config?: Config, options: AttachOptions = {},
  ): void {
    if (typeof id !== 'string' || id === '') throw new TelemetryError('PITBOSS_UNKNOWN_EVENT', 'handler id must be a non-empty string');
    if (this.#attachments.has(id)) throw new TelemetryError('PITBOSS_HANDLER_EXISTS', `a handler with id ${JSON.stringify(id)} is already attached`);
    if (typeof handler !== 'function') throw new TelemetryError('PITBOSS_UNKNOWN_EVENT', `handler ${JSON.stringify(id)} is not a function`);
    if (!Array.isArray(patterns) || patterns.length === 0) throw new TelemetryError('PITBOSS_UNKNOWN_EVENT', `handler ${JSON.stringify(id)} names no events`);
    for (const pattern of patterns) eventsForPattern(pattern, this.#entries);
    this.#attachments.set(id, {
      id, patterns: [...patterns], fn: handler as unknown as StoredHandler, config, correlation: options.correlation === true, record: options.record === true,
    });
    this.#compile();
  }

  /** Detaches a handler from all its events; false when no handler has this id. */
  detach(id: string): boolean {
    if (!this.#attachments.delete(id)) return false;
    this.#compile();
    return true;
  }

  /** Attached handlers, optionally only those receiving events under `prefix` (`'pool'` or `'pool.*'`). */
  listHandlers(prefix?: string): HandlerInfo[] {
    const stem = prefix === undefined || prefix === '*' ? '' : prefix.replace(/\.\*$/, '');
    const selected = (name: string): boolean => stem === '' || name === stem || name.startsWith(`${stem}.`);
    const out: HandlerInfo[] = [];
    for (const a of this.#attachments.values()) {
      const events = [...this.#entries.values()].filter((e) => e.handlers.includes(a)).map((e) => e.name);
      if (events.some(selected)) out.push({ id: a.id, patterns: a.patterns, events, config: a.config });
    }
    return out;
  }

  /** True when the event exists in this bus's table. */
  has(event: string): boolean {
    return this.#entries.has(event);
  }

  /** The event table this bus knows (catalog plus registered events). */
  events(): EventTable {
    return Object.fromEntries([...this.#entries].map(([name, entry]) => [name, entry.spec]));
  }

  /**
   * Adds host events (validated; names must be new). Returns this bus typed with the extended table:
   * `const bus = telemetry.register({ 'billing.invoice.sent': { … } })`.
   */
  register<const X extends EventTable>(events: X): Telemetry<C & X> {
    validateEventTable(events, this.#entries);
    for (const [name, spec] of Object.entries(events)) this.#entries.set(name, new EventEntry(name, spec));
    this.#compile();
    return this as unknown as Telemetry<C & X>;
  }

  /**
   * Runs `fn` as a span: `<prefix>.start`, then `<prefix>.stop` with `duration` (ns) or
   * `<prefix>.exception` with `duration`, `error_type` and `error` (the error is rethrown). The three
   * events share `telemetry_span_id`. Works for sync functions and promises.
   */
  span<P extends SpanPrefix<C>, T>(prefix: P, metadata: Metadata<C, Matching<C, `${P}.stop`> & EventName<C>>, fn: () => T): T {
    // The span id goes before the spread: on Node 20 `{ ...x, key }` mints a hidden class per call.
    return runSpan(this.#emitLoose, prefix, { telemetry_span_id: nextSpanId(), ...metadata }, fn);
  }

  /**
   * A handle on one event whose `execute` is swapped between a no-op and the delivery path whenever
   * handlers or rules change (STYLE §5): no name lookup per call. Get handles once, at startup, for
   * hot paths; `bus.execute(name, …)` is the same minus the lookup.
   */
  event<E extends EventName<C>>(name: E): EventHandle<C, E> {
    const entry = this.#entries.get(name);
    if (entry === undefined) throw new TelemetryError('PITBOSS_UNKNOWN_EVENT', `${JSON.stringify(name)} is not in the catalog`);
    return entry.handle as unknown as EventHandle<C, E>;
  }

  /** Calls `handlers` (the entry's, or only its recorders) with `weight`: 1/rate, 0 for a sampled-out event. */
  #deliver(entry: EventEntry, handlers: readonly Attachment[], measurements: Readonly<Record<string, number>>, metadata: Loose, weight: number): void {
    // Reading the async context costs ~20 ns on Node 24 (bench/telemetry-overhead), so only events
    // with a handler that asked for correlation pay it. Keys first: see span().
    if (entry.stampCorrelation && metadata.correlation_id === undefined) {
      const correlation = currentCorrelation();
      if (correlation !== undefined) metadata = { correlation_id: correlation.correlationId, traceparent: correlation.traceparent, ...metadata };
    }
    for (let i = 0; i < handlers.length; i++) {
      const h = handlers[i]!;
      try {
        h.fn(entry.name, measurements, metadata, h.config, weight);
      } catch (error) {
        this.#handlerFailed(h, entry.name, error);
      }
    }
  }

  #handlerFailed(handler: Attachment, event: string, error: unknown): void {
    // Detach first so a handler attached to the failure event itself cannot loop.
    if (this.#attachments.get(handler.id) !== handler) return;
    this.detach(handler.id);
    this.#emitLoose('telemetry.handler.failure', noMeasurements, Object.assign({ handler_id: handler.id, event }, describeError(error)));
  }

  #drop(reason: DropReason, count: number, metadata: Loose): void {
    this.#dropped[reason] += count;
    this.#emitLoose('telemetry.events.dropped', { count }, Object.assign({ source: 'local' }, metadata, { reason }));
  }

  #rulesChanged(change: 'set' | 'removed' | 'replaced', pattern: string): void {
    this.#compile();
    const snapshot = this.#rules.snapshot();
    for (const listener of this.#ruleListeners) listener(snapshot);
    const source = change === 'replaced' ? 'sync' : 'api';
    this.#emitLoose('telemetry.control.changed', { version: this.#rules.version }, { source, pattern, change });
  }

  /** `execute` without the catalog types, for events whose name is computed (spans, internal reports). */
  readonly #emitLoose = (event: string, measurements: Readonly<Record<string, number>>, metadata: Readonly<Loose>): void => {
    (this.execute as (e: string, m: Readonly<Record<string, number>>, md: Readonly<Loose>) => void).call(this, event, measurements, metadata);
  };

  /** The delivery path of event handles: the rate check, then the handlers. */
  readonly #live = (entry: EventEntry, measurements: Readonly<Record<string, number>>, metadata: Loose): void => {
    const rate = entry.scoped ? entry.rateFor(this.#rules.list(), metadata.pool, metadata.worker_id) : entry.rate;
    if (rate !== 1 && (rate === 0 || Math.random() >= rate)) {
      if (entry.recorders.length !== 0) this.#deliver(entry, entry.recorders, measurements, metadata, 0);
      return;
    }
    this.#deliver(entry, entry.handlers, measurements, metadata, 1 / rate);
  };

  #compile(): void {
    const rules = this.#rules.list();
    const attachments = [...this.#attachments.values()];
    for (const entry of this.#entries.values()) entry.compile(attachments, rules, this.#scope, this.#live);
  }
}

/** A bus over the built-in catalog, isolated from the shared `telemetry` instance (handy in tests). */
export function createTelemetry(options: { scope?: { pool: string; worker: string | number } } = {}): Telemetry<Catalog> {
  return new Telemetry(catalog, options.scope ?? null);
}

function isPlainObject(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isValidMeasurements(value: unknown, allowed: ReadonlySet<string>): value is Readonly<Record<string, number>> {
  if (!isPlainObject(value)) return false;
  let count = 0;
  for (const key in value) {
    const n = value[key];
    if (!allowed.has(key) || typeof n !== 'number' || !Number.isFinite(n)) return false;
    count++;
  }
  // An event that measures something and arrives with nothing would fold as zeros or not at all.
  return count > 0 || allowed.size === 0;
}
