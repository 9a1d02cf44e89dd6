import { describe, expect, it } from 'vitest';
import { BatchEncoder, decodeBatch } from '../../src/pool/wire/encoding.ts';
import { createRingBuffer, ringConsumed, ringDoubles, ringOf, RingWriter } from '../../src/pool/wire/event-ring.ts';
import { SlotField, slotFieldCount } from '../../src/pool/wire/protocol.ts';

function setup(slot = 1) {
  const slots = new Int32Array(new SharedArrayBuffer(4 * slotFieldCount * 4));
  const buffer = createRingBuffer(4);
  return { slots, buffer, ring: ringOf(buffer, slot), writer: new RingWriter(buffer, slots, slot), slot };
}

const filled = (length: number, value: number): Float64Array => new Float64Array(length).fill(value);

describe('event ring (one slot: thread writes, supervisor reads)', () => {
  it('places batches one after another and copies them into the slot’s own region', () => {
    const { ring, writer, buffer } = setup(1);
    expect(writer.place(filled(10, 7), 4)).toBe(0);
    expect(writer.place(filled(10, 8), 6)).toBe(4);
    expect([...ring.subarray(0, 10)]).toEqual([7, 7, 7, 7, 8, 8, 8, 8, 8, 8]);
    // Slot 0's region is untouched.
    expect(ringOf(buffer, 0).some((v) => v !== 0)).toBe(false);
  });

  it('refuses a batch that would overrun unread ones, and wraps to 0 once the reader has moved on', () => {
    const { slots, writer, slot } = setup();
    const big = filled(ringDoubles, 1);
    expect(writer.place(big, ringDoubles - 100)).toBe(0);
    // 100 left at the end, but the reader is still at 0: filling the end would make write == read (empty).
    expect(writer.place(big, 100)).toBe(-1);
    expect(writer.place(big, 99)).toBe(ringDoubles - 100);
    expect(writer.place(big, 1)).toBe(-1);
    ringConsumed(slots, slot, ringDoubles - 100);
    // The end is full; the start is free up to one below the reader's position.
    expect(writer.place(big, 50)).toBe(0);
    expect(writer.place(big, ringDoubles - 150)).toBe(-1);
    expect(writer.place(big, ringDoubles - 151)).toBe(50);
    expect(Atomics.load(slots, slot * slotFieldCount + SlotField.ringRead)).toBe(ringDoubles - 100);
  });

  it('a new writer in the slot starts an empty ring', () => {
    const { slots, buffer, writer, slot } = setup();
    writer.place(filled(10, 1), 10);
    ringConsumed(slots, slot, 10);
    const replacement = new RingWriter(buffer, slots, slot);
    expect(Atomics.load(slots, slot * slotFieldCount + SlotField.ringRead)).toBe(0);
    expect(replacement.place(filled(10, 2), 10)).toBe(0);
  });

  it('an encoder sends batches through the ring while it has room and as copies when not, decoding the same either way', () => {
    const { slots, ring, writer, slot } = setup();
    const encoder = new BatchEncoder(1024, writer);
    const decode = (batch: NonNullable<ReturnType<BatchEncoder['take']>>) => {
      const [records, length, strings] = batch;
      const f = typeof records === 'number' ? ring : records;
      const start = typeof records === 'number' ? records : 0;
      const seen: unknown[] = [];
      expect(decodeBatch(f, start, start + length, strings, 'p', slot, (event, m, md) => seen.push([event, m, md]))).toBe(0);
      return seen;
    };
    const emit = (i: number): void => {
      encoder.encode('action.stop', { duration: i }, { action: `step-${i}`, status: 'ok' });
    };
    emit(1);
    emit(2);
    const first = encoder.take()!;
    expect(typeof first[0]).toBe('number');
    expect(decode(first)).toEqual([
      ['action.stop', { duration: 1 }, { pool: 'p', worker_id: slot, action: 'step-1', status: 'ok' }],
      ['action.stop', { duration: 2 }, { pool: 'p', worker_id: slot, action: 'step-2', status: 'ok' }],
    ]);
    // The reader has not marked the first batch read: keep writing until the ring is full.
    let copies = 0;
    let lastEnd = 0;
    for (let i = 0; i < 10_000 && copies === 0; i++) {
      emit(i);
      const batch = encoder.take()!;
      if (typeof batch[0] === 'number') lastEnd = batch[0] + batch[1];
      else {
        copies++;
        expect(decode(batch)).toEqual([['action.stop', { duration: i }, { pool: 'p', worker_id: slot, action: `step-${i}`, status: 'ok' }]]);
      }
    }
    expect(copies).toBe(1);
    // Once everything is read, the space is used again.
    ringConsumed(slots, slot, lastEnd);
    emit(3);
    expect(typeof encoder.take()![0]).toBe('number');
  });
});
