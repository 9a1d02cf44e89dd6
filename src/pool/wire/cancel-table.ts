/**
 * Calling off a dispatched task that can be aborted, without piscina's abort and without keeping it
 * out of chunks. Each such task owns a word of a shared Int32Array (at `id & mask`) while it is out:
 *
 * - the supervisor writes its id when it hands the task out (`arm`);
 * - the thread, about to start it, swaps id → -id (`startArmed`); a failed swap means "called off":
 *   it skips the task;
 * - an abort swaps id → 0 (`cancel`). Whichever swap comes first wins, so a task either never starts
 *   (the thread skips it) or is known to be running (its thread is terminated) — never both, never
 *   neither, the same guarantee piscina's abort gives a task alone;
 * - the thread writes 0 once the task is done (`finishArmed`), before its answer leaves, so an abort
 *   arriving together with the answer kills nothing.
 *
 * piscina's own abort costs a listener, an AbortSignal and its bookkeeping per task and keeps a task
 * out of chunks; bench/jobs-throughput (every job passes a signal, for cancel) measured 1.15× the
 * jobs/s at concurrency 16 and 1.40× at 256 without it. Imported by both sides; no module state.
 */

/** Words needed so `arm` finds a free one at once: twice the tasks that can be out at a time, a power of two, at least 4096. */
export function cancelTableWords(tasksOut: number): number {
  let words = 4096;
  while (words < tasksOut * 2) words *= 2;
  return words;
}

/** Dispatch ids stay positive int32s (slot-table fields and these words are Int32): wrapped after 2^31 - 1. */
export const nextTaskId = (previous: number): number => (previous >= 0x7fffffff ? 1 : previous + 1);

/** The supervisor's side of the table. */
export class CancelTable {
  readonly words: Int32Array;
  readonly #mask: number;

  constructor(words: number) {
    this.words = new Int32Array(new SharedArrayBuffer(words * 4));
    this.#mask = words - 1;
  }

  /** Takes the word of task `id`; false when another task still holds it (take the next id then). */
  arm(id: number): boolean {
    return Atomics.compareExchange(this.words, id & this.#mask, 0, id) === 0;
  }

  /**
   * Calls the task off if it has not started: 'cancelled' (it never will), 'running' (its thread
   * has it now), or 'done' (finished; its answer is on the way).
   */
  cancel(id: number): 'cancelled' | 'running' | 'done' {
    const seen = Atomics.compareExchange(this.words, id & this.#mask, id, 0);
    return seen === id ? 'cancelled' : seen === -id ? 'running' : 'done';
  }

  /** Frees the task's word once it is settled (a thread that died running it left -id there). */
  release(id: number): void {
    const at = id & this.#mask;
    if (Atomics.compareExchange(this.words, at, id, 0) !== id) Atomics.compareExchange(this.words, at, -id, 0);
  }
}

/** Thread side: true when the task may start (and is now marked running), false when it was called off. */
export function startArmed(words: Int32Array, id: number): boolean {
  return Atomics.compareExchange(words, id & (words.length - 1), id, -id) === id;
}

/** Thread side: the task is done; an abort from now on finds nothing to stop. */
export function finishArmed(words: Int32Array, id: number): void {
  Atomics.compareExchange(words, id & (words.length - 1), -id, 0);
}
