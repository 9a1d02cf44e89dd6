/** The job API: submit (one job or an array), inspect, cancel, queue counts. Submitting is refused while draining. */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { RouteGuard } from './auth.ts';
import type { EnqueueInput } from '../jobs/types.ts';
import { checkTracestate, parseTraceparent, withCorrelation } from '../telemetry/correlation.ts';
import { enqueueBody, jobIdParams } from './schemas.ts';
import { enqueueErrorFormatter } from './enqueue-errors.ts';
import type { HttpServerOptions } from './options.ts';

export function registerJobRoutes(app: FastifyInstance, options: HttpServerOptions, guard: RouteGuard): void {
  const { jobs } = options;

  const enqueueRoute = { schema: { body: enqueueBody }, schemaErrorFormatter: enqueueErrorFormatter, onRequest: guard };
  app.post<{ Body: EnqueueInput | EnqueueInput[] }>('/jobs', enqueueRoute, async (request, reply) => {
    if (options.readiness().draining) return reply.code(503).header('retry-after', '5').send({ error: 'draining', reason: 'this supervisor is shutting down; submit elsewhere' });
    const { body } = request;
    const context = incomingTraceContext(request.headers);
    // An array is one enqueue call: one group commit, all or nothing (one bad job: 400, no row).
    if (Array.isArray(body)) return reply.code(202).send({ jobs: await withCorrelation(context, () => jobs.enqueue(body)) });
    const [job] = await withCorrelation(context, () => jobs.enqueue([body]));
    return reply.code(job!.created ? 202 : 200).header('location', `/jobs/${job!.id}`).send(job);
  });

  app.get<{ Params: { id: string } }>('/jobs/:id', { schema: { params: jobIdParams } }, async (request, reply) => {
    const job = await jobs.get(request.params.id);
    if (job === null) return reply.code(404).send({ error: 'not_found', reason: `no job ${request.params.id}` });
    return job;
  });

  app.post<{ Params: { id: string } }>('/jobs/:id/cancel', { schema: { params: jobIdParams }, onRequest: guard }, async (request, reply) => {
    const job = await jobs.cancel(request.params.id);
    if (job === null) return reply.code(404).send({ error: 'not_found', reason: `no job ${request.params.id}` });
    return job;
  });

  app.get('/queues', async () => ({ queues: await jobs.queues({ timeoutMs: 2000 }) }));
}

/**
 * The caller's W3C trace context: the job becomes a child span of it (same trace id, new span id).
 * A malformed or repeated traceparent is ignored and the job starts a new trace, as W3C Trace Context
 * asks of a receiver (§3.2: restart the trace rather than fail the request). The tracestate goes on
 * with a valid traceparent, unchanged; it is dropped when malformed and ignored without a parent (§3.3).
 */
function incomingTraceContext(headers: IncomingHttpHeaders): { traceparent?: string; tracestate?: string } {
  const { traceparent, tracestate } = headers;
  if (typeof traceparent !== 'string' || parseTraceparent(traceparent) === null) return {};
  const state = typeof tracestate === 'string' ? checkTracestate(tracestate) : null;
  return state === null ? { traceparent: traceparent.trim().toLowerCase() } : { traceparent: traceparent.trim().toLowerCase(), tracestate: state };
}
