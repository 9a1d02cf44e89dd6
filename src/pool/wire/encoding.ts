/**
 * Binary encoding of thread events. A thread appends events to a Float64Array (event index,
 * measurement key/value pairs, metadata key/type/value triples) with a per-batch string table, and
 * the supervisor decodes whole batches. Compared with posting event objects (structured clone of
 * every key and value on both sides) this is what bench/event-folding measures as
 * `vs_batched_postmessage`.
 *
 * Batches are self-contained (strings are interned per batch) so results and standalone flushes,
 * which travel on different channels, can arrive in any order.
 */
import { catalog } from '../../telemetry/catalog.ts';
import type { RingWriter } from './event-ring.ts';
import type { ThreadLogRecord } from '../../log/record.ts';
import { BatchHeader, batchHeaderDoubles, type EventBatch } from './protocol.ts';

/** Cataloged event names in a fixed order: the wire index of an event. */
const wireEvents: readonly string[] = Object.keys(catalog);
const wireEventIndex = new Map(wireEvents.map((name, i) => [name, i]));
const wireMeasurements: readonly (readonly string[])[] = wireEvents.map((name) => catalog[name as keyof typeof catalog].measurements);
const measurementIndex: readonly ReadonlyMap<string, number>[] = wireMeasurements.map((keys) => new Map(keys.map((k, i) => [k, i])));

/** Every metadata key of the catalog plus the context keys the bus stamps: the wire index of a key. */
const wireMetadataKeys: readonly string[] = [
  ...new Set([...Object.values(catalog).flatMap((spec) => spec.metadata), 'correlation_id', 'traceparent', 'telemetry_span_id']),
];
const metadataKeyIndex = new Map(wireMetadataKeys.map((k, i) => [k, i]));

const enum ValueType { Number = 0, String = 1, Boolean = 2, Null = 3 }
/** Doubles one event can take at most: header, 8 measurements, 16 metadata entries. */
const maxRecordDoubles = 3 + 2 * 8 + 3 * 16;

/** Thread side: accumulates events until taken as a batch. */
export class BatchEncoder {
  readonly #capacityEvents: number;
  #records: Float64Array;
  /** Doubles written, the drop counts of the header included. */
  #length = batchHeaderDoubles;
  #events = 0;
  #drops = 0;
  #strings: string[] = [];
  #stringIds = new Map<string, number>();
  #logs: ThreadLogRecord[] | null = null;

  readonly #ring: RingWriter | null;

  /** With a `ring`, batches go into shared memory when it has room (see event-ring.ts). */
  constructor(capacityEvents: number, ring: RingWriter | null = null) {
    this.#capacityEvents = capacityEvents;
    this.#ring = ring;
    this.#records = new Float64Array(capacityEvents * 16 + maxRecordDoubles);
  }

  /** True when the batch holds as many events as configured and should be flushed. */
  get full(): boolean {
    return this.#events >= this.#capacityEvents;
  }

  get empty(): boolean {
    return this.#events === 0 && this.#logs === null && this.#drops === 0;
  }

  /** Counts events lost before they could be encoded. */
  countDrop(reason: 'buffer_full' | 'invalid_measurement' | 'unknown_event', count = 1): void {
    this.#records[BatchHeader[reason]] = this.#records[BatchHeader[reason]]! + count;
    this.#drops += count;
  }

