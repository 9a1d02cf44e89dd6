/**
 * `POST /jobs` over real HTTP for a queue no supervisor consumes: a 400 naming the known queues,
 * nothing recorded; a queue the deployment declares (acceptQueues) is taken.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDeployment } from '../../src/deploy/define.ts';
import { startTestDeployment, testToken } from '../helpers/deployment.ts';

let d: Awaited<ReturnType<typeof startTestDeployment>>;

beforeAll(async () => {
  d = await startTestDeployment({}, {
    deployment: defineDeployment({
      pools: [{ name: 'tp', worker: new URL('../../workers/faults.ts', import.meta.url), threads: 1, statusIntervalMs: null, sampleIntervalMs: null }],
      queues: { work: { pool: 'tp', concurrency: 2 } },
      acceptQueues: ['later'],
    }),
  });
}, 60_000);
afterAll(async () => {
  await d?.running.stop();
});

const post = (body: unknown) => fetch(`${d.running.url}/jobs`, {
  method: 'POST', body: JSON.stringify(body), headers: { authorization: `Bearer ${testToken}`, 'content-type': 'application/json' },
});

describe('POST /jobs for a queue nobody consumes', () => {
  it('answers 400 PITBOSS_UNKNOWN_QUEUE naming the queue and the known ones, and records nothing', async () => {
    const response = await post({ queue: 'wrok', name: 'typo', data: { kind: 'ok' } });
    expect(response.status).toBe(400);
    const body = await response.json() as { error: string; code: string; reason: string };
    expect(body).toMatchObject({ error: 'bad_request', code: 'PITBOSS_UNKNOWN_QUEUE' });
    expect(body.reason).toContain('"wrok"');
    expect(body.reason).toContain('known queues: later, work');
    expect((await d.running.jobs.queues()).map((q) => q.queue)).not.toContain('wrok');
  });

  it('takes a consumed queue and a declared one', async () => {
    expect((await post({ queue: 'work', name: 'fine', data: { kind: 'ok' } })).status).toBe(202);
    expect((await post({ queue: 'later', name: 'waits', data: { kind: 'ok' } })).status).toBe(202);
  });

  it('a deployment refuses a malformed acceptQueues entry, naming it', () => {
    expect(() => defineDeployment({ pools: [], queues: {}, acceptQueues: ['fine', 'not fine'] }))
      .toThrow(expect.objectContaining({ code: 'PITBOSS_INVALID_CONFIG', message: expect.stringContaining('deployment.acceptQueues[1]') }));
  });
});
