/**
 * `pitboss jobs …` against a real running supervisor over its HTTP port: a job dies, `jobs list`
 * finds it, `jobs retry <id>` runs it again, `jobs retry --state` retries by filter, `jobs get` and
 * `jobs cancel` answer as the API does; bad arguments fail with a clear message.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployment, testToken } from '../helpers/deployment.ts';

const run = promisify(execFile);
const cli = new URL('../../src/cli.ts', import.meta.url).pathname;
let d: Awaited<ReturnType<typeof startTestDeployment>>;

async function pitboss(args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', cli, ...args, '--url', d.running.url], {
    env: { ...process.env, PITBOSS_CONTROL_TOKEN: testToken }, timeout: 60_000,
  });
  return JSON.parse(stdout);
}

async function waitForStatus(id: string, status: string, attempts: number): Promise<void> {
  const until = Date.now() + 15_000;
  for (;;) {
    const job = await d.running.jobs.get(id);
    if (job?.status === status && job.attempts === attempts) return;
    if (Date.now() > until) throw new Error(`job ${id} is ${job?.status ?? 'missing'}, not ${status} after ${attempts} attempts`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  d = await startTestDeployment();
}, 60_000);
afterAll(async () => {
  await d?.running.stop();
});

describe('pitboss jobs', () => {
  it('list finds a dead job, retry <id> and retry --state run it again, get and cancel answer', async () => {
    const [dead] = await d.running.jobs.enqueue([{ queue: 'work', name: 'cli-doomed', data: { kind: 'throw', message: 'nope' }, maxAttempts: 1 }]);
    await waitForStatus(dead!.id, 'dead', 1);
    const page = await pitboss(['jobs', 'list', '--queue', 'work', '--state', 'dead', '--name', 'cli-doomed', '--limit', '5']) as { jobs: { id: string }[]; next: string | null };
    expect(page).toEqual({ jobs: [expect.objectContaining({ id: dead!.id, status: 'dead', error: { type: 'InjectedError', message: 'nope' } })], next: null });

    expect(await pitboss(['jobs', 'retry', dead!.id])).toMatchObject({ id: dead!.id, status: 'queued', maxAttempts: 2 });
    await waitForStatus(dead!.id, 'dead', 2);
    expect(await pitboss(['jobs', 'retry', '--state', 'dead', '--queue', 'work', '--name', 'cli-doomed', '--error-type', 'InjectedError'])).toEqual({ retried: 1 });
    await waitForStatus(dead!.id, 'dead', 3);
    expect(await pitboss(['jobs', 'get', dead!.id])).toMatchObject({ id: dead!.id, attempts: 3, actions: expect.any(Array) });

    const [later] = await d.running.jobs.enqueue([{ queue: 'work', name: 'cli-later', data: { kind: 'ok' }, delayMs: 60_000 }]);
    expect(await pitboss(['jobs', 'cancel', later!.id])).toMatchObject({ id: later!.id, status: 'cancelled' });
    const first = await pitboss(['jobs', 'list', '--queue', 'work', '--limit', '1']) as { jobs: { id: string }[]; next: string };
    expect(first.jobs[0]!.id).toBe(later!.id);
    const second = await pitboss(['jobs', 'list', '--queue', 'work', '--limit', '1', '--cursor', first.next]) as { jobs: { id: string }[] };
    expect(second.jobs[0]!.id).toBe(dead!.id);
  }, 90_000);

  it('refuses a job in the wrong state, a bad id and a retry without id or --state, with the reason', async () => {
    const [waiting] = await d.running.jobs.enqueue([{ queue: 'work', name: 'cli-waits', data: { kind: 'ok' }, delayMs: 60_000 }]);
    await expect(pitboss(['jobs', 'retry', waiting!.id])).rejects.toMatchObject({ stderr: expect.stringMatching(/409: job \d+ is queued; only dead, failed, cancelled jobs can be retried/) });
    await expect(pitboss(['jobs', 'get', 'abc'])).rejects.toMatchObject({ stderr: expect.stringMatching(/a job id is a positive decimal number/) });
    await expect(pitboss(['jobs', 'retry'])).rejects.toMatchObject({ stderr: expect.stringMatching(/give a job id, or --state/) });
    await expect(pitboss(['jobs', 'list', '--state', 'lost'])).rejects.toMatchObject({ stderr: expect.stringMatching(/400: .*state/) });
    await d.running.jobs.cancel(waiting!.id);
  }, 60_000);
});
