/** The job store: Postgres (or embedded PGlite) record of every job, with its SQL client and migrations. */
export { JobStore } from './store.ts';
export { createSqlClient } from './client.ts';
export { migrate, type MigrationReport } from './migrate.ts';
export type { FailedJobSummary, StoreOverview, SupervisorSummary, WorkerEventSummary } from './overview.ts';
export { classifyFailure, type FailureKind } from './failures.ts';
export type {
  BatchOptions, ControlInput, ControlState, JobStoreOptions, LogLevelInput, LogLevelName, LogLevelSetting, NotificationListener,
  RetryOptions, SqlBackend, SqlClient, SqlClientOptions, SqlQueryable, SqlRow, StoreDrops, WorkerEventRecord,
} from './types.ts';
