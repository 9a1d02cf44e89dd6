/**
 * Records thread lifecycle events (`pool.worker.terminated` / `.restarted` / `.recycled` /
 * `.spawn_failed`) in the store's `worker_events` table. The bus only reaches this process; the
 * table is what an operator queries across a fleet ("which threads of which supervisors restarted
 * in the last hour", the Grafana panel and the status page). Writes are the store's batched,
 * fire-and-forget kind, so a crash loop costs one multi-row insert per turn, never a round trip
 * per event, and a store outage never reaches the pool that emitted the event.
 */
import type { WorkerEventRecord } from '../jobs/store/types.ts';
import type { Telemetry } from '../telemetry/bus.ts';

/** The lifecycle events worth a row: spawns that worked are the normal case and are left out. */
const recordedWorkerEvents = ['pool.worker.terminated', 'pool.worker.restarted', 'pool.worker.recycled', 'pool.worker.spawn_failed'] as const;

/** Where rows go (the JobStore's `fleet` facet). */
export interface WorkerEventSink {
  recordWorkerEvents(events: readonly WorkerEventRecord[]): void;
}

/** Attaches the recorder to `bus`; returns a detach. */
export function recordWorkerLifecycle(bus: Telemetry, store: WorkerEventSink, supervisor: string): () => void {
  const id = `pitboss.worker_events.${supervisor}`;
  bus.attachMany(id, recordedWorkerEvents, (event, _measurements, metadata) => {
    const md = metadata as Readonly<Record<string, unknown>>;
    // spawn_failed has no reason: its error type says why.
    const reason = md.reason ?? md.error_type ?? null;
    store.recordWorkerEvents([{
      supervisor, pool: String(md.pool), workerId: String(md.worker_id), event, reason: reason === null ? null : String(reason), at: new Date(),
    }]);
  }, undefined, { record: true }); // the history is the record: sampling rules never thin it
  return () => {
    bus.detach(id);
  };
}
