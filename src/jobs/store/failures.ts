/**
 * Tells a lost database from a rejected statement. Connection failures are retried and mark the
 * store down; transient server conditions (deadlock, serialization failure) are retried without
 * marking it down; storage failures (the server's disk is full, its directory read-only or gone, an
 * I/O error) mark the store down but fail the callers at once — a full disk does not empty itself
 * within a retry budget, and a caller held for 30 s is a hang to its client; everything else
 * (constraints, bad data, timeouts) fails the callers at once, because running the same statement
 * again would fail the same way.
 */
import { JobError, PitbossError } from '../../errors/classes.ts';
import { redactUrl } from '../../log/redact-url.ts';

type FailureKind = 'connection' | 'transient' | 'storage' | 'fatal';

// SQLSTATE class 08 is "connection exception"; 57P01..57P03 are admin/crash shutdown and "cannot
// connect now" (a server starting up); 53300 is too_many_connections.
const connectionStates = /^(08|57P0[1-3]$|53300$)/;
const transientStates = new Set(['40001', '40P01']);
// 53100 disk_full, 58030 io_error, 58P01 undefined_file (a data file gone with its directory), from
// Postgres and PGlite alike ("could not extend file …: No space left on device"); 53000 and 53200
// (insufficient_resources, out_of_memory) are not the disk's and stay fatal.
const storageStates = new Set(['53100', '58030', '58P01']);
// The same conditions met by our own file operations (the embedded store's data directory).
const storageCodes = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO']);
const connectionCodes = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED',
]);
// pg raises these as plain Errors without a code.
const connectionMessages = /connection terminated|terminating connection|timeout exceeded when trying to connect|connection timeout|not queryable|Connection closed|Query read timeout|server closed the connection/i;

function codeOf(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

/** Classifies a driver error. */
export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof PitbossError) return error.code === 'PITBOSS_STORE_WRITE_FAILED' ? 'storage' : 'fatal';
  const code = codeOf(error);
  if (code !== null) {
    if (connectionCodes.has(code) || connectionStates.test(code)) return 'connection';
    if (transientStates.has(code)) return 'transient';
    if (storageStates.has(code) || storageCodes.has(code)) return 'storage';
    if (/^[0-9A-Z]{5}$/.test(code)) return 'fatal';
  }
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof AggregateError && error.errors.some((e) => classifyFailure(e) === 'connection')) return 'connection';
  return connectionMessages.test(message) ? 'connection' : 'fatal';
}

/** The typed error a caller sees for a failed statement. */
export function storeError(error: unknown, what: string): PitbossError {
  if (error instanceof PitbossError) return error;
  // Driver messages can quote the connection string (a malformed URL, a DNS failure on its host).
  const detail = redactUrl(error instanceof Error ? error.message : String(error));
  if (codeOf(error) === '57014') return new JobError('PITBOSS_STORE_TIMEOUT', `${what}: ${detail}`, { cause: error });
  const kind = classifyFailure(error);
  if (kind === 'fatal') return new JobError('PITBOSS_STORE_QUERY_FAILED', `${what}: ${detail}`, { cause: error });
  if (kind === 'storage') return writeFailed(`${what}: the database cannot write (${detail})`, error);
  return new JobError('PITBOSS_STORE_UNAVAILABLE', `${what}: the database is unreachable (${detail})`, { cause: error });
}

export const closedError = (what: string): JobError => new JobError('PITBOSS_STORE_CLOSED', `${what}: the job store is closed`);

/** A write refused or failed because the database cannot write (see `storageStates`). */
export const writeFailed = (message: string, cause?: unknown): JobError => new JobError('PITBOSS_STORE_WRITE_FAILED', message, cause === undefined ? {} : { cause });
