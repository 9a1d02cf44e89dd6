/**
 * `store.fleet`: the fleet table group (`supervisors`, `worker_events`). Heartbeats say which
 * supervisors are alive and which queues they consume; a clean stop says a life ended; thread
 * lifecycle rows are group-committed fire-and-forget. Statements are in sql/fleet.ts.
 */
import type { SupervisorBeat, SupervisorHolder, SupervisorRecord } from '../types.ts';
import type { Batcher } from './batcher.ts';
import { settle, type StoreEngine } from './engine.ts';
import { fleetSql } from './sql/fleet.ts';
import type { SqlClient, WorkerEventRecord } from './types.ts';
import { checkCount, checkQueueName, checkSupervisorId, clean, invalidJob } from './validate.ts';

/** `store.fleet`: the supervisors table (heartbeats, consumed queues, stops) and worker-event rows. */
export class FleetFacet {
  readonly #engine: StoreEngine;
  readonly #workerEvents: Batcher<WorkerEventRow, null>;

  /** @internal Built by JobStore.open. */
  constructor(engine: StoreEngine) {
    this.#engine = engine;
    const { client } = engine;
    this.#workerEvents = engine.batcher('worker_events', true, (rows) => writeWorkerEvents(client, rows));
  }

  /**
   * Records that a supervisor is alive (its running jobs are not orphans while this is fresh).
   * Resolves to whoever beat under the id before (null for a new id): a process that finds another
   * `instance` there after its own first beat shares its id with a live process.
   */
  heartbeat(supervisor: SupervisorBeat): Promise<SupervisorHolder | null> {
    return settle(() => {
      this.#engine.open('heartbeat');
      const { id, host, pid, instance, queues = [] } = supervisor ?? {};
      if (instance !== undefined && (typeof instance !== 'string' || instance === '')) throw invalidJob('supervisor.instance', 'must be a non-empty string');
      if (!Array.isArray(queues)) throw invalidJob('supervisor.queues', `must be an array of queue names, got ${String(queues)}`);
      const names = queues.map((queue, i) => checkQueueName(`supervisor.queues[${i}]`, queue));
      const params = [checkSupervisorId(id), clean(String(host), 255), checkCount('supervisor.pid', pid, 0), instance === undefined ? null : clean(instance, 100), names];
      return this.#engine.health.retry('heartbeat', async () => {
        const [row] = await this.#engine.client.query(fleetSql.heartbeat, params);
        if (row?.previous_host === null || row?.previous_host === undefined) return null;
        return { host: String(row.previous_host), pid: Number(row.previous_pid), instance: row.previous_instance === null ? null : String(row.previous_instance) };
      });
    });
  }

  /**
   * The queues supervisors of the fleet consume, as their heartbeats say: every supervisor heard
   * from within `withinMs` (default 1 hour), stopped ones included, so a queue is still known while
   * its consumers restart.
   */
  consumedQueues(options?: { withinMs?: number }): Promise<string[]> {
    return settle(() => {
      this.#engine.open('consumedQueues');
      const withinMs = checkCount('withinMs', options?.withinMs ?? 3_600_000, 1);
      const { client, health } = this.#engine;
      return health.once('consumedQueues', async () => (await client.query(fleetSql.consumedQueues, [withinMs])).map((row) => String(row.queue)));
    });
  }

  /** The row of a supervisor id (null when none): who holds it, how old its last beat is, whether it stopped. */
  supervisor(id: string): Promise<SupervisorRecord | null> {
    return settle(() => {
      this.#engine.open('supervisor');
      const checked = checkSupervisorId(id);
      return this.#engine.health.once('supervisor', async () => {
        const [row] = await this.#engine.client.query(fleetSql.supervisor, [checked]);
        if (row === undefined) return null;
        return {
          host: String(row.host), pid: Number(row.pid), instance: row.instance === null ? null : String(row.instance),
          stopped: row.stopped === true, heartbeatAgeMs: Number(row.age_ms), beatAt: Number(row.beat_us),
        };
      });
    });
  }

  /** Marks a life that stopped cleanly (only while `instance` still holds the id). */
  supervisorStopped(supervisor: { id: string; instance: string }): Promise<void> {
    return settle(() => {
      this.#engine.open('supervisorStopped');
      const { id, instance } = supervisor ?? {};
      if (typeof instance !== 'string' || instance === '') throw invalidJob('supervisor.instance', 'must be a non-empty string');
      const params = [checkSupervisorId(id), clean(instance, 100)];
      return this.#engine.health.write('supervisorStopped', async () => { await this.#engine.client.query(fleetSql.supervisorStopped, params); });
    });
  }

  /**
   * Records worker lifecycle events (batched). Fire-and-forget like `store.jobs.recordActions`:
   * never throws or rejects; rows that cannot be written are counted in `store.drops()`.
   */
  recordWorkerEvents(events: readonly WorkerEventRecord[]): void {
    if (this.#engine.closed || !Array.isArray(events)) return;
    const rows = events.filter((e) => typeof e === 'object' && e !== null).map((e) => new WorkerEventRow(e));
    if (rows.length < events.length) this.#workerEvents.refused(events.length - rows.length);
    if (rows.length > 0) this.#workerEvents.push(rows).catch(() => {});
  }
}

/** A worker event row (fixed shape), timestamped when recorded rather than when flushed. */
class WorkerEventRow {
  readonly supervisor: string;
  readonly pool: string;
  readonly workerId: string;
  readonly event: string;
  readonly reason: string | null;
  readonly at: string;

  constructor(record: WorkerEventRecord) {
    // Cleaned rather than checked: a lifecycle record must never be the reason a batch fails.
    this.supervisor = clean(String(record.supervisor), 200);
    this.pool = clean(String(record.pool), 200);
    this.workerId = clean(String(record.workerId), 200);
    this.event = clean(String(record.event), 200);
    this.reason = record.reason === null || record.reason === undefined ? null : clean(String(record.reason), 2_000);
    this.at = (record.at instanceof Date && !Number.isNaN(record.at.getTime()) ? record.at : new Date()).toISOString();
  }
}

async function writeWorkerEvents(client: SqlClient, events: readonly WorkerEventRow[]): Promise<null[]> {
  await client.query(fleetSql.insertWorkerEvents, [
    events.map((e) => e.supervisor), events.map((e) => e.pool), events.map((e) => e.workerId), events.map((e) => e.event),
    events.map((e) => e.reason), events.map((e) => e.at),
  ]);
  return new Array<null>(events.length).fill(null);
}
