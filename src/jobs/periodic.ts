/**
 * A background pass run every `intervalMs` (the reconciler, retention): never two at once — a call
 * while one is under way joins it — and a pass that fails (store or dispatch down) is simply tried
 * again next period; whoever it talks to reports the outage. Its timer keeps no process alive.
 */
export class PeriodicPass {
  readonly #pass: () => Promise<void>;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;

  constructor(pass: () => Promise<void>, intervalMs: number) {
    this.#pass = pass;
    this.#intervalMs = intervalMs;
  }

  /** Runs passes from `firstDelayMs` on (default one interval), then every interval. */
  start(firstDelayMs = this.#intervalMs): void {
    this.#stopped = false;
    this.#schedule(firstDelayMs);
  }

  /** Runs a pass now; joins a pass already running. */
  run(): Promise<void> {
    this.#running ??= this.#pass().finally(() => { this.#running = null; });
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
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.run().catch(() => {}).finally(() => this.#schedule(this.#intervalMs));
    }, delayMs);
    this.#timer.unref();
  }
}
