/**
 * Opens the SqlClient a URL asks for: `postgres://…` → a pg pool on a real server; no URL →
 * embedded PGlite in a data directory. Options are validated here, with the key named on error.
 */
import { PitbossError } from '../../errors/classes.ts';
import { PostgresClient } from './pg-client.ts';
import { defaultPgliteDir, PgliteClient } from './pglite-client.ts';
import type { SqlClient, SqlClientOptions } from './types.ts';

const schemaShape = /^[a-z_][a-z0-9_]{0,62}$/;

function invalid(key: string, message: string): PitbossError {
  return new PitbossError('PITBOSS_INVALID_CONFIG', `${key} ${message}`);
}

function checkCount(key: string, value: number | undefined, min: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min)) throw invalid(key, `must be an integer ≥ ${min}, got ${String(value)}`);
}

/** Validates client options; throws `PITBOSS_INVALID_CONFIG` naming the key. */
export function checkClientOptions(options: SqlClientOptions): void {
  const { url, schema, dataDir } = options;
  if (url !== undefined && url !== null && url !== '' && !/^postgres(ql)?:\/\//.test(url)) {
    throw invalid('url', 'must start with postgres:// or postgresql:// (leave it unset for embedded PGlite)');
  }
  if (schema !== undefined && schema !== null && (typeof schema !== 'string' || !schemaShape.test(schema))) {
    throw invalid('schema', `must match ${schemaShape.source}, got ${JSON.stringify(schema)}`);
  }
  if (dataDir !== undefined && (typeof dataDir !== 'string' || dataDir === '')) throw invalid('dataDir', 'must be a non-empty path or memory://');
  checkCount('poolSize', options.poolSize, 1);
  checkCount('minFreeBytes', options.minFreeBytes, 0);
  checkCount('statementTimeoutMs', options.statementTimeoutMs, 0);
  checkCount('connectTimeoutMs', options.connectTimeoutMs, 1);
}

/**
 * Opens a client. A pg pool connects lazily (the first statement reports an unreachable server);
 * PGlite boots its database before this resolves.
 */
export async function createSqlClient(options: SqlClientOptions = {}): Promise<SqlClient> {
  checkClientOptions(options);
  const schema = options.schema ?? null;
  if (options.url !== undefined && options.url !== null && options.url !== '') return new PostgresClient(options.url, options);
  return PgliteClient.open(options.dataDir ?? defaultPgliteDir(), schema, options.minFreeBytes === undefined ? {} : { minFreeBytes: options.minFreeBytes });
}
