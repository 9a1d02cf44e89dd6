/**
 * The operator's job routes (issue 18): list and search jobs (`GET /jobs`), retry one job
 * (`POST /jobs/:id/retry`) or every dead, failed or cancelled job matching a filter
 * (`POST /jobs/retry`). All need the control token: a listing shows every job's error text and
 * correlation, and a retry runs code again.
 */
import type { FastifyInstance } from 'fastify';
import type { JobStatus } from '../jobs/types.ts';
import { LIST_LIMIT } from '../jobs/store/search.ts';
import type { RouteGuard } from './auth.ts';
import type { HttpServerOptions } from './options.ts';
import { jobIdParams, jobListQuery, retryFilterBody } from './schemas.ts';

interface ListQuery {
  queue?: string;
  state?: JobStatus;
  name?: string;
  since?: string;
  until?: string;
  limit?: string;
  cursor?: string;
}

interface RetryBody {
  state: 'dead' | 'failed' | 'cancelled';
  queue?: string;
  name?: string;
  errorType?: string;
  since?: string;
  limit?: number;
}

const badRequest = (reason: string): { error: string; reason: string } => ({ error: 'bad_request', reason });

export function registerJobSearchRoutes(app: FastifyInstance, options: HttpServerOptions, guard: RouteGuard): void {
  const { jobs } = options;

  app.get<{ Querystring: ListQuery }>('/jobs', { schema: { querystring: jobListQuery }, onRequest: guard }, async (request, reply) => {
    const { queue, state, name, since, until, limit, cursor } = request.query;
    const size = limit === undefined ? undefined : Number(limit);
    if (size !== undefined && size > LIST_LIMIT.max) return reply.code(400).send(badRequest(`querystring/limit must be at most ${LIST_LIMIT.max}, got ${size}`));
    // A bad cursor is the store's PITBOSS_INVALID_JOB (field cursor): a 400 through the error handler.
    return jobs.list({
      ...(queue === undefined ? {} : { queue }), ...(state === undefined ? {} : { status: state }), ...(name === undefined ? {} : { name }),
      ...(since === undefined ? {} : { since: new Date(since) }), ...(until === undefined ? {} : { until: new Date(until) }),
      ...(size === undefined ? {} : { limit: size }), ...(cursor === undefined ? {} : { cursor }),
    });
  });

  app.post<{ Params: { id: string } }>('/jobs/:id/retry', { schema: { params: jobIdParams }, onRequest: guard }, async (request, reply) => {
    // Not retryable (queued, running, completed) is PITBOSS_JOB_NOT_RETRYABLE: a 409 through the error handler.
    const job = await jobs.retry(request.params.id);
    if (job === null) return reply.code(404).send({ error: 'not_found', reason: `no job ${request.params.id}` });
    return job;
  });

  app.post<{ Body: RetryBody }>('/jobs/retry', { schema: { body: retryFilterBody }, onRequest: guard }, async (request) => {
    const { state, since, ...rest } = request.body;
    return jobs.retryWhere({ status: state, ...rest, ...(since === undefined ? {} : { since: new Date(since) }) });
  });
}
