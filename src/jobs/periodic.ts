/**
 * A background pass run every `intervalMs` (the reconciler, retention, the scheduler): never two at
 * once — a call while one is under way joins it — and a pass that fails (store or dispatch down) is
 * simply tried again an interval later; whoever it talks to reports the outage. A pass may resolve
 * to how long until the next one (the scheduler wakes just after its next tick). The next pass is
 * timed from the end of the latest one, whether the timer or a caller ran it. Its timer keeps no
 * process alive.
 */
export class PeriodicPass {
  readonly #pass: () => Promise<number | void>;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = true;

  constructor(pass: () => Promise<number | void>, intervalMs: number) {
    this.#pass = pass;
    this.#intervalMs = intervalMs;
  }

  /** Runs passes from `firstDelayMs` on (default one interval), then every interval (or as each pass asks). */
  start(firstDelayMs = this.#intervalMs): void {
    this.#stopped = false;
    this.#schedule(firstDelayMs);
  }

  /** Runs a pass now; joins a pass already running. The timer is re-armed when it ends. */
  run(): Promise<void> {
    this.#running ??= this.#pass().then(
      (nextMs) => { this.#schedule(nextMs ?? this.#intervalMs); },
      (error: unknown) => { this.#schedule(this.#intervalMs); throw error; },
    ).finally(() => { this.#running = null; });
    return this.#running;
  }

  /** No more passes; resolves once a pass under way has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => {});
  }

  #schedule(delayMs: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.run().catch(() => {});
    }, delayMs);
    this.#timer.unref();
  }
}
