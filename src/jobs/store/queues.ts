/**
 * `store.queues`: which queues are paused (the `paused_queues` table), fleet-wide and persisted. A
 * pause or resume commits one row change and NOTIFYs `pitboss_queues`; every store LISTENing (each
 * supervisor of a fleet) reloads the list and hands it to its subscribers, which stop or restart
 * their consumers. The claim itself refuses rows of a paused queue (sql/jobs.ts), so a supervisor
 * that has not heard yet still starts nothing: the notification only saves it the churn. A
 * notification missed while the listening connection was down is made up by reloading when it is
 * back. Statements are in sql/queues.ts.
 */
import { JobError } from '../../errors/classes.ts';
import { settle, withTimeout, type StoreEngine } from './engine.ts';
import { queueSql, queuesChannel } from './sql/queues.ts';
import type { SqlClient } from './types.ts';
import { checkCount, checkQueueName } from './validate.ts';

/** Waits this long at most for the claims under way before a pause gives up (they take milliseconds). */
const LOCK_TIMEOUT_MS = 10_000;

async function listPaused(client: SqlClient): Promise<string[]> {
  return (await client.query<{ queue: string }>(queueSql.list)).map((row) => String(row.queue));
}

/**
 * One pause or resume in a transaction: the lock (see sql/queues.ts), the row change, and the
 * NOTIFY, delivered at commit. True when this call changed the queue's state.
 */
async function setPaused(client: SqlClient, queue: string, paused: boolean): Promise<boolean> {
  return client.transaction(async (tx) => {
    await tx.query(queueSql.lock);
    const changed = (await tx.query(paused ? queueSql.pause : queueSql.resume, [queue])).length > 0;
    if (changed) await tx.query(queueSql.notify, [queuesChannel, queue, paused]);
    return changed;
  }, { statementTimeoutMs: LOCK_TIMEOUT_MS });
}

/** `store.queues`: paused queues, shared by the fleet, with change notifications. */
export class QueuesFacet {
  readonly #engine: StoreEngine;

  /** @internal Built by JobStore.open. */
  constructor(engine: StoreEngine) {
    this.#engine = engine;
  }

  /**
   * Pauses a queue: from the moment this resolves no claim of its jobs commits, on any supervisor
   * sharing this database. Idempotent; resolves to true when the queue was not paused before.
   * Rejects with `PITBOSS_INVALID_JOB` for a malformed queue name. Retried through an outage like
   * the other idempotent writes — after a lost reply, a retry finds the row and answers false.
   */
  pause(queue: string): Promise<boolean> {
    return this.#set('queues.pause', queue, true);
  }

  /** Resumes a paused queue (idempotent); true when it was paused. */
  resume(queue: string): Promise<boolean> {
    return this.#set('queues.resume', queue, false);
  }

  /** The paused queues, in name order; `timeoutMs` bounds the read (`PITBOSS_STORE_TIMEOUT`), as for `overview.queueStats`. */
  paused(options: { timeoutMs?: number } = {}): Promise<string[]> {
    return settle(() => {
      this.#engine.open('queues.paused');
      const timeoutMs = options.timeoutMs === undefined ? null : checkCount('timeoutMs', options.timeoutMs, 1);
      const read = this.#engine.health.once('queues.paused', () => listPaused(this.#engine.client));
      return timeoutMs === null ? read : withTimeout(read, timeoutMs, 'queues.paused');
    });
  }

  /**
   * Calls `listener` with the paused queues whenever a pause or resume committed anywhere on this
   * database and schema, and after the listening connection recovered; resolves to an unsubscribe.
   */
  onChange(listener: (paused: readonly string[]) => void, onError: (error: unknown) => void = () => {}): Promise<() => Promise<void>> {
    return settle(async () => {
      this.#engine.open('queues.onChange');
      if (typeof listener !== 'function') throw new JobError('PITBOSS_INVALID_JOB', 'listener must be a function', { field: 'listener' });
      const { client, schema } = this.#engine;
      let loading: Promise<void> | null = null;
      let again = false;
      // Reloads coalesce: a burst of notifications costs one read in flight and one after it.
      const reload = (): void => {
        if (loading !== null) return void (again = true);
        loading = listPaused(client).then(listener).catch(onError).finally(() => {
          loading = null;
          if (again) {
            again = false;
            reload();
          }
        });
      };
      const unlisten = await client.listen(queuesChannel, {
        onNotify: (payload) => {
          try {
            if ((JSON.parse(payload) as { schema?: unknown }).schema === schema) reload();
          } catch {
            // Not ours (someone else NOTIFYing on the channel): ignore.
          }
        },
        onResubscribed: reload,
      });
      return this.#engine.track(unlisten);
    });
  }

  #set(what: string, queue: string, paused: boolean): Promise<boolean> {
    return settle(() => {
      this.#engine.open(what);
      const name = checkQueueName('queue', queue);
      return this.#engine.health.retry(what, () => setPaused(this.#engine.client, name, paused));
    });
  }
}
