/**
 * Schedules as an operator uses them: a deployment with a `schedules` block, started for real and
 * reached over HTTP on its port. The declared schedule is listed (source deployment, next and last
 * run) and its ticks' jobs run; a runtime schedule is created, fires and is deleted; the token
 * guards the mutating routes; bad definitions are 400s that say which key is wrong and why. The
 * `pitboss schedule` commands are driven against the same deployment (one start for both: a
 * deployment takes seconds to boot on a loaded machine).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDeployment } from '../../src/deploy/define.ts';
import { startTestDeployment, testToken } from '../helpers/deployment.ts';

const deployment = defineDeployment({
  pools: [{ name: 'tp', worker: new URL('../../workers/faults.ts', import.meta.url), threads: 1, statusIntervalMs: null, sampleIntervalMs: null }],
  queues: { work: { pool: 'tp', concurrency: 2 } },
  schedules: { heartbeat: { cron: '* * * * * *', queue: 'work', name: 'beat', data: { kind: 'ok', value: 'beat' } } },
});

type Deployment = Awaited<ReturnType<typeof startTestDeployment>>;
let d: Deployment;

beforeAll(async () => {
  d = await startTestDeployment({}, { deployment });
}, 60_000);
afterAll(async () => {
  await d?.running.stop();
});

interface Row { schedule: string; cron: string; timezone: string | null; queue: string; name: string; data: unknown; missed: string; source: string; nextRunAt: string | null; lastRunAt: string | null }

async function http(method: string, path: string, options: { body?: unknown; token?: string | null } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const token = options.token === undefined ? testToken : options.token;
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${d.running.url}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  return { status: response.status, body: await response.json() as Record<string, unknown> };
}

const listed = async (name: string): Promise<Row | undefined> => ((await http('GET', '/schedules')).body.schedules as Row[]).find((s) => s.schedule === name);

async function waitFor<T>(read: () => Promise<T | undefined>, ok: (value: T) => boolean, what: string): Promise<T> {
  const until = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (value !== undefined && ok(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('schedules over HTTP', () => {
  it('a deployment\'s schedule is listed with its next and last run, and its ticks\' jobs run', async () => {
    const row = await waitFor(() => listed('heartbeat'), (r) => r.lastRunAt !== null, 'a first tick');
    expect(row).toMatchObject({ cron: '* * * * * *', timezone: null, queue: 'work', name: 'beat', data: { kind: 'ok', value: 'beat' }, missed: 'latest', source: 'deployment' });
    expect(Date.parse(row.nextRunAt!)).toBeGreaterThan(Date.parse(row.lastRunAt!));
    // The tick's job, found by the key that says which schedule and tick made it, ran.
    const tick = row.lastRunAt!;
    const [job] = await d.running.store.jobs.enqueue([{ queue: 'work', name: 'beat', idempotencyKey: `schedule:heartbeat:${tick}` }]);
    expect(job!.created).toBe(false);
    const done = await waitFor(async () => (await http('GET', `/jobs/${job!.id}`)).body, (j) => j.status === 'completed', 'the tick\'s job');
    expect(done).toMatchObject({ queue: 'work', name: 'beat', result: 'beat', idempotencyKey: `schedule:heartbeat:${tick}` });
  });

  it('PUT creates a runtime schedule that fires; DELETE removes it; a second DELETE is a 404', async () => {
    const put = await http('PUT', '/schedules/every-two', { body: { cron: '*/2 * * * * *', queue: 'work', name: 'two', data: { kind: 'ok', value: 2 }, timezone: 'Asia/Tokyo', missed: 'skip' } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ schedule: 'every-two', cron: '*/2 * * * * *', timezone: 'Asia/Tokyo', queue: 'work', name: 'two', missed: 'skip', source: 'runtime', lastRunAt: null });
    expect(Date.parse(String(put.body.nextRunAt)) % 2000).toBe(0);
    const fired = await waitFor(() => listed('every-two'), (r) => r.lastRunAt !== null, 'a tick of every-two');
    expect(Date.parse(fired.lastRunAt!) % 2000).toBe(0);

    expect(await http('DELETE', '/schedules/every-two')).toEqual({ status: 200, body: { deleted: 'every-two' } });
    expect(await listed('every-two')).toBeUndefined();
    expect(await http('DELETE', '/schedules/every-two')).toEqual({ status: 404, body: { error: 'not_found', reason: 'no schedule every-two' } });
  });

  it('the mutating routes need the token; reads without it do not show job data', async () => {
    const body = { cron: '* * * * *', queue: 'work', name: 'x' };
    expect(await http('PUT', '/schedules/sneaky', { body, token: null })).toMatchObject({ status: 401, body: { error: 'unauthorized', reason: 'missing bearer token' } });
    expect(await http('PUT', '/schedules/sneaky', { body, token: 'wrong-token-wrong-token' })).toMatchObject({ status: 401, body: { reason: 'wrong token' } });
    expect(await http('DELETE', '/schedules/heartbeat', { token: null })).toMatchObject({ status: 401 });
    expect(await listed('sneaky')).toBeUndefined();
    expect(await listed('heartbeat')).toBeDefined();
    const anonymous = await http('GET', '/schedules', { token: null });
    expect(anonymous.status).toBe(200);
    expect(anonymous.body.hidden).toMatch(/bearer token/);
    expect((anonymous.body.schedules as Row[]).find((s) => s.schedule === 'heartbeat')).toMatchObject({ cron: '* * * * * *', data: null, nextRunAt: expect.any(String) });
  });

  it.each([
    ['a bad expression', { cron: '0 25 * * *' }, 'PITBOSS_INVALID_CONFIG', /^schedules\.bad\.cron "0 25 \* \* \*" is not a valid cron expression of 5 or 6 fields: Invalid value for hour: 25/],
    ['seven fields', { cron: '0 0 0 * * * 2030' }, 'PITBOSS_INVALID_CONFIG', /^schedules\.bad\.cron .*requires exactly 5 or 6 parts/],
    ['an unknown time zone', { timezone: 'Europe/Atlantis' }, 'PITBOSS_INVALID_CONFIG', /^schedules\.bad\.timezone must be an IANA time zone .*"Europe\/Atlantis"/],
    ['a queue nobody consumes', { queue: 'nowhere' }, 'PITBOSS_UNKNOWN_QUEUE', /^schedules\.bad\.queue "nowhere": no supervisor consumes this queue.*known queues: work/],
  ])('%s is a 400 naming the key and what is wrong', async (_what, change, code, reason) => {
    const response = await http('PUT', '/schedules/bad', { body: { cron: '* * * * *', queue: 'work', name: 'x', ...change } });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'bad_request', code, reason: expect.stringMatching(reason) });
    expect(await listed('bad')).toBeUndefined();
  });

  it.each([
    ['a missing cron', { queue: 'work', name: 'x' }, /body must have required property 'cron'/],
    ['an unknown field', { cron: '* * * * *', queue: 'work', name: 'x', every: 5 }, /must NOT have additional properties/],
    ['an unknown missed policy', { cron: '* * * * *', queue: 'work', name: 'x', missed: 'most' }, /body\/missed must be equal to one of the allowed values/],
  ])('%s is a 400 from the schema', async (_what, body, reason) => {
    const response = await http('PUT', '/schedules/bad', { body });
    expect(response).toMatchObject({ status: 400, body: { error: 'bad_request', reason: expect.stringMatching(reason) } });
  });

  it('a schedule name that cannot be a key is a 400', async () => {
    const response = await http('PUT', '/schedules/-dash', { body: { cron: '* * * * *', queue: 'work', name: 'x' } });
    expect(response).toMatchObject({ status: 400, body: { error: 'bad_request', reason: expect.stringMatching(/params\/name must match pattern/) } });
  });
});

