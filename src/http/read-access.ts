/**
 * What a reader without the token sees. Job ids are sequential, so anyone who can reach the port
 * could walk `GET /jobs/1, 2, 3…`: payloads, results and error texts (which often quote the payload)
 * are shown only to a request carrying the bearer token, or to everyone when the deployment opted
 * into public reads (`PITBOSS_PUBLIC_READS`). State, timings, attempts and error types stay visible:
 * the status page keeps drawing counts and failures without a token.
 *
 * Applied as one `preSerialization` hook on the two read routes that carry job details, so the
 * routes themselves stay unaware of it and a new field cannot slip past in one of them.
 */
import type { FastifyRequest } from 'fastify';
import type { ActionRecord, JobDetails } from '../jobs/types.ts';
import type { Refusal } from './auth.ts';

/** Tells the client what was left out and how to see it. */
const HIDDEN_REASON = 'payload, result, error texts and non-numeric progress need the bearer token (or PITBOSS_PUBLIC_READS=true)';

type ErrorLike = { readonly type: string; readonly message: string | null } | null;
const typeOnly = (error: ErrorLike): ErrorLike => (error === null ? null : { type: error.type, message: null });

/** A job's details without payload, result and error texts; progress only as a number (a JSON value may quote the data). */
function hideJobDetails(job: JobDetails): Record<string, unknown> {
  return {
    ...job, payload: null, result: null, error: typeOnly(job.error), progress: typeof job.progress === 'number' ? job.progress : null,
    actions: job.actions.map((a: ActionRecord) => ({ ...a, error: null })), hidden: HIDDEN_REASON,
  };
}

interface StatusData {
  readonly recentJobs: readonly { readonly error: string | null }[];
  readonly failures: readonly { readonly error: ErrorLike }[];
}

/** The status page's data without error texts (recent jobs keep the error type, before its ": "). */
function hideStatusDetails(data: StatusData): Record<string, unknown> {
  return {
    ...data,
    recentJobs: data.recentJobs.map((j) => ({ ...j, error: j.error === null ? null : j.error.split(':', 1)[0]! })),
    failures: data.failures.map((f) => ({ ...f, error: typeOnly(f.error) })),
    hidden: HIDDEN_REASON,
  };
}

/** The hook: strips details from `GET /jobs/:id` and `GET /status/data` for readers without access. */
export function readAccessHook(check: (request: FastifyRequest) => Refusal, publicReads: boolean) {
  return async (request: FastifyRequest, _reply: unknown, payload: unknown): Promise<unknown> => {
    if (publicReads || request.method !== 'GET' || payload === null || typeof payload !== 'object') return payload;
    const route = request.routeOptions.url;
    if (route !== '/jobs/:id' && route !== '/status/data') return payload;
    // A 404 or error body carries no job details.
    if (!('id' in payload) && !('recentJobs' in payload)) return payload;
    if (check(request) === null) return payload;
    return route === '/jobs/:id' ? hideJobDetails(payload as JobDetails) : hideStatusDetails(payload as StatusData);
  };
}
