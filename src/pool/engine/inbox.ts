/**
 * The supervisor side of the event transport: decodes thread batches onto the bus (with the
 * thread's pool and worker_id), feeds thread drop counts into the bus's counters, hands `ctx.log`
 * lines to the log sink, and holds a task's result back until the batches its thread posted on
 * their own during the task have arrived (they travel on another channel than the result).
 */
import type { Telemetry } from '../../telemetry/bus.ts';
import type { DropReason } from '../../telemetry/types.ts';
import { decodeBatch } from '../wire/encoding.ts';
import { ringConsumed, ringOf } from '../wire/event-ring.ts';
import type { ThreadLogRecord } from '../../log/record.ts';
import { BatchHeader, SlotField, slotFieldCount, type EventBatch } from '../wire/protocol.ts';

export type LogSink = (record: ThreadLogRecord, origin: { pool: string; worker_id: number }) => void;

const dropReasons = ['buffer_full', 'invalid_measurement', 'unknown_event'] as const;

export class ThreadInbox {
  readonly #bus: Telemetry;
  readonly #slots: Int32Array;
  readonly #pool: string;
  readonly #onLog: LogSink;
  readonly #waiting = new Map<number, (() => void)[]>();
  /** Each slot's event ring, by slot. */
  readonly #rings: Float64Array[];

  constructor(bus: Telemetry, slots: Int32Array, pool: string, onLog: LogSink, events: SharedArrayBuffer, slotCount: number) {
    this.#bus = bus;
    this.#slots = slots;
    this.#pool = pool;
    this.#onLog = onLog;
    this.#rings = Array.from({ length: slotCount }, (_, slot) => ringOf(events, slot));
  }

  /** Decodes one batch onto the bus (from the slot's ring, or its copy), then frees its ring space. */
  ingest(batch: EventBatch, workerId: number): void {
    const bus = this.#bus;
    const [records, length, strings, logs] = batch;
    const inRing = typeof records === 'number';
    const f = inRing ? this.#rings[workerId]! : records;
    const start = inRing ? records : 0;
    decodeBatch(f, start, start + length, strings, this.#pool, workerId, (event, measurements, metadata, sampledOut) => {
      // A thread's own drop reports feed the supervisor's counters, not just its handlers.
      if (event === 'telemetry.events.dropped') bus.drop(dropReason(metadata.reason), measurements.count ?? 0, Object.assign(metadata, { source: 'thread' }));
      else bus.ingest(event, measurements, metadata, undefined, sampledOut);
    });
    for (const reason of dropReasons) {
      const count = f[start + BatchHeader[reason]]!;
      if (count > 0) bus.drop(reason, count, { source: 'thread', pool: this.#pool, worker_id: workerId });
    }
    if (inRing) ringConsumed(this.#slots, workerId, start + length);
    if (logs === undefined) return;
    const origin = { pool: this.#pool, worker_id: workerId };
    for (const record of logs) this.#onLog(record, origin);
  }

  /** A batch thread `threadId` posted on its own; dropped if that thread no longer holds the slot. */
  standalone(batch: EventBatch, slot: number, threadId: number): void {
    // A dead thread's late message: a replacement may already be writing this slot's ring.
    if (Atomics.load(this.#slots, slot * slotFieldCount + SlotField.threadId) !== threadId) return;
    const left = Atomics.sub(this.#slots, slot * slotFieldCount + SlotField.pendingBatches, 1) - 1;
    this.ingest(batch, slot);
    if (left <= 0) this.release(slot);
  }

  /** True while batches the slot's thread posted on their own are still in flight. */
  hasPendingBatches(slot: number): boolean {
    return Atomics.load(this.#slots, slot * slotFieldCount + SlotField.pendingBatches) > 0;
  }

  /** Runs `settle` now, or once the slot's in-flight standalone batches have been ingested. */
  afterBatches(slot: number, settle: () => void): void {
    if (Atomics.load(this.#slots, slot * slotFieldCount + SlotField.pendingBatches) <= 0) return settle();
    const waiting = this.#waiting.get(slot);
    if (waiting === undefined) this.#waiting.set(slot, [settle]);
    else waiting.push(settle);
  }

  /** Settles what waits on a slot (its batches arrived, or its thread died and never will send them). */
  release(slot: number): void {
    const waiting = this.#waiting.get(slot);
    if (waiting === undefined) return;
    this.#waiting.delete(slot);
    for (const settle of waiting) settle();
  }
}

function dropReason(value: unknown): DropReason {
  return value === 'buffer_full' || value === 'unknown_event' ? value : 'invalid_measurement';
}
