// The cancel table's protocol in isolation (pure logic over a SharedArrayBuffer; the pool tests
// drive it across real threads).
import { describe, expect, it } from 'vitest';
import { CancelTable, cancelTableWords, finishArmed, nextTaskId, startArmed } from '../../src/pool/wire/cancel-table.ts';

describe('cancel table', () => {
  it('a cancel before the start wins: the thread skips the task', () => {
    const table = new CancelTable(4096);
    expect(table.arm(7)).toBe(true);
    expect(table.cancel(7)).toBe('cancelled');
    expect(startArmed(table.words, 7)).toBe(false);
    table.release(7);
    expect(table.arm(7)).toBe(true);
  });

  it('a start before the cancel wins: the cancel finds it running, then done once finished', () => {
    const table = new CancelTable(4096);
    table.arm(9);
    expect(startArmed(table.words, 9)).toBe(true);
    expect(table.cancel(9)).toBe('running');
    finishArmed(table.words, 9);
    expect(table.cancel(9)).toBe('done');
  });

  it('a word stays taken until released, also when its thread died running the task', () => {
    const table = new CancelTable(4096);
    table.arm(5);
    expect(table.arm(5 + 4096)).toBe(false); // same word
    startArmed(table.words, 5); // the thread dies here: -5 is left behind
    table.release(5);
    expect(table.arm(5 + 4096)).toBe(true);
    // A release of an id that no longer holds the word leaves the new holder alone.
    table.release(5);
    expect(table.cancel(5 + 4096)).toBe('cancelled');
  });

  it('sizes the table to a power of two of at least twice the tasks out, and keeps ids positive int32s', () => {
    expect(cancelTableWords(8)).toBe(4096);
    expect(cancelTableWords(3000)).toBe(8192);
    expect(nextTaskId(1)).toBe(2);
    expect(nextTaskId(0x7ffffffe)).toBe(0x7fffffff);
    expect(nextTaskId(0x7fffffff)).toBe(1);
  });
});
