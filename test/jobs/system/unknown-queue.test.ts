/**
 * An enqueue for a queue nobody consumes is refused (it would wait for ever), naming the known
 * queues; queues consumed elsewhere in the fleet, declared with acceptQueues, or any with '*' are
 * taken. On real Postgres + BullMQ: the fleet's queues come from the supervisors' heartbeats.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelemetry, JobSystem } from '../../../src/index.ts';
import { Pool } from '../../../src/pool/pool.ts';
import { postgresBullmq, randomName, type SystemBackend } from './backends.ts';
import { jobWorker } from './suite.ts';

const bus = createTelemetry();
const consumed = randomName('consumed').replace('_', '-');
let backend: SystemBackend;
let pool: Pool;
let consumer: JobSystem;

beforeAll(async () => {
  backend = await postgresBullmq(bus);
  pool = new Pool({ name: 'uq', worker: jobWorker, threads: 1, telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null });
  await pool.start();
  consumer = new JobSystem({ store: backend.store, dispatcher: backend.dispatcher, telemetry: bus, queues: { [consumed]: { pool } }, supervisorId: randomName('consumer') });
  await consumer.start();
}, 60_000);
afterAll(async () => {
  await consumer?.stop(3000);
  await pool?.close();
  await backend?.close();
});

const producer = (options: Partial<ConstructorParameters<typeof JobSystem>[0]> = {}) =>
  new JobSystem({ store: backend.store, dispatcher: backend.dispatcher, telemetry: bus, queues: {}, supervisorId: randomName('producer'), ...options });

async function rowsOf(queue: string): Promise<number> {
  const [row] = await backend.sql<{ n: number }>('SELECT count(*)::int AS n FROM jobs WHERE queue = $1', [queue]);
  return row!.n;
}

describe('enqueue to a queue nobody consumes', () => {
  it('refuses it with PITBOSS_UNKNOWN_QUEUE naming the field and the known queues, and commits nothing of the call', async () => {
    const typo = `${consumed}-typo`;
    const call = producer().enqueue([{ queue: consumed, name: 'fine' }, { queue: typo, name: 'lost' }]);
    await expect(call).rejects.toMatchObject({ code: 'PITBOSS_UNKNOWN_QUEUE', field: 'jobs[1].queue' });
    const message = await call.catch((error: Error) => error.message);
    expect(message).toContain(`"${typo}"`);
    expect(message).toMatch(new RegExp(`known queues: .*${consumed}`));
    expect(await rowsOf(typo)).toBe(0);
    // The consumer itself refuses it too.
    await expect(consumer.enqueue([{ queue: typo, name: 'lost' }])).rejects.toMatchObject({ code: 'PITBOSS_UNKNOWN_QUEUE' });
  });

  it('a producer-only system enqueues to a queue another supervisor of the fleet consumes, and the job runs there', async () => {
    const [job] = await producer().enqueue([{ queue: consumed, name: 'elsewhere', data: { kind: 'ok', value: 7 } }]);
    const until = Date.now() + 15_000;
    while ((await consumer.get(job!.id))?.status !== 'completed') {
      if (Date.now() > until) throw new Error('the job did not run on the consuming supervisor');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }, 30_000);

  it('takes declared queues (acceptQueues) and any queue with \'*\'; refuses a malformed declaration', async () => {
    const later = randomName('later').replace('_', '-');
    await expect(producer({ acceptQueues: [later] }).enqueue([{ queue: later, name: 'waits' }])).resolves.toHaveLength(1);
    await expect(producer({ acceptQueues: '*' }).enqueue([{ queue: `${later}-any`, name: 'waits' }])).resolves.toHaveLength(1);
    expect(() => producer({ acceptQueues: ['ok', 'not ok'] })).toThrow(expect.objectContaining({ code: 'PITBOSS_INVALID_CONFIG', field: 'acceptQueues[1]' }));
    // A malformed name is the store's to refuse, with its rule.
    await expect(producer().enqueue([{ queue: 'bad queue', name: 'x' }])).rejects.toMatchObject({ code: 'PITBOSS_INVALID_JOB', field: 'jobs[0].queue' });
  });
});
