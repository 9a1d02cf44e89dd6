/**
 * Shared memory for event batches: one ring of float64s per slot, written by that slot's thread and
 * read by the supervisor. A batch placed here travels as its offset instead of a Float64Array: a
 * Float64Array costs an ArrayBuffer allocation to copy it out of the encoder and another where it is
 * received (4.4 µs to slice, post and receive a 60-double batch on Node 20 and 24; 2.4 µs for the same
 * numbers in a plain array), which for a task emitting a few events was more than the events themselves.
 *
 * Single producer, single consumer, in order: the thread writes batches one after another (a batch
 * never wraps; it starts over at 0 when the end has no room) and the supervisor decodes them in the
 * order written (ThreadInbox holds a result until the batches its thread posted before it are in),
 * then publishes how far it has read in the slot table. A batch that does not fit travels as a copy,
 * as before, so a slow reader costs speed, never events.
 */
import { SlotField, slotFieldCount } from './protocol.ts';

/** Doubles per slot: 256 KiB, room for several typical batches or one full batch of 1024 events. */
export const ringDoubles = 32 * 1024;

/** Shared memory for the rings of `slotCount` slots. */
export const createRingBuffer = (slotCount: number): SharedArrayBuffer => new SharedArrayBuffer(slotCount * ringDoubles * 8);

/** The ring of one slot. */
export const ringOf = (buffer: SharedArrayBuffer, slot: number): Float64Array => new Float64Array(buffer, slot * ringDoubles * 8, ringDoubles);

/** Thread side: places batches in its slot's ring. */
export class RingWriter {
  readonly #ring: Float64Array;
  readonly #slots: Int32Array;
  readonly #readAt: number;
  /** Where the next batch goes (the supervisor's read position catches up to it). */
  #write = 0;

  constructor(buffer: SharedArrayBuffer, slots: Int32Array, slot: number) {
    this.#ring = ringOf(buffer, slot);
    this.#slots = slots;
    this.#readAt = slot * slotFieldCount + SlotField.ringRead;
    // A new thread in this slot starts an empty ring (its predecessor's unread batches died with it).
    Atomics.store(slots, this.#readAt, 0);
  }

  /** Copies the first `length` doubles of `records` into the ring; returns their offset, or -1 when there is no room. */
  place(records: Float64Array, length: number): number {
    const at = this.#room(length);
    if (at >= 0) this.#ring.set(records.subarray(0, length), at);
    return at;
  }

  /**
   * Offset of a free run of `length` doubles, advancing the write position; -1 if none. The write
   * position never reaches the read position from behind: equal means empty.
   */
  #room(length: number): number {
    const size = this.#ring.length;
    const read = Atomics.load(this.#slots, this.#readAt);
    const write = this.#write;
    if (write >= read) {
      // Free: [write, size) and, after a wrap, [0, read - 1).
      if (length < size - write || (length === size - write && read > 0)) {
        this.#write = (write + length) % size;
        return write;
      }
      if (length < read) {
        this.#write = length;
        return 0;
      }
      return -1;
    }
    // Free: [write, read - 1).
    if (length < read - write) {
      this.#write = write + length;
      return write;
    }
    return -1;
  }
}

/** Supervisor side: marks a slot's ring read up to the end of a batch just decoded. */
export function ringConsumed(slots: Int32Array, slot: number, end: number): void {
  Atomics.store(slots, slot * slotFieldCount + SlotField.ringRead, end % ringDoubles);
}
