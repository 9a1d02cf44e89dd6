/**
 * The log-record shape of worker code's `ctx.log`: made in a pool thread, carried to the supervisor
 * in the thread's event batches (pool/wire/protocol.ts) and written by the logger (`workerLine`).
 * It is the logger's input, so it lives here: the pool depends on log/, never the other way.
 */

/** A log line from worker code (`ctx.log`), written by the supervisor's logger. */
export interface ThreadLogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>> | null;
  readonly time: number;
}
