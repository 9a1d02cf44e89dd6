/**
 * classifyFailure and storeError on what drivers really raise: a full disk (Postgres's ENOSPC comes
 * back as SQLSTATE 53100, an I/O error as 58030, with the server's message) is a storage failure —
 * the store goes down and callers hear PITBOSS_STORE_WRITE_FAILED at once — never a hang or a retry.
 */
import { describe, expect, it } from 'vitest';
import { JobError } from '../../../src/errors/classes.ts';
import { errorCodes } from '../../../src/errors/table.ts';
import { classifyFailure, storeError } from '../../../src/jobs/store/failures.ts';

const sqlError = (code: string, message: string): Error => Object.assign(new Error(message), { code, severity: 'ERROR' });

describe('classifyFailure', () => {
  it('a full or failing disk is a storage failure', () => {
    expect(classifyFailure(sqlError('53100', 'could not extend file "base/16384/16385": No space left on device'))).toBe('storage');
    expect(classifyFailure(sqlError('58030', 'could not write to file "pg_wal/xlogtemp.42": Input/output error'))).toBe('storage');
    expect(classifyFailure(sqlError('58P01', 'could not open file "base/5/16384": No such file or directory'))).toBe('storage');
    expect(classifyFailure(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }))).toBe('storage');
    expect(classifyFailure(Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' }))).toBe('storage');
    expect(classifyFailure(new JobError('PITBOSS_STORE_WRITE_FAILED', 'the disk is full'))).toBe('storage');
  });

  it('keeps the other kinds apart', () => {
    expect(classifyFailure(sqlError('08006', 'connection failure'))).toBe('connection');
    expect(classifyFailure(sqlError('57P01', 'terminating connection due to administrator command'))).toBe('connection');
    expect(classifyFailure(sqlError('40P01', 'deadlock detected'))).toBe('transient');
    expect(classifyFailure(sqlError('23505', 'duplicate key value'))).toBe('fatal');
    expect(classifyFailure(sqlError('53200', 'out of memory'))).toBe('fatal');
    expect(classifyFailure(new JobError('PITBOSS_STORE_CLOSED', 'closed'))).toBe('fatal');
  });
});

describe('storeError', () => {
  it('turns a storage failure into PITBOSS_STORE_WRITE_FAILED (503) keeping the server message', () => {
    const error = storeError(sqlError('53100', 'could not extend file "base/16384/16385": No space left on device'), 'store enqueue');
    expect(error.code).toBe('PITBOSS_STORE_WRITE_FAILED');
    expect(error.message).toContain('No space left on device');
    expect(errorCodes[error.code].status).toBe(503);
  });

  it('leaves the other mappings as they were', () => {
    expect(storeError(sqlError('08006', 'connection failure'), 'x').code).toBe('PITBOSS_STORE_UNAVAILABLE');
    expect(storeError(sqlError('57014', 'canceling statement due to statement timeout'), 'x').code).toBe('PITBOSS_STORE_TIMEOUT');
    expect(storeError(sqlError('23505', 'duplicate key value'), 'x').code).toBe('PITBOSS_STORE_QUERY_FAILED');
  });
});
