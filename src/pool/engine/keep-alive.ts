/**
 * Keeps the process alive while a pool has work pending. piscina unrefs its threads, so nothing of
 * a pool holds Node's event loop: a script awaiting `pool.run()` while a replacement thread boots
 * (its only handle an unref'd `Worker`) would end with exit code 13, an unsettled top-level await.
 * One ref'd handle per pool covers every pending task, spawn and wait; an idle pool holds nothing.
 *
 * The handle is one long interval made once and toggled with `ref()`/`unref()` on the 0→1 and 1→0
 * transitions of the hold count, so a task adds a counter step, not a timer or an allocation.
 */
const noop = (): void => {};
/** Never fires in practice (~12 days); it only exists to be ref'd. */
const farAwayMs = 2 ** 30;

export class KeepAlive {
  #timer: NodeJS.Timeout | null = null;
  #holds = 0;

  /** Pending holds (tasks, spawns, waits) keeping the process alive. */
  get holds(): number {
    return this.#holds;
  }

  hold(): void {
    if (this.#holds++ > 0) return;
    if (this.#timer === null) this.#timer = setInterval(noop, farAwayMs);
    else this.#timer.ref();
  }

  release(): void {
    if (this.#holds === 0) return;
    if (--this.#holds === 0) this.#timer!.unref();
  }

  /** Holds while `pending` is true, releasing otherwise; for a holder that tracks a state rather than counts. */
  set(held: boolean, pending: boolean): boolean {
    if (pending && !held) this.hold();
    else if (!pending && held) this.release();
    return pending;
  }

  /** Drops every hold and the handle (the pool is gone). */
  dispose(): void {
    this.#holds = 0;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
