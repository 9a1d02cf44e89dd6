/**
 * The live half of the status page: folds this supervisor's pool, thread and job events into a small
 * in-memory picture (each thread's heap, event-loop utilization and restarts, each pool's last
 * status, per-queue completion rates over the last minute, the last jobs that ran). The other half,
 * what the whole fleet shares, is read from the store on request (see status-routes.ts).
 *
 * Handlers run on the emitting path, so each one is a map lookup and a few field writes; rates are
 * kept in one-second buckets rather than per-event timestamps, so a burst of thousands of jobs a
 * second costs the same memory as one. The picture follows the sampling rules like every other
 * handler: an operator who samples `job.*` down to 10% sees rates a tenth as high here.
 */
import type { Telemetry } from '../telemetry/bus.ts';

/** One live or recently seen thread slot. */
interface ThreadView {
  readonly workerId: number;
  readonly threadId: number | null;
  /** busy / idle for a live thread; down for a slot whose thread exited and has no replacement yet. */
  readonly state: 'busy' | 'idle' | 'down';
  readonly tasks: number | null;
  readonly rulesVersion: number | null;
  readonly heapUsed: number | null;
  readonly heapTotal: number | null;
  readonly utilization: number | null;
  /** Crashed threads of this slot replaced since this supervisor started. */
  readonly restarts: number;
  readonly lastExit: { readonly reason: string; readonly at: string } | null;
}

export interface PoolView {
  readonly name: string;
  readonly state: string;
  readonly queueSize: number;
  readonly status: { readonly queueDepth: number; readonly busy: number; readonly idle: number; readonly utilization: number; readonly at: string } | null;
  readonly restarts: number;
  readonly threads: readonly ThreadView[];
}

export interface JobView {
  readonly at: string;
  readonly id: string;
  readonly queue: string;
  readonly name: string;
  readonly status: string;
  readonly attempt: number;
  readonly durationMs: number;
  readonly error: string | null;
}

/** What the board needs of a pool: its live threads (SupervisedPool). */
export interface BoardPool {
  readonly name: string;
  readonly current: { readonly state: string; readonly queueSize: number } | null;
  threads(): readonly { workerId: number; threadId: number; tasks: number; rulesVersion: number; busy: boolean }[];
}

const WINDOW_SECONDS = 60;
const RECENT_JOBS = 20;

class SlotStats {
  heapUsed: number | null = null;
  heapTotal: number | null = null;
  utilization: number | null = null;
  restarts = 0;
  lastExit: { reason: string; at: string } | null = null;
}

/** Counts per second over a sliding minute, in a fixed ring of buckets. */
class MinuteCounter {
  readonly #buckets = new Float64Array(WINDOW_SECONDS);
  #second = 0;

  add(nowSecond: number, n = 1): void {
    this.#advance(nowSecond);
    this.#buckets[nowSecond % WINDOW_SECONDS]! += n;
  }

