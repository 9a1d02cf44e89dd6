/**
 * Types of the job store that are not part of the shared job contracts (src/jobs/types.ts): its
 * options, the SQL client it runs on, worker events and the persisted control table.
 */
import type { JobError } from '../../errors/classes.ts';
import type { Telemetry } from '../../telemetry/bus.ts';
import type { ControlRule, ControlRuleInput } from '../../telemetry/rules.ts';

/** Which database engine a client talks to (the `backend` metadata of `store.*` events). */
export type SqlBackend = 'postgres' | 'pglite';

/** A row as the driver returns it. */
export type SqlRow = Record<string, unknown>;

/** What a statement can run on: the client itself or an open transaction. */
export interface SqlQueryable {
  /** One statement with `$n` parameters; resolves to its rows. */
  query<R extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
}

/** Receives NOTIFY payloads of one channel, and hears when the listening connection dropped or came back. */
export interface NotificationListener {
  onNotify(payload: string): void;
  /** The listening connection is back and LISTENs again: notifications sent meanwhile were missed. */
  onResubscribed?(): void;
  /** The listening connection failed (it reconnects by itself). */
  onConnectionLost?(error: unknown): void;
}

/** A small client over pg or PGlite: the only thing the store needs from a database. */
export interface SqlClient extends SqlQueryable {
  readonly backend: SqlBackend;
  /** The schema put first on the search_path, or null for the server default. */
  readonly schema: string | null;
  /** Runs `work` in a transaction (BEGIN … COMMIT, ROLLBACK when it throws). */
  transaction<T>(work: (tx: SqlQueryable) => Promise<T>, options?: { statementTimeoutMs?: number }): Promise<T>;
  /** LISTENs on `channel`; resolves to an unsubscribe. */
  listen(channel: string, listener: NotificationListener): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  close(): Promise<void>;
  /** Why a write would fail now (the embedded store's disk guard), or null; absent: writes are never refused up front. */
  writeBlocker?(): Promise<string | null>;
  /** Settles (never rejects) once the client can never run a statement again (PGlite after a PANIC); absent: never. */
  readonly failed?: Promise<JobError>;
}

/** How to reach the database. */
export interface SqlClientOptions {
  /** `postgres://…` / `postgresql://…`; absent, null or empty → embedded PGlite. */
  url?: string | null;
  /** PGlite data directory (default `.data/pglite` under the working directory; `memory://` keeps it in memory). */
  dataDir?: string;
  /** Schema to create and use (first on the search_path); tests give each file its own. */
  schema?: string | null;
  /** Embedded store: free bytes below which writes are refused up front (default 32 MiB; see disk-guard.ts). */
  minFreeBytes?: number;
  /** pg pool size (default 10). */
  poolSize?: number;
  /** Server-side statement_timeout for every pg connection (default 30 000 ms; 0 disables). */
  statementTimeoutMs?: number;
  /** How long to wait for a pg connection (default 5 000 ms). */
  connectTimeoutMs?: number;
  /** pg `application_name`, shown in pg_stat_activity (default `pitboss`). */
  applicationName?: string;
}

/** Group-commit tuning, per kind of batched write. */
export interface BatchOptions {
  /** Flush as soon as this many rows are pending (default 1000). 1 = row-at-a-time. */
  maxRows?: number;
  /** Flushes of one kind allowed in flight at once; rows arriving meanwhile form the next batch (default 2). */
  maxInFlight?: number;
  /** Wait this long for more rows before flushing (default 1 ms; 0 flushes on the next turn of the event loop). */
  delayMs?: number;
}

/** How writes ride out an unreachable database. */
export interface RetryOptions {
  /** Give up on a write after this long (default 30 000 ms); fire-and-forget rows are kept and tried again. */
  budgetMs?: number;
  /** First retry delay (default 50 ms); doubles up to maxDelayMs, each delay randomised ×1..2. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** While down, probe with `SELECT 1` this often so recovery is noticed without traffic (default 1 000 ms). */
  probeIntervalMs?: number;
}

/** Options of `JobStore.open`. */
export interface JobStoreOptions extends SqlClientOptions {
  /** Use this client instead of opening one (it is not closed by `store.close()`). */
  client?: SqlClient;
  /** Bus for `store.*` events (default: the shared `telemetry`). */
  telemetry?: Telemetry;
  /** Apply migrations on open (default true). */
  migrate?: boolean;
  /** Largest accepted `data` (and `result`) as UTF-8 JSON, in bytes (default 256 KiB). */
  maxPayloadBytes?: number;
  batch?: BatchOptions;
  retry?: RetryOptions;
  /** How long `close()` waits for pending batches before failing them (default 5 000 ms). */
  closeTimeoutMs?: number;
}

/** One worker lifecycle event for the `worker_events` table. */
export interface WorkerEventRecord {
  readonly supervisor: string;
  readonly pool: string;
  readonly workerId: string | number;
  readonly event: string;
  readonly reason: string | null;
  /** When it happened (default: when it was recorded). */
  readonly at?: Date;
}

/** The `pino` levels a log-level entry may set. */
export type LogLevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** A log level for a logger category (`'*'` for all), optionally narrowed to a pool or one worker. */
export interface LogLevelSetting {
  readonly category: string;
  readonly level: LogLevelName;
  readonly scope: { readonly pool: string | null; readonly worker: string | null };
}

/** A log-level entry as given by host code or the control API. */
export interface LogLevelInput {
  category?: string;
  level: LogLevelName;
  scope?: { pool?: string | null; worker?: string | number | null };
}

/** The persisted telemetry settings (sampling/filter rules and log levels) at one version (`store.settings`). */
export interface TelemetrySettings {
  readonly version: number;
  readonly rules: readonly ControlRule[];
  readonly logLevels: readonly LogLevelSetting[];
}

/** What `store.settings.save` writes: the whole set replaces the stored one. */
export interface TelemetrySettingsInput {
  rules: readonly ControlRuleInput[];
  logLevels?: readonly LogLevelInput[];
  /** Fail with `PITBOSS_CONTROL_CONFLICT` unless the stored version is still this one. */
  expectedVersion?: number;
}

/** Counts of fire-and-forget rows that could not be written. */
export interface StoreDrops {
  readonly actions: number;
  readonly workerEvents: number;
  /** Progress reports: malformed, or newest values still unwritten when the store closed. */
  readonly progress: number;
}
