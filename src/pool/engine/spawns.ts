/**
 * The pool's book of thread (re)spawns: which slots wait for a thread and since when (for
 * `pool.worker.spawn_started`, `spawned` and `restarted`), the unplanned restarts inside the
 * intensity window, and the backoff between attempts to start threads that die while starting.
 * While a slot waits for its thread the pool's keep-alive is held: a spawn in progress is pending work.
 */
import type { Telemetry } from '../../telemetry/bus.ts';
import type { Intensity } from '../../supervision/types.ts';
import type { KeepAlive } from './keep-alive.ts';
import { nsSince, type PendingSpawn, type PoolThread } from './threads.ts';

export class SpawnLedger {
  readonly #bus: Telemetry;
  readonly #pool: string;
  readonly #intensity: Intensity;
  readonly #keepAlive: KeepAlive;
  readonly #pending = new Map<number, PendingSpawn>();
  #restarts: number[] = [];
  #held = false;
  /** Threads that died while starting since a thread last said hello. */
  #failedStarts = 0;

  constructor(bus: Telemetry, pool: string, intensity: Intensity, keepAlive: KeepAlive) {
    this.#bus = bus;
    this.#pool = pool;
    this.#intensity = intensity;
    this.#keepAlive = keepAlive;
  }

  /** Unplanned restarts inside the current window. */
  get restarts(): number {
    return this.#restarts.length;
  }

  /** A fresh start: no restarts counted, no slot waiting. */
  reset(): void {
    this.#restarts = [];
    this.#failedStarts = 0;
    this.clear();
  }

  /** No slot waits for a thread any more (the pool is closing or failed). */
  clear(): void {
    this.#pending.clear();
    this.#held = this.#keepAlive.set(this.#held, false);
  }

  /**
   * A thread died while starting (a worker module that cannot load, say): how long to wait before
   * starting threads again. Doubling from 50 ms up to 1 s, and never so long that more than the
   * intensity's restarts could not fit in its period (a pool that cannot start must still fail, not
   * retry for ever). Measured before: 11 attempts in 0.8 s, the pool failing before a transient
   * cause (a file being deployed, a slow disk) could clear.
   */
  failedStartDelayMs(): number {
    const { maxRestarts, periodMs } = this.#intensity;
    const step = 50 * 2 ** Math.min(this.#failedStarts++, 10);
    return Math.min(step, 1_000, Math.floor(periodMs / (maxRestarts + 1)));
  }

  /** A slot now waits for a thread (initial start, restart after a crash, or recycle). */
  expect(slot: number, kind: PendingSpawn['kind'], reason: string, fault: PendingSpawn['fault'] = null): void {
    this.#pending.set(slot, { since: performance.now(), kind, reason, fault });
    this.#held = this.#keepAlive.set(this.#held, true);
    this.#bus.execute('pool.worker.spawn_started', {}, { pool: this.#pool, worker_id: slot });
  }

  /** A thread said hello on `slot`: `spawned`, and `restarted` when it replaced a crashed one. */
  arrived(thread: PoolThread): void {
    const pending = this.#pending.get(thread.slot);
    this.#pending.delete(thread.slot);
    this.#held = this.#keepAlive.set(this.#held, this.#pending.size > 0);
    this.#failedStarts = 0;
    const since = pending?.since ?? thread.spawnStartedAt;
    const meta = { pool: this.#pool, worker_id: thread.slot, thread_id: thread.threadId };
    this.#bus.execute('pool.worker.spawned', { duration: nsSince(since) }, meta);
    if (pending?.kind === 'restart') {
      this.#bus.execute('pool.worker.restarted', { downtime: nsSince(since), restarts: this.#restarts.length }, Object.assign(meta, { reason: pending.reason, fault: pending.fault ?? 'thread' }));
    }
  }

  /** The slot a thread that died before its hello was most likely starting for (-1 when none waits). */
  likelySlot(): number {
    const slot = Math.min(...this.#pending.keys());
    return Number.isFinite(slot) ? slot : -1;
  }

  /** Records an unplanned restart; false when it exceeds the intensity (the pool must fail). */
  countRestart(): boolean {
    const now = performance.now();
    this.#restarts = this.#restarts.filter((at) => now - at < this.#intensity.periodMs);
    this.#restarts.push(now);
    return this.#restarts.length <= this.#intensity.maxRestarts;
  }
}