  total(nowSecond: number): number {
    this.#advance(nowSecond);
    let sum = 0;
    for (const n of this.#buckets) sum += n;
    return sum;
  }

  #advance(nowSecond: number): void {
    if (nowSecond <= this.#second) return;
    const gap = Math.min(WINDOW_SECONDS, nowSecond - this.#second);
    for (let i = 1; i <= gap; i++) this.#buckets[(this.#second + i) % WINDOW_SECONDS] = 0;
    this.#second = nowSecond;
  }
}

const nowSecond = (): number => Math.floor(Date.now() / 1000);
const toMs = (ns: unknown): number => (typeof ns === 'number' && Number.isFinite(ns) ? Math.round(ns / 1e4) / 100 : 0);
type Loose = Readonly<Record<string, unknown>>;

export class StatusBoard {
  readonly #slots = new Map<string, SlotStats>();
  readonly #poolStatus = new Map<string, NonNullable<PoolView['status']>>();
  readonly #completed = new Map<string, MinuteCounter>();
  readonly #failed = new Map<string, MinuteCounter>();
  readonly #recent: JobView[] = [];

  /** Attaches the board's handlers under `id`; returns a detach. */
  attach(bus: Telemetry, id = 'pitboss.status_board'): () => void {
    bus.attach(`${id}.pool`, 'pool.status', (_e, m, md) => {
      this.#poolStatus.set(String(md.pool), {
        queueDepth: m.queue_depth ?? 0, busy: m.busy_workers ?? 0, idle: m.idle_workers ?? 0, utilization: m.utilization ?? 0, at: new Date().toISOString(),
      });
    });
    bus.attach(`${id}.memory`, 'worker.memory.sampled', (_e, m, md) => {
      const slot = this.#slot(md);
      slot.heapUsed = m.heap_used ?? null;
      slot.heapTotal = m.heap_total ?? null;
    });
    bus.attach(`${id}.cpu`, 'worker.cpu.sampled', (_e, m, md) => {
      this.#slot(md).utilization = m.utilization ?? null;
    });
    bus.attachMany(`${id}.lifecycle`, ['pool.worker.terminated', 'pool.worker.restarted', 'pool.worker.recycled'], (event, _m, md) => {
      const slot = this.#slot(md);
      const loose = md as Loose;
      if (event === 'pool.worker.restarted') slot.restarts += 1;
      else slot.lastExit = { reason: String(loose.reason ?? event.slice('pool.worker.'.length)), at: new Date().toISOString() };
    });
    bus.attachMany(`${id}.jobs`, ['job.stop', 'job.exception'], (event, m, md) => {
      const loose = md as Loose;
      const queue = String(loose.queue);
      const counters = event === 'job.stop' ? this.#completed : this.#failed;
      let counter = counters.get(queue);
      if (counter === undefined) counters.set(queue, (counter = new MinuteCounter()));
      counter.add(nowSecond());
      this.#remember({
        at: new Date().toISOString(), id: String(loose.job_id), queue, name: String(loose.job_name), status: String(loose.status),
        attempt: Number((m as Loose).attempt ?? 0), durationMs: toMs((m as Loose).duration),
        error: event === 'job.exception' ? `${String(loose.error_type ?? 'Error')}: ${String(loose.error ?? '')}` : null,
      });
    });
    const ids = ['pool', 'memory', 'cpu', 'lifecycle', 'jobs'].map((suffix) => `${id}.${suffix}`);
    return () => {
      for (const handler of ids) bus.detach(handler);
    };
  }

  /** Pools with their threads: live threads from the pools, merged with what their events said. */
  pools(pools: readonly BoardPool[]): PoolView[] {
    return pools.map((pool) => {
      const live = new Map(pool.threads().map((t) => [t.workerId, t]));
      const slots = new Set<number>(live.keys());
      let restarts = 0;
      for (const [key, stats] of this.#slots) {
        const [name, slot] = splitKey(key);
        if (name !== pool.name) continue;
        slots.add(slot);
        restarts += stats.restarts;
      }
      const threads = [...slots].sort((a, b) => a - b).map((workerId): ThreadView => {
        const t = live.get(workerId);
        const s = this.#slots.get(`${pool.name}/${workerId}`) ?? new SlotStats();
        return {
          workerId, threadId: t?.threadId ?? null, state: t === undefined ? 'down' : t.busy ? 'busy' : 'idle', tasks: t?.tasks ?? null,
          rulesVersion: t?.rulesVersion ?? null, heapUsed: s.heapUsed, heapTotal: s.heapTotal, utilization: s.utilization,
          restarts: s.restarts, lastExit: s.lastExit,
        };
      });
      const current = pool.current;
      return { name: pool.name, state: current?.state ?? 'down', queueSize: current?.queueSize ?? 0, status: this.#poolStatus.get(pool.name) ?? null, restarts, threads };
    });
  }

  /** Attempts finished on this supervisor in the last minute, by queue. */
  rates(queue: string): { completedPerMin: number; failedPerMin: number } {
    const now = nowSecond();
    return { completedPerMin: this.#completed.get(queue)?.total(now) ?? 0, failedPerMin: this.#failed.get(queue)?.total(now) ?? 0 };
  }

  /** The last attempts that finished here, newest first. */
  recentJobs(): readonly JobView[] {
    return [...this.#recent].reverse();
  }

  #slot(md: unknown): SlotStats {
    const { pool, worker_id } = md as Loose;
    const key = `${String(pool)}/${String(worker_id)}`;
    let slot = this.#slots.get(key);
    if (slot === undefined) this.#slots.set(key, (slot = new SlotStats()));
    return slot;
  }

  #remember(job: JobView): void {
    this.#recent.push(job);
    if (this.#recent.length > RECENT_JOBS) this.#recent.shift();
  }
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf('/');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}
