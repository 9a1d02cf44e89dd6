/**
 * Store conformance, part 1: the life of a job (enqueue, validation, idempotency, group commit,
 * claim, finish, retry, dead, fencing, cancel). Run against every backend by *.test.ts files.
 */
import { describe, expect, it } from 'vitest';
import { captureEvents, createTelemetry } from '../../../src/index.ts';
import { JobStore } from '../../../src/jobs/store/store.ts';
import type { SqlClient } from '../../../src/jobs/store/types.ts';
import type { EnqueueInput } from '../../../src/jobs/types.ts';
import { eventually, uniqueQueue, type StoreHarness } from './harness.ts';

/**
 * A client whose next statement matching `loseNext(pattern)` commits and then fails as if the
 * connection died before the reply arrived: the case that makes naive retries duplicate work.
 */
function losingReplies(client: SqlClient): SqlClient & { loseNext(pattern: RegExp): void; lost: number } {
  let armed: RegExp | null = null;
  const wrapped = {
    backend: client.backend,
    schema: client.schema,
    lost: 0,
    loseNext(pattern: RegExp) {
      armed = pattern;
    },
    async query<R extends Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]> {
      const rows = await client.query<R>(text, params);
      if (armed !== null && armed.test(text)) {
        armed = null;
        wrapped.lost += 1;
        throw new Error('Connection terminated unexpectedly');
      }
      return rows;
    },
    exec: (text: string) => client.exec(text),
    transaction: client.transaction.bind(client),
    listen: client.listen.bind(client),
    notify: client.notify.bind(client),
    close: async () => {},
  };
  return wrapped;
}

const past = (): Date => new Date(Date.now() - 1_000);
const boom = { type: 'Error', message: 'boom' };

async function enqueueOne(store: JobStore, input: Partial<EnqueueInput> = {}) {
  const [job] = await store.jobs.enqueue([{ queue: uniqueQueue(), name: 'work', ...input }]);
  return job!;
}

async function expectCode(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  const error = await promise.then(() => null, (e: unknown) => e as { code?: string; field?: string | null });
  expect(error, `expected a rejection with ${code}`).not.toBeNull();
  expect(error?.code).toBe(code);
  if (field !== undefined) expect(error?.field).toBe(field);
}

