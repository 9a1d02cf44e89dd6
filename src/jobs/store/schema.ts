/**
 * The store's schema: versioned migrations (the job record's tables, indexed for the store's queries)
 * and the statements migrate.ts applies them with. Apart from the statements of the store's work
 * (sql/<table group>.ts), so a reviewer reads the tables in one place.
 */

/** Versioned migrations, applied in order under an advisory lock (see migrate.ts). Never edit one that shipped. */
export const migrations: readonly { readonly version: number; readonly name: string; readonly sql: string }[] = [
  {
    version: 1,
    name: 'jobs, actions, worker events, supervisors, control',
    sql: `
CREATE TABLE jobs (
  id               bigserial PRIMARY KEY,
  queue            text NOT NULL,
  name             text NOT NULL,
  payload          jsonb,
  status           text NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'completed', 'failed', 'dead', 'cancelled')),
  priority         integer NOT NULL DEFAULT 0,
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts     integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
  backoff_type     text NOT NULL DEFAULT 'exponential' CHECK (backoff_type IN ('fixed', 'exponential')),
  backoff_delay_ms integer NOT NULL DEFAULT 1000 CHECK (backoff_delay_ms >= 0),
  run_at           timestamptz NOT NULL DEFAULT now(),
  claimed_by       text,
  attempt_id       uuid,
  idempotency_key  text,
  correlation_id   text,
  traceparent      text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  result           jsonb,
  error            jsonb
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (queue, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_claimable ON jobs (queue, run_at) WHERE status IN ('queued', 'failed');
CREATE INDEX jobs_running ON jobs (claimed_by) WHERE status = 'running';
CREATE INDEX jobs_queue_status ON jobs (queue, status);

CREATE TABLE job_actions (
  id          bigserial PRIMARY KEY,
  job_id      bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt     integer NOT NULL,
  action      text NOT NULL,
  status      text NOT NULL CHECK (status IN ('ok', 'error')),
  duration_ns bigint NOT NULL,
  error       text,
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_actions_job ON job_actions (job_id, attempt, at);

CREATE TABLE worker_events (
  id         bigserial PRIMARY KEY,
  supervisor text NOT NULL,
  pool       text NOT NULL,
  worker_id  text NOT NULL,
  event      text NOT NULL,
  reason     text,
  at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX worker_events_at ON worker_events (at);
CREATE INDEX worker_events_worker ON worker_events (pool, worker_id, at);

CREATE TABLE supervisors (
  id           text PRIMARY KEY,
  host         text NOT NULL,
  pid          integer NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- The control table is versioned as a whole: one version row, bumped by every save, plus one row
-- per rule or log level. Scope columns use '' for "any" so the primary key can hold them.
CREATE TABLE control_state (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version    bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO control_state DEFAULT VALUES;
CREATE TABLE control_rules (
  kind       text NOT NULL CHECK (kind IN ('telemetry', 'log_level')),
  pattern    text NOT NULL,
  pool       text NOT NULL DEFAULT '',
  worker     text NOT NULL DEFAULT '',
  rate       double precision NOT NULL DEFAULT 1 CHECK (rate >= 0 AND rate <= 1),
  enabled    boolean NOT NULL DEFAULT true,
  level      text,
  version    bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, pattern, pool, worker),
  CHECK ((kind = 'log_level') = (level IS NOT NULL))
);
`,
  },
  {
    version: 2,
    name: 'indexes for retention and the recent-failures view',
    sql: `
CREATE INDEX jobs_finished ON jobs (status, finished_at) WHERE status IN ('completed', 'dead', 'cancelled');
CREATE INDEX jobs_failures ON jobs (updated_at DESC, id DESC) WHERE status IN ('failed', 'dead');
`,
  },
  {
    version: 3,
    name: 'supervisor lives: instance and stopped_at',
    sql: `
ALTER TABLE supervisors ADD COLUMN instance text, ADD COLUMN stopped_at timestamptz;
`,
  },
  {
    version: 4,
    name: 'supervisors: the queues each one consumes',
    // What a fleet consumes, so an enqueue for a queue nobody consumes is refused instead of waiting for ever.
    sql: `
ALTER TABLE supervisors ADD COLUMN queues text[] NOT NULL DEFAULT '{}';
`,
  },
  {
    version: 5,
    name: 'jobs: the W3C tracestate that came with the traceparent',
    // Nullable and without a default: adding it rewrites no row, and older rows simply have none.
    sql: `
ALTER TABLE jobs ADD COLUMN tracestate text;
`,
  },
  {
    version: 6,
    name: 'paused queues',
    // One row per paused queue: the claim looks its job's queue up here by key (see sql/jobs.ts).
    sql: `
CREATE TABLE paused_queues (
  queue     text PRIMARY KEY,
  paused_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 7,
    name: 'schedules: cron schedules and the tick each one has covered',
    // cursor_at is the newest instant whose ticks are handled (fired or skipped): every supervisor
    // advances it by compare-and-set in the statement that inserts the tick's job (sql/schedules.ts),
    // so a tick fires once however many schedulers race, and pruning old jobs cannot re-fire it.
    // revision changes with every edit: a pass that read an older definition fires nothing.
    sql: `
CREATE SEQUENCE schedules_revision_seq;
CREATE TABLE schedules (
  name          text PRIMARY KEY,
  cron          text NOT NULL,
  timezone      text,
  queue         text NOT NULL,
  job_name      text NOT NULL,
  payload       jsonb,
  missed        text NOT NULL DEFAULT 'latest' CHECK (missed IN ('latest', 'all', 'skip')),
  source        text NOT NULL CHECK (source IN ('deployment', 'runtime')),
  revision      bigint NOT NULL DEFAULT nextval('schedules_revision_seq'),
  cursor_at     timestamptz NOT NULL,
  last_fired_at timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 8,
    name: 'jobs: list/search indexes, newest first; a retried job may pass 100 attempts',
    // Each index serves one filter of GET /jobs newest first by keyset (created_at, id): all jobs,
    // a queue, a state, a queue and state, a name within a queue; since/until ranges on created_at
    // ride on each. Scanned backward, so ascending columns serve the descending order.
    // A retry grants one attempt more than the job has used (max_attempts = attempts + 1), which can
    // pass 100 on a job retried again and again: the enqueue bound (1..100) stays in validation, the
    // table only asks for ≥ 1. NOT VALID: the new check is weaker, every existing row meets it, so
    // there is nothing to scan; the check holds for every write from now on.
    sql: `
CREATE INDEX jobs_created ON jobs (created_at, id);
CREATE INDEX jobs_queue_created ON jobs (queue, created_at, id);
CREATE INDEX jobs_status_created ON jobs (status, created_at, id);
CREATE INDEX jobs_queue_status_created ON jobs (queue, status, created_at, id);
-- Its prefix serves all jobs_queue_status did (counts per queue and state): one index fewer to write.
DROP INDEX jobs_queue_status;
CREATE INDEX jobs_queue_name_created ON jobs (queue, name, created_at, id);
ALTER TABLE jobs DROP CONSTRAINT jobs_max_attempts_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_max_attempts_check CHECK (max_attempts >= 1) NOT VALID;
`,
  },
  {
    version: 9,
    name: 'jobs: progress of the current attempt, and a per-job timeout',
    // Nullable without defaults, as tracestate: adding them rewrites no row. progress is bounded
    // (1 KiB as JSON) by the thread that reports it and again by the store.
    sql: `
ALTER TABLE jobs ADD COLUMN progress jsonb, ADD COLUMN timeout_ms integer CHECK (timeout_ms > 0);
`,
  },
];

export const migrationSql = {
  lock: 'SELECT pg_advisory_xact_lock(hashtext($1))',
  noStatementTimeout: 'SET LOCAL statement_timeout = 0',
  createSchema: (schema: string) => `CREATE SCHEMA IF NOT EXISTS "${schema}"`,
  createTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`,
  applied: 'SELECT version FROM schema_migrations ORDER BY version',
  record: 'INSERT INTO schema_migrations (version, name) VALUES ($1, $2)',
  currentSchema: 'SELECT current_schema() AS schema',
} as const;
