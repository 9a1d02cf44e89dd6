/**
 * The supervisor's one HTTP server: health, readiness, `/metrics`, the job API, the control API and
 * the status page, on one port (127.0.0.1 by default). Every body and param is schema-validated;
 * errors are 4xx with a reason, never a stack.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { errorStatus, PitbossError } from '../errors.ts';
import type { FleetSettingsSync } from '../fleet/settings-sync.ts';
import type { JobSystem } from '../jobs/system.ts';
import { requireToken, tokenCheck } from './auth.ts';
import { WaitingBound, waitingBoundHook } from './backpressure.ts';
import { readAccessHook } from './read-access.ts';
import { registerTelemetrySettingsRoutes } from './routes-telemetry-settings.ts';
import { registerJobRoutes } from './routes-jobs.ts';

/** What the server serves; the deployment wires these. */
export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** Bearer token for control and mutating routes (`PITBOSS_CONTROL_TOKEN`), or null. */
  readonly token: string | null;
  /** With no token: allow those routes when bound to loopback (off unless set). */
  readonly allowUnauthenticatedLoopback: boolean;
  /** Show job payloads, results and error texts without the token (`PITBOSS_PUBLIC_READS`; default false). */
  readonly publicReads?: boolean;
  /** Largest accepted body (default 1 MiB). */
  readonly bodyLimit?: number;
  /** Longest a client may take to send a whole request, headers and body (default 30 000). */
  readonly requestTimeoutMs?: number;
  /** Most open connections; more are closed on accept (default 1000). */
  readonly maxConnections?: number;
  readonly jobs: JobSystem;
  /** Bound on waiting jobs per queue: `POST /jobs` answers 429 at `max` (absent: unbounded). */
  readonly waitingBound?: { readonly max: number; readonly count: (queue: string) => Promise<number>; readonly refreshMs?: number };
  /** Telemetry rules and log levels (the `/control/*` routes). */
  readonly settings: FleetSettingsSync;
  readonly scrape: () => Promise<{ contentType: string; body: string }>;
  /** What readiness depends on; `storeProblem` says why the store is not ready (null when it is). */
  readonly readiness: () => Readiness;
  readonly logger: Logger;
  /** Extra routes (the status page). */
  readonly extend?: (app: FastifyInstance, guard: ReturnType<typeof requireToken>) => void;
}

/** What `/readyz` reports (plus `ready`). */
export interface Readiness {
  readonly store: boolean;
  /** Why the store is down ("only 3 MiB free on …", "connect ECONNREFUSED …"), or null. */
  readonly storeProblem: string | null;
  readonly dispatch: boolean;
  readonly draining: boolean;
}

/** Builds the app (not listening yet; `app.listen` or `app.inject` in tests). */
export function buildHttpServer(options: HttpServerOptions): FastifyInstance {
  // fastify's own request logging is off (one line per request at info); the onResponse hook below
  // logs requests in the http category at debug instead.
  // ajv as a validator, not a fixer: fastify's defaults would silently drop unknown fields and coerce
  // "5" into 5; a client sending those should hear about it.
  // Slow clients: fastify's defaults (requestTimeout 0, no connection cap) let 300 clients trickling
  // a body hold 300 sockets for ever. Node answers 408 to a request not received within
  // requestTimeout, checked every connectionsCheckingInterval (30 s by default, far too coarse for a
  // 30 s bound); an idle socket is closed after connectionTimeout.
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    requestTimeout,
    connectionTimeout: Math.max(requestTimeout, 60_000),
    http: { requestTimeout, headersTimeout: Math.min(requestTimeout, 20_000), connectionsCheckingInterval: Math.max(100, Math.min(5000, Math.floor(requestTimeout / 4))) },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
  });
  app.server.maxConnections = options.maxConnections ?? 1000;
  const guard = requireToken(options);
  app.addHook('preSerialization', readAccessHook(tokenCheck(options), options.publicReads ?? false));
  // A global hook that only acts on POST /jobs, so the job routes stay as they are (see backpressure.ts).
  if (options.waitingBound !== undefined) app.addHook('preHandler', waitingBoundHook(new WaitingBound(options.waitingBound), options.waitingBound.max));

  app.addHook('onResponse', async (request, reply) => {
    options.logger.debug({ event: 'http_request', method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'http_request');
  });
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.validation !== undefined) return reply.code(400).send({ error: 'bad_request', reason: error.message });
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error: 'payload_too_large', reason: error.message });
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: 'bad_request', reason: error.message });
    }
    const status = error instanceof PitbossError ? errorStatus[error.code] : 500;
    if (status === 400) return reply.code(400).send({ error: 'bad_request', code: (error as PitbossError).code, reason: error.message });
    if (status === 409) return reply.code(409).send({ error: 'conflict', code: (error as PitbossError).code, reason: error.message });
    // A store or dispatch that cannot take work now: the reason is the operator's answer (a full
    // disk, an unreachable server), and the client's cue to retry later or elsewhere.
    if (status === 503) return reply.code(503).header('retry-after', '5').send({ error: 'unavailable', code: (error as PitbossError).code, reason: error.message });
    options.logger.error({ event: 'http_error', err: error }, 'http_error');
    return reply.code(500).send({ error: 'internal', reason: 'see the supervisor log' });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not_found', reason: `no route ${request.method} ${request.url}` }));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const state = options.readiness();
    const ready = state.store && state.dispatch && !state.draining;
    return reply.code(ready ? 200 : 503).send({ ready, ...state });
  });
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await options.scrape();
    return reply.type(contentType).send(body);
  });
  registerJobRoutes(app, options, guard);
  registerTelemetrySettingsRoutes(app, options.settings, guard);
  options.extend?.(app, guard);
  return app;
}
