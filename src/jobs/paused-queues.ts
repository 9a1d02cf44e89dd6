/**
 * Pause and resume of queues, fleet-wide, for one JobSystem. The store is the truth (`paused_queues`)
 * and is strict on its own: a claim refuses rows of a paused queue, so no job of it starts anywhere
 * once a pause has committed (sql/queues.ts). What this adds is the consumers: each supervisor holds
 * back its paused queues' dispatch, so dispatch does not hand out jobs only for the claim to refuse
 * them. It hears of a change made elsewhere through LISTEN/NOTIFY (within milliseconds), and reads
 * the list again every reconcile period, for a notification missed or a start during an outage.
 */
import type { Telemetry } from '../telemetry/bus.ts';
import type { QueueConsumer } from './consumer.ts';
import { PeriodicPass } from './periodic.ts';
import type { JobStore } from './store/store.ts';

export interface PausedQueuesOptions {
  readonly store: JobStore;
  readonly bus: Telemetry;
  /** This system's consumers, each following its queue's pause. */
  readonly consumers: () => readonly QueueConsumer[];
  /** Called when a queue this system knows was resumed, here or elsewhere: what waits is handed out now. */
  readonly onResumed: (queue: string) => void;
  /** How often the list is read again whatever the notifications said (the reconcile period). */
  readonly refreshMs: number;
}

export class PausedQueues {
  readonly #o: PausedQueuesOptions;
  readonly #refresh: PeriodicPass;
  #paused: ReadonlySet<string> = new Set();
  #unlisten: (() => Promise<void>) | null = null;

  constructor(options: PausedQueuesOptions) {
    this.#o = options;
    this.#refresh = new PeriodicPass(async () => {
      // While the store is down there is nothing to read (and its claims refuse nothing: none commit).
      if (this.#o.store.available) this.#adopt(await this.#o.store.queues.paused());
    }, options.refreshMs);
  }

  /** True when `queue` was paused as this system last heard. */
  has(queue: string): boolean {
    return this.#paused.has(queue);
  }

  /**
   * Reads the paused queues before the consumers start (they start held back), then follows
   * changes. A store that is down now only delays this: its claims refuse paused queues anyway, and
   * the periodic read catches up.
   */
  async start(): Promise<void> {
    const { store } = this.#o;
    if (store.available) this.#paused = new Set(await store.queues.paused().catch(() => []));
    this.#unlisten = await store.queues.onChange((paused) => this.#adopt(paused)).catch(() => null);
    this.#refresh.start();
  }

  /** Pauses `queue` fleet-wide; `queue.paused` is emitted when this call changed it. Resolves once no job of it can start. */
  async pause(queue: string): Promise<void> {
    const changed = await this.#o.store.queues.pause(queue);
    this.#adopt([...this.#paused, queue]);
    if (changed) this.#o.bus.execute('queue.paused', {}, { queue });
  }

  /** Resumes `queue` fleet-wide; `queue.resumed` is emitted when this call changed it. */
  async resume(queue: string): Promise<void> {
    const changed = await this.#o.store.queues.resume(queue);
    this.#adopt([...this.#paused].filter((q) => q !== queue));
    if (changed) this.#o.bus.execute('queue.resumed', {}, { queue });
  }

  async stop(): Promise<void> {
    await this.#refresh.stop();
    await this.#unlisten?.().catch(() => {});
    this.#unlisten = null;
  }

  /** Takes a list as the truth: consumers follow it, and queues that came out of it are handed out now. */
  #adopt(paused: readonly string[]): void {
    const before = this.#paused;
    this.#paused = new Set(paused);
    for (const consumer of this.#o.consumers()) void consumer.setPaused(this.#paused.has(consumer.queue));
    for (const queue of before) if (!this.#paused.has(queue)) this.#o.onResumed(queue);
  }
}
