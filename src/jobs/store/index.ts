/** The job store: Postgres (or embedded PGlite) record of every job, with its SQL client and migrations. */
export { JobStore } from './store.ts';
export type { JobsFacet } from './jobs.ts';
export type { FleetFacet } from './fleet.ts';
export type { SettingsFacet } from './settings.ts';
export type { OverviewFacet } from './overview.ts';
export type { RetentionFacet } from './retention.ts';
export { createSqlClient } from './client.ts';
export { migrate, type MigrationReport } from './migrate.ts';
export type { FailedJobSummary, StoreOverview, SupervisorSummary, WorkerEventSummary } from './overview.ts';
export { classifyFailure, type FailureKind } from './failures.ts';
export type {
  BatchOptions, JobStoreOptions, LogLevelInput, LogLevelName, LogLevelSetting, NotificationListener, RetryOptions, SqlBackend, SqlClient,
  SqlClientOptions, SqlQueryable, SqlRow, StoreDrops, TelemetrySettings, TelemetrySettingsInput, WorkerEventRecord,
} from './types.ts';