export function jobLifecycleConformance(harness: () => StoreHarness): void {
  describe('enqueue', () => {
    it('commits rows with defaults and the caller context, readable through get', async () => {
      const store = await harness().open();
      const queue = uniqueQueue();
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const jobs = await store.jobs.enqueue([
        { queue, name: 'a', data: { n: 1, list: [1, 'two', null], when: new Date(0) } },
        { queue, name: 'b', priority: 5, maxAttempts: 7, backoff: { type: 'fixed', delayMs: 250 }, delayMs: 60_000 },
      ], { correlationId: 'corr-1', traceparent });
      expect(jobs.map((j) => [j.queue, j.name, j.status, j.created])).toEqual([[queue, 'a', 'queued', true], [queue, 'b', 'queued', true]]);
      expect(jobs[0]).toMatchObject({ priority: 0, maxAttempts: 3, backoff: { type: 'exponential', delayMs: 1000 } });
      expect(jobs[1]).toMatchObject({ priority: 5, maxAttempts: 7, backoff: { type: 'fixed', delayMs: 250 } });
      expect(jobs[1]!.runAt.getTime() - jobs[0]!.runAt.getTime()).toBeGreaterThanOrEqual(59_000);
      expect(BigInt(jobs[1]!.id)).toBeGreaterThan(BigInt(jobs[0]!.id));

      const stored = await store.jobs.get(jobs[0]!.id);
      expect(stored).toMatchObject({
        id: jobs[0]!.id, queue, name: 'a', status: 'queued', attempts: 0, payload: { n: 1, list: [1, 'two', null], when: '1970-01-01T00:00:00.000Z' },
        correlationId: 'corr-1', traceparent, claimedBy: null, startedAt: null, finishedAt: null, result: null, error: null, actions: [],
      });
      expect(stored!.createdAt).toBeInstanceOf(Date);
      expect(stored!.tracestate).toBeNull();
      expect(await store.jobs.get('999999999999')).toBeNull();
      expect(await store.jobs.get('not-an-id')).toBeNull();
    });

    it.each([
      ['jobs[1].queue', { queue: '' }],
      ['jobs[1].queue', { queue: 'has space' }],
      ['jobs[1].queue', { queue: 'x'.repeat(129) }],
      ['jobs[1].name', { name: 42 }],
      ['jobs[1].data.f', { data: { f: () => 1 } }],
      ['jobs[1].data.n', { data: { n: 10n } }],
      ['jobs[1].data.list[1]', { data: { list: [1, Number.NaN] } }],
      ['jobs[1].data.s', { data: { s: 'nul\u0000byte' } }],
      ['jobs[1].data.m', { data: { m: new Map() } }],
      ['jobs[1].priority', { priority: 1.5 }],
      ['jobs[1].maxAttempts', { maxAttempts: 0 }],
      ['jobs[1].maxAttempts', { maxAttempts: 101 }],
      ['jobs[1].delayMs', { delayMs: -1 }],
      ['jobs[1].backoff.type', { backoff: { type: 'linear', delayMs: 1 } }],
      ['jobs[1].backoff.delayMs', { backoff: { type: 'fixed', delayMs: -5 } }],
      ['jobs[1].idempotencyKey', { idempotencyKey: '' }],
    ])('rejects a bad %s with PITBOSS_INVALID_JOB and writes no row of the batch', async (field, bad) => {
      const store = await harness().open();
      const queue = uniqueQueue();
      const good = { queue, name: 'ok' };
      await expectCode(store.jobs.enqueue([good, { ...good, ...bad } as EnqueueInput, good]), 'PITBOSS_INVALID_JOB', field);
      expect(await store.jobs.countClaimable(queue)).toBe(0);
    });

    it('rejects cycles, oversized payloads and bad context', async () => {
      const store = await harness().open({ maxPayloadBytes: 1024 });
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expectCode(store.jobs.enqueue([{ queue: 'q', name: 'n', data: cyclic }]), 'PITBOSS_INVALID_JOB', 'jobs[0].data.self');
      await expectCode(store.jobs.enqueue([{ queue: 'q', name: 'n', data: 'é'.repeat(600) }]), 'PITBOSS_INVALID_JOB', 'jobs[0].data');
      await expectCode(store.jobs.enqueue([{ queue: 'q', name: 'n' }], { correlationId: null, traceparent: 'nope' }), 'PITBOSS_INVALID_JOB', 'context.traceparent');
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      for (const tracestate of ['no spaces=1', 'a=1,a=2', `k=${'v'.repeat(600)}`, Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(','), 42]) {
        await expectCode(store.jobs.enqueue([{ queue: 'q', name: 'n' }], { correlationId: null, traceparent, tracestate: tracestate as string }), 'PITBOSS_INVALID_JOB', 'context.tracestate');
      }
      await expectCode(store.jobs.enqueue([{ queue: 'q', name: 'n' }], { correlationId: null, traceparent: null, tracestate: 'rojo=1' }), 'PITBOSS_INVALID_JOB', 'context.tracestate');
      await expectCode(store.jobs.enqueue('nope' as never), 'PITBOSS_INVALID_JOB', 'jobs');
      expect(await store.jobs.enqueue([])).toEqual([]);
    });

    it('keeps the W3C tracestate that came with the traceparent, unchanged, through get and claim', async () => {
      const store = await harness().open();
      const queue = uniqueQueue();
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const tracestate = 'congo=t61rcWkgMzE,tenant@vendor=opaque value!,rojo=00f067aa0ba902b7';
      const [job] = await store.jobs.enqueue([{ queue, name: 'traced' }], { correlationId: 'corr-ts', traceparent, tracestate });
      expect(await store.jobs.get(job!.id)).toMatchObject({ traceparent, tracestate });
      expect(await store.jobs.claim(job!.id, 'sup/pool')).toMatchObject({ correlationId: 'corr-ts', traceparent, tracestate });
    });

    it('returns the existing job for a repeated idempotency key, per queue, also within one batch and across stores', async () => {
      const h = harness();
      const [a, b] = [await h.open(), await h.open()];
      const queue = uniqueQueue();
      const other = uniqueQueue();
      const [first] = await a.jobs.enqueue([{ queue, name: 'once', idempotencyKey: 'k1' }]);
      const [again] = await b.jobs.enqueue([{ queue, name: 'ignored-name', idempotencyKey: 'k1' }]);
      expect(first!.created).toBe(true);
      expect(again).toMatchObject({ id: first!.id, created: false, name: 'once' });

      const batch = await a.jobs.enqueue([
        { queue, name: 'x', idempotencyKey: 'k2' }, { queue, name: 'y', idempotencyKey: 'k2' }, { queue: other, name: 'z', idempotencyKey: 'k2' },
      ]);
      expect(batch.map((j) => j.created)).toEqual([true, false, true]);
      expect(batch[1]!.id).toBe(batch[0]!.id);
      expect(batch[2]!.id).not.toBe(batch[0]!.id);

      const racing = await Promise.all([a, b, a, b].map((s) => s.jobs.enqueue([{ queue, name: 'race', idempotencyKey: 'k3' }])));
      expect(new Set(racing.map(([j]) => j!.id)).size).toBe(1);
      expect(racing.filter(([j]) => j!.created)).toHaveLength(1);
      expect(await a.jobs.countClaimable(queue)).toBe(3);
    });

    it('group-commits concurrent enqueues: far fewer statements than calls', async () => {
      const h = harness();
      const bus = createTelemetry();
      const store = await h.open({ telemetry: bus });
      const capture = captureEvents(bus, 'store.flush');
      const queue = uniqueQueue();
      const calls = Array.from({ length: 200 }, (_, i) => store.jobs.enqueue([{ queue, name: 'bulk', data: { i } }]));
      const jobs = (await Promise.all(calls)).flat();
      expect(new Set(jobs.map((j) => j.id)).size).toBe(200);
      const flushes = capture.of('store.flush').filter((e) => e.metadata.kind === 'enqueue');
      expect(flushes.reduce((n, e) => n + (e.measurements.rows ?? 0), 0)).toBe(200);
      expect(flushes.length).toBeLessThanOrEqual(5);
      expect(flushes[0]!.metadata.backend).toBe(h.backend);
      expect(flushes[0]!.measurements.duration).toBeGreaterThan(0);
      expect(await store.jobs.countClaimable(queue)).toBe(200);
    });
  });

  describe('claim and finish', () => {
    it('claims exactly once among concurrent callers, in one store and across stores', async () => {
      const h = harness();
      const [a, b] = [await h.open(), await h.open()];
      const job = await enqueueOne(a, { data: { hello: 'world' } });
      const results = await Promise.all([a.jobs.claim(job.id, 's1/p'), a.jobs.claim(job.id, 's1/p'), b.jobs.claim(job.id, 's2/p'), b.jobs.claim(job.id, 's2/p')]);
      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toMatchObject({ id: job.id, attempt: 1, payload: { hello: 'world' }, maxAttempts: 3 });
      const stored = await a.jobs.get(job.id);
      expect(stored).toMatchObject({ status: 'running', attempts: 1 });
      expect(['s1/p', 's2/p']).toContain(stored!.claimedBy);
      expect(stored!.startedAt).toBeInstanceOf(Date);
    });

    it('returns null for jobs that are not claimable and rejects malformed ids', async () => {
      const store = await harness().open();
      const later = await enqueueOne(store, { delayMs: 60_000 });
      expect(await store.jobs.claim(later.id, 's/p')).toBeNull();
      expect(await store.jobs.claim('999999999999', 's/p')).toBeNull();
      const done = await enqueueOne(store);
      await store.jobs.claim(done.id, 's/p');
      expect(await store.jobs.claim(done.id, 's/p')).toBeNull();
      await store.jobs.finish({ id: done.id, attempt: 1, status: 'completed', result: null });
      expect(await store.jobs.claim(done.id, 's/p')).toBeNull();
      const cancelled = await enqueueOne(store);
      await store.jobs.cancel(cancelled.id);
      expect(await store.jobs.claim(cancelled.id, 's/p')).toBeNull();
      await expectCode(store.jobs.claim('abc', 's/p'), 'PITBOSS_INVALID_JOB', 'id');
      await expectCode(store.jobs.claim(done.id, ''), 'PITBOSS_INVALID_JOB', 'claimedBy');
    });

    it('completes a job once: a second finish of the same attempt is fenced out', async () => {
      const store = await harness().open();
      const job = await enqueueOne(store);
      const claimed = await store.jobs.claim(job.id, 's/p');
      expect(await store.jobs.finish({ id: job.id, attempt: claimed!.attempt, status: 'completed', result: { sum: 3 } })).toBe(true);
      expect(await store.jobs.finish({ id: job.id, attempt: claimed!.attempt, status: 'completed', result: { sum: 4 } })).toBe(false);
      const stored = await store.jobs.get(job.id);
      expect(stored).toMatchObject({ status: 'completed', attempts: 1, result: { sum: 3 }, error: null });
      expect(stored!.finishedAt).toBeInstanceOf(Date);
      await expectCode(store.jobs.finish({ id: job.id, attempt: 0, status: 'completed', result: null }), 'PITBOSS_INVALID_JOB', 'attempt');
      await expectCode(store.jobs.finish({ id: job.id, attempt: 1, status: 'completed', result: 1n }), 'PITBOSS_INVALID_JOB', 'result');
    });

    it('retries a failed attempt once due, as attempt 2, and then completes', async () => {
      const store = await harness().open();
      const job = await enqueueOne(store);
      await store.jobs.claim(job.id, 's/p');
      const notYet = new Date(Date.now() + 60_000);
      expect(await store.jobs.finish({ id: job.id, attempt: 1, status: 'failed', error: boom, retryAt: notYet })).toBe(true);
      expect(await store.jobs.get(job.id)).toMatchObject({ status: 'failed', attempts: 1, error: boom, finishedAt: null, runAt: notYet });
      expect(await store.jobs.claim(job.id, 's/p')).toBeNull();

      const due = await enqueueOne(store);
      await store.jobs.claim(due.id, 's/p');
      await store.jobs.finish({ id: due.id, attempt: 1, status: 'failed', error: boom, retryAt: past() });
      const second = await store.jobs.claim(due.id, 's/p');
      expect(second).toMatchObject({ id: due.id, attempt: 2 });
      expect(await store.jobs.finish({ id: due.id, attempt: 2, status: 'completed', result: 'ok' })).toBe(true);
      expect(await store.jobs.get(due.id)).toMatchObject({ status: 'completed', attempts: 2, result: 'ok', error: null });
    });

    it('marks a job dead, after which it cannot be claimed', async () => {
      const store = await harness().open();
      const job = await enqueueOne(store, { maxAttempts: 1 });
      await store.jobs.claim(job.id, 's/p');
      expect(await store.jobs.finish({ id: job.id, attempt: 1, status: 'dead', error: { type: 'TypeError', message: 'x'.repeat(10_000) } })).toBe(true);
      const stored = await store.jobs.get(job.id);
      expect(stored).toMatchObject({ status: 'dead', attempts: 1, error: { type: 'TypeError' } });
      expect(stored!.error!.message.length).toBeLessThanOrEqual(8_193);
      expect(stored!.finishedAt).toBeInstanceOf(Date);
      expect(await store.jobs.claim(job.id, 's/p')).toBeNull();
    });

    it('releases an attempt uncharged: queued again at retryAt with its attempts count back down, fenced like a finish', async () => {
      const h = harness();
      const store = await h.open();
      const job = await enqueueOne(store, { maxAttempts: 1 });
      await store.jobs.claim(job.id, 's/p');
      const later = new Date(Date.now() + 60_000);
      expect(await store.jobs.finish({ id: job.id, attempt: 1, status: 'released', retryAt: later })).toBe(true);
      expect(await store.jobs.get(job.id)).toMatchObject({ status: 'queued', attempts: 0, runAt: later, finishedAt: null, error: null });
      // Released once is released: the same attempt cannot end it again.
      expect(await store.jobs.finish({ id: job.id, attempt: 1, status: 'dead', error: boom })).toBe(false);
      expect(await store.jobs.claim(job.id, 's/p')).toBeNull(); // not due yet
      await h.sql('UPDATE jobs SET run_at = now() WHERE id = $1', [job.id]);
      // With maxAttempts 1 the job still has its one attempt: the release cost nothing.
      const again = await store.jobs.claim(job.id, 's/p');
      expect(again).toMatchObject({ attempt: 1, maxAttempts: 1 });
      expect(await store.jobs.finish({ id: job.id, attempt: 1, status: 'completed', result: 'ran once' })).toBe(true);
      expect(await store.jobs.get(job.id)).toMatchObject({ status: 'completed', attempts: 1, result: 'ran once' });
      // A cancelled job is not released back into the queue.
      const cancelled = await enqueueOne(store);
      await store.jobs.claim(cancelled.id, 's/p');
      await store.jobs.cancel(cancelled.id);
      expect(await store.jobs.finish({ id: cancelled.id, attempt: 1, status: 'released', retryAt: past() })).toBe(false);
      expect(await store.jobs.get(cancelled.id)).toMatchObject({ status: 'cancelled' });
      await expectCode(store.jobs.finish({ id: job.id, attempt: 1, status: 'released', retryAt: new Date(Number.NaN) }), 'PITBOSS_INVALID_JOB', 'retryAt');
    });

    it("fences out a stale attempt after the job was requeued and claimed again", async () => {
      const h = harness();
      const store = await h.open();
      const job = await enqueueOne(store);
      await store.jobs.claim(job.id, 'lost-supervisor/p');
      // The claimer never heartbeated and its attempt is an hour old: an orphan.
      await h.sql("UPDATE jobs SET started_at = now() - interval '1 hour' WHERE id = $1", [job.id]);
      const { requeued } = await store.jobs.requeueOrphans(60_000);
      expect(requeued.map((j) => j.id)).toContain(job.id);
      const second = await store.jobs.claim(job.id, 'new-supervisor/p');
      expect(second!.attempt).toBe(2);
      expect(await store.jobs.finish({ id: job.id, attempt: 1, status: 'completed', result: 'stale' })).toBe(false);
      expect(await store.jobs.finish({ id: job.id, attempt: 2, status: 'completed', result: 'fresh' })).toBe(true);
      expect(await store.jobs.get(job.id)).toMatchObject({ status: 'completed', attempts: 2, result: 'fresh' });
    });

    it('batches concurrent claims and finishes into few statements', async () => {
      const bus = createTelemetry();
      const store = await harness().open({ telemetry: bus });
      const capture = captureEvents(bus, 'store.flush');
      const queue = uniqueQueue();
      const jobs = await store.jobs.enqueue(Array.from({ length: 50 }, () => ({ queue, name: 'n' })));
      const claimed = await Promise.all(jobs.map((j) => store.jobs.claim(j.id, 's/p')));
      const finished = await Promise.all(claimed.map((c) => store.jobs.finish({ id: c!.id, attempt: c!.attempt, status: 'completed', result: null })));
      expect(finished.every(Boolean)).toBe(true);
      for (const kind of ['claim', 'finish']) {
        const flushes = capture.of('store.flush').filter((e) => e.metadata.kind === kind);
        expect(flushes.reduce((n, e) => n + (e.measurements.rows ?? 0), 0)).toBe(50);
        expect(flushes.length).toBeLessThanOrEqual(5);
      }
    });
  });

  describe('retries', () => {
    it('never duplicate or lose work when a reply is lost after the commit', async () => {
      const h = harness();
      const client = losingReplies(h.client);
      const bus = createTelemetry();
      const events = captureEvents(bus, 'store.connection.*');
      const store = await JobStore.open({ client, telemetry: bus, retry: { minDelayMs: 5, maxDelayMs: 20, probeIntervalMs: 50 } });
      try {
        const queue = uniqueQueue();
        client.loseNext(/INSERT INTO jobs/);
        const jobs = await store.jobs.enqueue([{ queue, name: 'a' }, { queue, name: 'b', idempotencyKey: 'k' }]);
        expect(jobs.map((j) => j.created)).toEqual([true, true]);
        expect(await store.jobs.countClaimable(queue)).toBe(2);

        client.loseNext(/SET status = 'running'/);
        const claimed = await store.jobs.claim(jobs[0]!.id, 's/p');
        expect(claimed).toMatchObject({ id: jobs[0]!.id, attempt: 1 });
        expect(await store.jobs.get(jobs[0]!.id)).toMatchObject({ status: 'running', attempts: 1 });

        client.loseNext(/WITH v AS[\s\S]*finished AS/);
        expect(await store.jobs.finish({ id: jobs[0]!.id, attempt: 1, status: 'completed', result: 'once' })).toBe(true);

        client.loseNext(/INSERT INTO job_actions/);
        store.jobs.recordActions([{ jobId: jobs[0]!.id, attempt: 1, action: 'only-once', status: 'ok', duration: 9, error: null }]);
        await eventually(() => client.lost === 4, 5_000, 'the lost action reply');
        await eventually(async () => (await store.jobs.get(jobs[0]!.id))!.actions.length > 0, 5_000, 'the action row');
        expect((await store.jobs.get(jobs[0]!.id))!.actions).toHaveLength(1);
        expect(await store.jobs.get(jobs[0]!.id)).toMatchObject({ status: 'completed', attempts: 1, result: 'once' });

        // A release whose reply was lost is recognised on the retry (attempts already handed back).
        await store.jobs.claim(jobs[1]!.id, 's/p');
        client.loseNext(/WITH v AS[\s\S]*finished AS/);
        expect(await store.jobs.finish({ id: jobs[1]!.id, attempt: 1, status: 'released', retryAt: past() })).toBe(true);
        expect(await store.jobs.get(jobs[1]!.id)).toMatchObject({ status: 'queued', attempts: 0 });
        expect(events.of('store.connection.lost').length).toBeGreaterThanOrEqual(1);
        await eventually(() => store.available, 5_000, 'the store to be available again');
      } finally {
        await store.close();
      }
    });
  });

  describe('cancel', () => {
    it('cancels queued and failed jobs, returns finished ones unchanged and null for unknown ids', async () => {
      const store = await harness().open();
      const queued = await enqueueOne(store);
      expect(await store.jobs.cancel(queued.id)).toMatchObject({ id: queued.id, status: 'cancelled' });
      const failed = await enqueueOne(store);
      await store.jobs.claim(failed.id, 's/p');
      await store.jobs.finish({ id: failed.id, attempt: 1, status: 'failed', error: boom, retryAt: past() });
      expect(await store.jobs.cancel(failed.id)).toMatchObject({ status: 'cancelled', attempts: 1 });
      const done = await enqueueOne(store);
      await store.jobs.claim(done.id, 's/p');
      await store.jobs.finish({ id: done.id, attempt: 1, status: 'completed', result: 7 });
      expect(await store.jobs.cancel(done.id)).toMatchObject({ status: 'completed', result: 7 });
      expect(await store.jobs.cancel('999999999999')).toBeNull();
      expect(await store.jobs.cancel('x')).toBeNull();
    });

    it('cancels a running job; the attempt finishing later is fenced out', async () => {
      const store = await harness().open();
      const job = await enqueueOne(store);
      const claimed = await store.jobs.claim(job.id, 's/p');
      const cancelled = await store.jobs.cancel(job.id);
      expect(cancelled).toMatchObject({ status: 'cancelled', attempts: 1 });
      expect(cancelled!.finishedAt).toBeInstanceOf(Date);
      expect(await store.jobs.finish({ id: job.id, attempt: claimed!.attempt, status: 'completed', result: 'late' })).toBe(false);
      expect(await store.jobs.finish({ id: job.id, attempt: claimed!.attempt, status: 'failed', error: boom, retryAt: past() })).toBe(false);
      expect(await store.jobs.get(job.id)).toMatchObject({ status: 'cancelled', result: null });
    });
  });
}
