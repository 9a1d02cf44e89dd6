/**
 * Type-level contract derived from an event table (the catalog, optionally extended by host events).
 * Everything the bus accepts is computed from the table, so a misspelt event name, measurement or
 * metadata key in an object literal is a compile error rather than a silently empty metric.
 */

/** Values metadata may carry. Only keys listed as `labels` may ever become metric labels. */
export type MetadataValue = string | number | boolean | null;

/** The definition of one event: what it measures, what it describes, and what is label-safe. */
export interface EventSpec {
  /** Numeric measurements; durations are nanoseconds named `duration`, sizes are bytes. */
  readonly measurements: readonly string[];
  /** Metadata keys the event carries. */
  readonly metadata: readonly string[];
  /** The subset of `metadata` whose values are bounded and may become metric labels. */
  readonly labels: readonly string[];
  /** One line for the docs table. */
  readonly description: string;
}

/** A table of events keyed by dot-separated name. */
export type EventTable = { readonly [name: string]: EventSpec };

/** Metadata the bus itself may add to any event. */
export interface ContextMetadata {
  /** Correlation id of the async context the event was emitted in. */
  correlation_id?: string;
  /** W3C traceparent of the async context the event was emitted in. */
  traceparent?: string;
  /** Shared by the `start`, `stop` and `exception` events of one span. */
  telemetry_span_id?: number;
  /** Stamped on every event that came from a pool thread (e.g. `action.*`): the pool... */
  pool?: MetadataValue;
  /** ...and the stable slot of the thread. */
  worker_id?: MetadataValue;
}

/** Names of the events of table `C`. */
export type EventName<C extends EventTable> = keyof C & string;

/**
 * Measurements of event `E` (a union of events gives the union of their keys). An event without
 * measurements gets a type that refuses every key, because TypeScript skips excess-property checks
 * against a plain `{}`.
 */
export type Measurements<C extends EventTable, E extends EventName<C>> = [C[E]['measurements'][number]] extends [never]
  ? { readonly [key: string]: never }
  : { [K in C[E]['measurements'][number]]?: number };

/** Metadata of event `E`, plus the context keys the bus stamps. */
export type Metadata<C extends EventTable, E extends EventName<C>> = {
  [K in C[E]['metadata'][number]]?: MetadataValue;
} & ContextMetadata;

/** Every dot-prefix of a name: `'pool.worker.spawned'` gives `'pool' | 'pool.worker'`. */
export type PrefixesOf<S extends string> = S extends `${infer Head}.${infer Tail}`
  ? Head | `${Head}.${PrefixesOf<Tail>}`
  : never;

/** What `attach` accepts: an event name, `'<prefix>.*'`, or `'*'` for everything. */
export type EventPattern<C extends EventTable> =
  | EventName<C>
  | `${PrefixesOf<EventName<C>>}.*`
  | '*';

/** The events a pattern selects. */
export type Matching<C extends EventTable, P extends string> = P extends '*'
  ? EventName<C>
  : P extends `${infer Prefix}.*`
    ? Extract<EventName<C>, `${Prefix}.${string}`>
    : Extract<EventName<C>, P>;

/** Prefixes `P` for which `P.start`, `P.stop` and `P.exception` all exist: the valid `span` prefixes. */
export type SpanPrefix<C extends EventTable> = {
  [E in EventName<C>]: E extends `${infer P}.start`
    ? `${P}.stop` extends EventName<C>
      ? `${P}.exception` extends EventName<C>
        ? P
        : never
      : never
    : never;
}[EventName<C>];

/**
 * A handler: receives the event name, its measurements, metadata, the config given at attach, and
 * the event's weight: 1/rate of the sampling rule that let it through (1 without sampling; 0 only for
 * `record` handlers, for an event the rules sampled out). Folding with the weight keeps counts unbiased.
 */
export type Handler<C extends EventTable, E extends EventName<C>, Config = unknown> = (
  event: E,
  measurements: Measurements<C, E>,
  metadata: Metadata<C, E>,
  config: Config,
  weight: number,
) => void;

/** What `listHandlers` reports for each attached handler. */
export interface HandlerInfo {
  readonly id: string;
  /** The patterns or names given at attach time. */
  readonly patterns: readonly string[];
  /** The events the handler currently receives (prefix patterns include later-registered events). */
  readonly events: readonly string[];
  readonly config: unknown;
}

/** Why an event was dropped instead of delivered. */
export type DropReason = 'unknown_event' | 'invalid_measurement' | 'buffer_full';
