/**
 * Applies the versioned migrations of schema.ts. Everything happens in one transaction that first
 * takes a transaction-scoped advisory lock, so two processes starting at once queue up: the second
 * sees the first one's `schema_migrations` rows after it commits and applies nothing. Postgres DDL
 * is transactional, so a failing migration leaves no half-built schema behind.
 */
import { migrationSql, migrations } from './schema.ts';
import type { SqlClient } from './types.ts';

/** What one `migrate` call did. */
export interface MigrationReport {
  /** Versions this call applied (empty when the schema was already current). */
  readonly applied: readonly number[];
  /** The newest version now in place. */
  readonly version: number;
}

/** Brings the client's schema up to the newest migration; safe to call concurrently and repeatedly. */
export async function migrate(client: SqlClient): Promise<MigrationReport> {
  return client.transaction(async (tx) => {
    // Keyed by schema: stores in different schemas of one database do not wait on each other.
    await tx.query(migrationSql.lock, [`pitboss.migrate:${client.schema ?? ''}`]);
    if (client.backend === 'postgres') await tx.query(migrationSql.noStatementTimeout);
    if (client.schema !== null) await tx.exec(migrationSql.createSchema(client.schema));
    await tx.exec(migrationSql.createTable);
    const done = new Set((await tx.query<{ version: number }>(migrationSql.applied)).map((row) => Number(row.version)));
    const applied: number[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query(migrationSql.record, [migration.version, migration.name]);
      applied.push(migration.version);
    }
    return { applied, version: Math.max(0, ...migrations.map((m) => m.version)) };
  });
}
