/**
 * W3C trace context on `POST /jobs`, over a real HTTP connection: the job becomes a child span of
 * the caller's `traceparent` (same trace id, its own span id), and the row, the thread, the job's
 * events and its log lines carry that trace. A malformed header starts a new trace (W3C: restart,
 * don't fail the request). The caller's `tracestate` goes on with a valid traceparent, unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureEvents, parseTraceparent } from '../../src/index.ts';
import { eventually } from '../helpers/pool.ts';
import { startTestDeployment, testToken } from '../helpers/deployment.ts';

let d: Awaited<ReturnType<typeof startTestDeployment>>;
const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const callerSpan = '00f067aa0ba902b7';

beforeAll(async () => {
  d = await startTestDeployment();
}, 60_000);
afterAll(async () => {
  await d?.running.stop();
});

async function post(body: unknown, headers: Record<string, string>): Promise<{ id: string }> {
  const response = await fetch(`${d.running.url}/jobs`, {
    method: 'POST', body: JSON.stringify(body), headers: { authorization: `Bearer ${testToken}`, 'content-type': 'application/json', ...headers },
  });
  expect(response.status).toBe(202);
  return await response.json() as { id: string };
}

async function finished(id: string): Promise<{ status: string; traceparent: string; result: unknown }> {
  const until = Date.now() + 15_000;
  for (;;) {
    const job = await d.running.jobs.get(id);
    if (job?.status === 'completed') return { status: job.status, traceparent: job.traceparent!, result: job.result };
    if (Date.now() > until) throw new Error(`job ${id} is ${job?.status}, not completed`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('POST /jobs with a W3C traceparent', () => {
  it('makes the job a child span of the caller: row, thread, events and logs carry the caller\'s trace id', async () => {
    const events = captureEvents(d.telemetry, ['job.enqueued', 'job.start', 'job.stop', 'worker.call.start', 'worker.call.stop']);
    const traceparent = `00-${traceId}-${callerSpan}-01`;
    const traced = await post({ queue: 'work', name: 'traced', data: { kind: 'context' } }, { traceparent });
    const logged = await post({ queue: 'work', name: 'traced-log', data: { kind: 'log', level: 'info', msg: 'inside the trace' } }, { traceparent });

    const row = await finished(traced.id);
    const parsed = parseTraceparent(row.traceparent)!;
    expect(parsed).toMatchObject({ traceId, flags: '01' });
    expect(parsed.spanId).not.toBe(callerSpan);
    // The thread ran under the job's span.
    expect(row.result).toMatchObject({ traceparent: row.traceparent });
    const ofJob = events.events.filter((e) => e.metadata.job_id === traced.id);
    expect(ofJob.map((e) => e.event)).toEqual(expect.arrayContaining(['job.enqueued', 'job.start', 'job.stop']));
    for (const e of ofJob) expect({ event: e.event, traceparent: e.metadata.traceparent }).toEqual({ event: e.event, traceparent: row.traceparent });
    const calls = events.events.filter((e) => e.event.startsWith('worker.call.') && e.metadata.traceparent === row.traceparent);
    expect(calls.map((e) => e.event)).toEqual(expect.arrayContaining(['worker.call.start', 'worker.call.stop']));

    await finished(logged.id);
    await eventually(() => d.logs.some((l) => l.msg === 'inside the trace'), 5000, 'the worker log line');
    expect(d.logs.find((l) => l.msg === 'inside the trace')).toMatchObject({ trace_id: traceId });
  }, 30_000);

  it('keeps the caller\'s sampled flag and starts a new trace for a malformed header', async () => {
    const unsampled = await post({ queue: 'work', name: 'unsampled', data: { kind: 'ok' } }, { traceparent: `00-${traceId}-${callerSpan}-00` });
    expect(parseTraceparent((await finished(unsampled.id)).traceparent)).toMatchObject({ traceId, flags: '00' });
    for (const bad of ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'not-a-traceparent', `00-${traceId}-${callerSpan}`]) {
      const job = await post({ queue: 'work', name: 'bad-parent', data: { kind: 'ok' } }, { traceparent: bad });
      const fresh = parseTraceparent((await finished(job.id)).traceparent);
      expect(fresh, bad).not.toBeNull();
      expect(fresh!.traceId, bad).not.toBe(traceId);
    }
  }, 30_000);
});

describe('POST /jobs with a W3C tracestate', () => {
  const traceparent = `00-${traceId}-${callerSpan}-01`;

  async function shown(id: string): Promise<{ traceparent: string | null; tracestate: string | null; result: { traceparent: string; tracestate: string | null } }> {
    await finished(id);
    const response = await fetch(`${d.running.url}/jobs/${id}`, { headers: { authorization: `Bearer ${testToken}` } });
    expect(response.status).toBe(200);
    return await response.json() as Awaited<ReturnType<typeof shown>>;
  }

  it('keeps the caller\'s tracestate with its traceparent, unchanged: the row (GET /jobs/:id) and the worker\'s ctx.tracestate', async () => {
    const tracestate = 'congo=t61rcWkgMzE, tenant@vendor=opaque value!,rojo=00f067aa0ba902b7';
    const job = await post({ queue: 'work', name: 'traced-state', data: { kind: 'context' } }, { traceparent, tracestate });
    const row = await shown(job.id);
    expect(row.tracestate).toBe(tracestate);
    expect(parseTraceparent(row.traceparent!)).toMatchObject({ traceId });
    expect(row.result).toMatchObject({ traceparent: row.traceparent, tracestate });
  }, 30_000);

  it('drops a malformed tracestate (the job is still accepted and still a child of the traceparent)', async () => {
    const tooMany = Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',');
    for (const bad of ['no spaces in keys=1', 'UPPER=1', 'rojo=1,rojo=2', `k=${'v'.repeat(520)}`, tooMany, 'novalue=', ',,']) {
      const job = await post({ queue: 'work', name: 'bad-state', data: { kind: 'context' } }, { traceparent, tracestate: bad });
      const row = await shown(job.id);
      expect({ bad, tracestate: row.tracestate, seen: row.result.tracestate }).toEqual({ bad, tracestate: null, seen: null });
      expect(parseTraceparent(row.traceparent!), bad).toMatchObject({ traceId });
    }
  }, 30_000);

  it('ignores a tracestate that comes without a valid traceparent', async () => {
    const tracestate = 'rojo=00f067aa0ba902b7';
    const cases: Record<string, string>[] = [{ tracestate }, { tracestate, traceparent: 'not-a-traceparent' }];
    for (const headers of cases) {
      const job = await post({ queue: 'work', name: 'orphan-state', data: { kind: 'context' } }, headers);
      const row = await shown(job.id);
      expect({ headers, tracestate: row.tracestate, seen: row.result.tracestate }).toEqual({ headers, tracestate: null, seen: null });
      expect(parseTraceparent(row.traceparent!)!.traceId).not.toBe(traceId);
    }
  }, 30_000);
});
