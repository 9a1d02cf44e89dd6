/** The job store: Postgres (or embedded PGlite) record of every job, with its SQL client and migrations. */
export { JobStore } from './store.ts';
export type { JobsFacet } from './jobs.ts';
export type { FleetFacet } from './fleet.ts';
export type { SettingsFacet } from './settings.ts';
export type { QueuesFacet } from './queues.ts';
export type { OverviewFacet } from './overview.ts';
export type { RetentionFacet } from './retention.ts';
export type { SchedulesFacet } from './schedules.ts';
export type { JobListQuery, JobPage, JobSummary, RetryFilter, RetryOutcome, SearchFacet } from './search.ts';
export { createSqlClient } from './client.ts';
export { migrate, type MigrationReport } from './migrate.ts';
export type { JobStoreOptions, SqlClient, SqlClientOptions, TelemetrySettings, TelemetrySettingsInput } from './types.ts';