describe('a deployment\'s schedules block', () => {
  const pools = [{ name: 'tp', worker: new URL('../../workers/faults.ts', import.meta.url), threads: 1 }];
  it('is checked when defined, naming the key', () => {
    expect(() => defineDeployment({ pools, queues: { work: { pool: 'tp' } }, schedules: { nightly: { cron: '0 3 * * * * * *', queue: 'work', name: 'n' } } }))
      .toThrow(expect.objectContaining({ code: 'PITBOSS_INVALID_CONFIG', message: expect.stringMatching(/^deployment\.schedules\.nightly\.cron /) }));
    expect(() => defineDeployment({ pools, queues: { work: { pool: 'tp' } }, schedules: { nightly: { cron: '0 3 * * *', queue: 'work', name: 'n', timezone: 'CET+1' } } }))
      .toThrow(/^deployment\.schedules\.nightly\.timezone must be an IANA time zone/);
  });
});

describe('pitboss schedule list|set|rm', () => {
  const run = promisify(execFile);
  const cli = new URL('../../src/cli.ts', import.meta.url).pathname;
  const pitboss = async (...args: string[]): Promise<unknown> => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', cli, 'schedule', ...args, '--url', d.running.url], {
      env: { ...process.env, PITBOSS_CONTROL_TOKEN: testToken }, timeout: 60_000,
    });
    return JSON.parse(stdout);
  };

  it('sets, lists and removes a schedule through the HTTP API', async () => {
    const set = await pitboss('set', 'nightly', '0 3 * * *', 'work', 'cleanup', '--data', '{"kind":"ok","value":"swept"}', '--timezone', 'Europe/Paris', '--missed', 'all');
    expect(set).toMatchObject({ schedule: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Paris', queue: 'work', name: 'cleanup', data: { kind: 'ok', value: 'swept' }, missed: 'all', source: 'runtime' });
    // 03:00 in Paris is 01:00 or 02:00 UTC, depending on the season.
    expect(new Date(String((set as Row).nextRunAt)).getUTCHours()).toBeOneOf([1, 2]);
    const list = await pitboss('list') as { schedules: Row[] };
    expect(list.schedules.map((s) => s.schedule)).toEqual(expect.arrayContaining(['heartbeat', 'nightly']));
    expect(await pitboss('rm', 'nightly')).toEqual({ deleted: 'nightly' });
    expect(await listed('nightly')).toBeUndefined();
  }, 60_000);

  it('a bad definition exits non-zero with the server\'s reason', async () => {
    await expect(pitboss('set', 'bad', '61 * * * *', 'work', 'x')).rejects.toMatchObject({
      stderr: expect.stringContaining('PUT /schedules/bad → 400: schedules.bad.cron "61 * * * *" is not a valid cron expression of 5 or 6 fields: Invalid value for minute: 61'),
    });
  }, 60_000);
});
