/**
 * A test helper for host code, like :telemetry's test helper: capture the events of given names or
 * patterns from a bus and assert on them.
 *
 * ```ts
 * const capture = captureEvents(telemetry, ['job.*']);
 * await runSomething();
 * expect(capture.of('job.stop')).toHaveLength(1);
 * capture.stop();
 * ```
 */
import type { Telemetry } from './bus.ts';
import type { EventName, EventPattern, EventTable, Matching, Measurements, Metadata } from './types.ts';

/** One captured event. */
export interface CapturedEvent<C extends EventTable, E extends EventName<C>> {
  readonly event: E;
  readonly measurements: Measurements<C, E>;
  readonly metadata: Metadata<C, E>;
}

let captureSeq = 0;

/** Captured events of one `captureEvents` call. */
export class EventCapture<C extends EventTable, E extends EventName<C>> {
  /** Every captured event, in emission order. */
  readonly events: CapturedEvent<C, E>[] = [];
  readonly #bus: Telemetry<C>;
  readonly #id: string;
  #waiters: { event: E; count: number; resolve: () => void }[] = [];

  constructor(bus: Telemetry<C>, id: string) {
    this.#bus = bus;
    this.#id = id;
  }

  /** Handler id used on the bus (detached by `stop`). */
  get id(): string {
    return this.#id;
  }

  /** Captured events of one name. */
  of<N extends E>(event: N): CapturedEvent<C, N>[] {
    return this.events.filter((e): e is CapturedEvent<C, N> => e.event === event);
  }

  /** Names of the captured events, in order. */
  names(): E[] {
    return this.events.map((e) => e.event);
  }

  /** Forgets what was captured so far. */
  clear(): void {
    this.events.length = 0;
  }

  /** Resolves once `count` events of this name have been captured; rejects after `timeoutMs`. */
  waitFor(event: E, options: { count?: number; timeoutMs?: number } = {}): Promise<CapturedEvent<C, E>[]> {
    const count = options.count ?? 1;
    const timeoutMs = options.timeoutMs ?? 5_000;
    if (this.of(event).length >= count) return Promise.resolve(this.of(event));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} × ${event} (saw ${this.of(event).length})`));
      }, timeoutMs);
      const waiter = { event, count, resolve: () => { clearTimeout(timer); resolve(this.of(event)); } };
      this.#waiters.push(waiter);
    });
  }

  /** Detaches the capturing handler. */
  stop(): void {
    this.#bus.detach(this.#id);
  }

  /** @internal called by the capturing handler */
  record(captured: CapturedEvent<C, E>): void {
    this.events.push(captured);
    if (this.#waiters.length === 0) return;
    const ready = this.#waiters.filter((w) => w.event === captured.event && this.of(w.event).length >= w.count);
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}

/** Starts capturing events matching `patterns` on `bus`. */
export function captureEvents<C extends EventTable, const P extends EventPattern<C>>(
  bus: Telemetry<C>,
  patterns: P | readonly P[],
): EventCapture<C, Matching<C, P> & EventName<C>> {
  type E = Matching<C, P> & EventName<C>;
  const capture = new EventCapture<C, E>(bus, `pitboss.capture.${++captureSeq}`);
  const list = (Array.isArray(patterns) ? patterns : [patterns]) as readonly P[];
  // Tests want to see everything a handler could, correlation included.
  bus.attachMany(capture.id, list, (event, measurements, metadata) => {
    capture.record({ event, measurements: { ...measurements }, metadata: { ...metadata } } as CapturedEvent<C, E>);
  }, undefined, { correlation: true });
  return capture;
}
