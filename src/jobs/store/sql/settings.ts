/**
 * SQL of the persisted telemetry settings (the `control_state` version row and the `control_rules`
 * table: sampling/filter rules and log levels), and the NOTIFY channel a save is announced on.
 */

export const settingsSql = {
  load: `
SELECT s.version::float8 AS version, r.kind, r.pattern, r.pool, r.worker, r.rate, r.enabled, r.level
FROM control_state s LEFT JOIN control_rules r ON true
ORDER BY r.kind, r.pattern, r.pool, r.worker`,
  /** Locks the version row: concurrent saves serialise here. */
  bump: 'UPDATE control_state SET version = version + 1, updated_at = now() RETURNING version::float8 AS version',
  clear: 'DELETE FROM control_rules',
  insert: `
INSERT INTO control_rules (kind, pattern, pool, worker, rate, enabled, level, version)
SELECT v.kind, v.pattern, v.pool, v.worker, v.rate, v.enabled, v.level, $8::bigint
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::boolean[], $7::text[])
  AS v(kind, pattern, pool, worker, rate, enabled, level)`,
  /** Delivered at commit; the payload names the schema so stores in other schemas of one database ignore it. */
  notify: "SELECT pg_notify($1, json_build_object('schema', current_schema(), 'version', $2::bigint)::text)",
} as const;

/** The NOTIFY channel settings changes are announced on (the name is a contract between supervisors of a fleet). */
export const settingsChannel = 'pitboss_control';
