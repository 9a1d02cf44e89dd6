/**
 * A consumer's job slots: at most `size` jobs handed to its processor at once. BullMQ's own
 * concurrency counts BullMQ jobs, and a packed entry is one BullMQ job carrying many of ours, so the
 * consumer counts jobs here and each of a packed entry's jobs waits for a slot of its own.
 * Waiters are served first come, first served; `withdraw` rejects every waiter (pause, close), so a
 * packed entry stops handing out jobs it has not started.
 */

/** Why a wait for a slot ended without one. */
class SlotsWithdrawn extends Error {
  override name = 'SlotsWithdrawn';
}

export class JobSlots {
  readonly size: number;
  readonly #onChange: () => void;
  #used = 0;
  #waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  /** `onChange` runs after every take and release (the consumer retunes BullMQ's fetching from it). */
  constructor(size: number, onChange: () => void) {
    this.size = size;
    this.#onChange = onChange;
  }

  /** Slots held now. */
  get used(): number {
    return this.#used;
  }

  /** Resolves once a slot is held; rejects with SlotsWithdrawn if `withdraw` is called first. */
  take(): Promise<void> {
    if (this.#used < this.size && this.#waiters.length === 0) {
      this.#used++;
      this.#onChange();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Gives a slot back; the longest waiter gets it. */
  release(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) {
      next.resolve();
      return;
    }
    this.#used--;
    this.#onChange();
  }

  /** Rejects every waiter; slots held stay held until released. */
  withdraw(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(new SlotsWithdrawn('the consumer stopped taking jobs'));
  }
}