  addLog(record: ThreadLogRecord): void {
    (this.#logs ??= []).push(record);
  }

  /**
   * Appends one event; returns false (and counts it as `invalid_measurement`) when a measurement is
   * not a finite number of the event, a metadata key is unknown, or a value is not a scalar.
   */
  encode(
    event: string, measurements: Readonly<Record<string, unknown>>, metadata: Readonly<Record<string, unknown>>,
    extra: Readonly<Record<string, unknown>> | null = null, sampledOut = false,
  ): boolean {
    const index = wireEventIndex.get(event);
    if (index === undefined) return this.#reject('unknown_event');
    this.#ensureRoom();
    const f = this.#records;
    const start = this.#length;
    let at = start + 2;
    let count = 0;
    const keys = measurementIndex[index]!;
    for (const key in measurements) {
      const value = measurements[key];
      const k = keys.get(key);
      if (k === undefined || typeof value !== 'number' || !Number.isFinite(value) || count === 8) return this.#invalid(event);
      f[at++] = k;
      f[at++] = value;
      count++;
    }
    // An event that measures something and carries nothing would fold as zeros or not at all.
    if (count === 0 && keys.size > 0) return this.#invalid(event);
    // A sampled-out event (shipped for record handlers only) travels as -(index + 1): no extra double per event.
    f[start] = sampledOut ? -index - 1 : index;
    f[start + 1] = count;
    const metaCountAt = at++;
    count = 0;
    for (const key in metadata) {
      at = this.#encodeMetadata(at, key, metadata[key]);
      if (at < 0) return this.#invalid(event);
      if (metadata[key] !== undefined) count++;
    }
    // Task metadata (e.g. queue/job_id of the job a task runs) joins every event of that task,
    // unless the event set the key itself.
    if (extra !== null) {
      for (const key in extra) {
        if (metadata[key] !== undefined || extra[key] === undefined) continue;
        at = this.#encodeMetadata(at, key, extra[key]);
        if (at < 0) return this.#invalid(event);
        count++;
      }
    }
    f[metaCountAt] = count;
    this.#length = at;
    this.#events++;
    return true;
  }

  /** Takes the accumulated batch (into the ring, or a copy) and starts a new one; null when there is nothing to send. */
  take(): EventBatch | null {
    if (this.empty) return null;
    const length = this.#length;
    const at = this.#ring === null ? -1 : this.#ring.place(this.#records, length);
    const records = at >= 0 ? at : this.#records.slice(0, length);
    const batch: EventBatch = this.#logs === null ? [records, length, this.#strings] : [records, length, this.#strings, this.#logs];
    this.#records.fill(0, 0, batchHeaderDoubles);
    this.#length = batchHeaderDoubles;
    this.#events = 0;
    this.#drops = 0;
    this.#strings = [];
    this.#stringIds.clear();
    this.#logs = null;
    return batch;
  }

  /** Writes one metadata entry at `at`; returns the next position (unchanged for undefined), or -1 when invalid. */
  #encodeMetadata(at: number, key: string, value: unknown): number {
    if (value === undefined) return at;
    const k = metadataKeyIndex.get(key);
    if (k === undefined || at - this.#length > maxRecordDoubles - 3) return -1;
    const f = this.#records;
    f[at++] = k;
    if (typeof value === 'number') {
      f[at++] = ValueType.Number;
      f[at++] = value;
    } else if (typeof value === 'string') {
      f[at++] = ValueType.String;
      f[at++] = this.#intern(value);
    } else if (typeof value === 'boolean') {
      f[at++] = ValueType.Boolean;
      f[at++] = value ? 1 : 0;
    } else if (value === null) {
      f[at++] = ValueType.Null;
      f[at++] = 0;
    } else {
      return -1;
    }
    return at;
  }

  /**
   * Rejects a malformed event of a known name as a `telemetry.events.dropped` record naming it (the
   * header counts only say how many), written here rather than emitted on the thread's bus so that
   * sampling rules for `telemetry.*` cannot lose the count. The supervisor counts it like header drops.
   */
  #invalid(event: string): false {
    this.encode('telemetry.events.dropped', { count: 1 }, { reason: 'invalid_measurement', source: 'thread', event });
    return false;
  }

  #reject(reason: 'invalid_measurement' | 'unknown_event'): false {
    this.countDrop(reason);
    return false;
  }

  #intern(value: string): number {
    let id = this.#stringIds.get(value);
    if (id === undefined) {
      id = this.#strings.push(value) - 1;
      this.#stringIds.set(value, id);
    }
    return id;
  }

  #ensureRoom(): void {
    if (this.#length + maxRecordDoubles <= this.#records.length) return;
    const grown = new Float64Array(this.#records.length * 2);
    grown.set(this.#records.subarray(0, this.#length));
    this.#records = grown;
  }
}

/**
 * Receives each decoded event; `metadata` already holds the origin keys given to `decodeBatch`;
 * `sampledOut` is true for an event the thread's rules dropped, shipped for record handlers only.
 */
export type DecodedEventSink = (event: string, measurements: Record<string, number>, metadata: Record<string, unknown>, sampledOut: boolean) => void;

/**
 * Supervisor side: decodes the records in `f[start, end)` (a batch: its drop-count header, then its
 * records), stamping `pool` and `worker_id` first so handlers see thread events exactly like local
 * ones. Returns the number of records that were corrupt (decoding stops at the first one: a
 * thread's own encoder wrote it, so it means a bug).
 */
export function decodeBatch(
  f: Float64Array, start: number, end: number, strings: readonly string[], pool: string, workerId: number, sink: DecodedEventSink,
): number {
  let at = start + batchHeaderDoubles;
  while (at < end) {
    const raw = f[at]!;
    const sampledOut = raw < 0;
    const index = sampledOut ? -raw - 1 : raw;
    const event = wireEvents[index];
    const keys = event === undefined ? undefined : wireMeasurements[index];
    if (event === undefined || keys === undefined) return 1;
    const measurementCount = f[at + 1]!;
    at += 2;
    const measurements: Record<string, number> = {};
    for (let i = 0; i < measurementCount; i++, at += 2) measurements[keys[f[at]!]!] = f[at + 1]!;
    const metadataCount = f[at++]!;
    const metadata: Record<string, unknown> = { pool, worker_id: workerId };
    for (let i = 0; i < metadataCount; i++, at += 3) {
      const key = wireMetadataKeys[f[at]!]!;
      const type = f[at + 1]!;
      const raw = f[at + 2]!;
      metadata[key] = type === ValueType.Number ? raw : type === ValueType.String ? strings[raw] : type === ValueType.Boolean ? raw === 1 : null;
    }
    sink(event, measurements, metadata, sampledOut);
  }
  return 0;
}
