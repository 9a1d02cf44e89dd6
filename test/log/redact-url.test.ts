/**
 * One URL-redaction helper for logs, errors and the status page: the password forms users write
 * (userinfo with `@` inside, Redis' password-only userinfo, `?password=`) never reach a log line or
 * an error message in clear.
 */
import { describe, expect, it } from 'vitest';
import { JobStore } from '../../src/jobs/store/store.ts';
import { redactUrl } from '../../src/log/logger.ts';
import { startTestDeployment } from '../helpers/deployment.ts';
import { testDatabaseUrl } from '../helpers/services.ts';

describe('redactUrl', () => {
  it.each([
    ['postgres://app:hunter2@db:5432/x', 'postgres://app:***@db:5432/x'],
    ['postgres://app:hun@ter2@db:5432/x', 'postgres://app:***@db:5432/x'],
    ['postgresql://app:a/b@c@db/x?sslmode=require', 'postgresql://app:***@db/x?sslmode=require'],
    ['redis://:hunter2@cache:6379/0', 'redis://:***@cache:6379/0'],
    ['rediss://default:hunter2@cache:6380', 'rediss://default:***@cache:6380'],
    ['postgres://app@db/x?password=hunter2', 'postgres://app@db/x?password=***'],
    ['postgres://db/x?sslmode=require&password=hunter2&application_name=a', 'postgres://db/x?sslmode=require&password=***&application_name=a'],
    ['postgres://db/x?sslpassword=hunter2', 'postgres://db/x?sslpassword=***'],
    ['postgres://app@db/x', 'postgres://app@db/x'],
    ['connect to postgres://app:hunter2@db/x failed; retry redis://:hunter2@cache', 'connect to postgres://app:***@db/x failed; retry redis://:***@cache'],
  ])('%s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
    expect(redactUrl(url)).not.toContain('hunter2');
  });
});

describe('where URLs are shown', () => {
  it('deployment_started does not log a ?password= in clear', async () => {
    const url = new URL(testDatabaseUrl());
    url.searchParams.set('password', 'query-secret-0123');
    const d = await startTestDeployment({ databaseUrl: url.toString() });
    try {
      const started = d.logs.find((l) => l.event === 'deployment_started');
      expect(started?.database).toEqual(expect.stringContaining('password=***'));
      expect(d.rawLogs.join('\n')).not.toContain('query-secret-0123');
    } finally {
      await d.running.stop();
    }
  }, 60_000);

  it('a store that cannot connect names the server, not the password', async () => {
    const error = await JobStore.open({ url: 'postgres://app:p@ss-word@127.0.0.1:1/x?password=other-secret', retry: { budgetMs: 0 } }).then(() => null, (e: Error) => e);
    expect(error?.message).toContain('127.0.0.1:1');
    expect(error?.message).not.toMatch(/ss-word|other-secret/);
  }, 30_000);
});
