/**
 * The pool's book of thread (re)spawns: which slots wait for a thread and since when (for
 * `pool.worker.spawn_started`, `spawned` and `restarted`), and the unplanned restarts inside the
 * intensity window.
 */
import type { Telemetry } from '../telemetry/bus.ts';
import type { Intensity } from '../supervision/types.ts';
import { nsSince, type PendingSpawn, type PoolThread } from './threads.ts';

export class SpawnLedger {
  readonly #bus: Telemetry;
  readonly #pool: string;
  readonly #intensity: Intensity;
  readonly #pending = new Map<number, PendingSpawn>();
  #restarts: number[] = [];

  constructor(bus: Telemetry, pool: string, intensity: Intensity) {
    this.#bus = bus;
    this.#pool = pool;
    this.#intensity = intensity;
  }

  /** Unplanned restarts inside the current window. */
  get restarts(): number {
    return this.#restarts.length;
  }

  /** A fresh start: no restarts counted, no slot waiting. */
  reset(): void {
    this.#restarts = [];
    this.#pending.clear();
  }

  /** A slot now waits for a thread (initial start, restart after a crash, or recycle). */
  expect(slot: number, kind: PendingSpawn['kind'], reason: string, fault: PendingSpawn['fault'] = null): void {
    this.#pending.set(slot, { since: performance.now(), kind, reason, fault });
    this.#bus.execute('pool.worker.spawn_started', {}, { pool: this.#pool, worker_id: slot });
  }

  /** A thread said hello on `slot`: `spawned`, and `restarted` when it replaced a crashed one. */
  arrived(thread: PoolThread): void {
    const pending = this.#pending.get(thread.slot);
    this.#pending.delete(thread.slot);
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
