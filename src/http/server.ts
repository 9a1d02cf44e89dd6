/**
 * The supervisor's one HTTP server: health, readiness, `/metrics`, the job API, the control API and
 * the status page, on one port (127.0.0.1 by default). Every body and param is schema-validated;
 * errors are 4xx with a reason, never a stack.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { PitbossError } from '../errors/classes.ts';
import { errorCodes, type ErrorStatus } from '../errors/table.ts';
import { requireToken, tokenCheck } from './auth.ts';
import { WaitingBound, waitingBoundHook } from './backpressure.ts';
import type { HttpServerOptions } from './options.ts';
import { readAccessHook } from './read-access.ts';
import { registerTelemetrySettingsRoutes } from './routes-telemetry-settings.ts';
import { registerJobRoutes } from './routes-jobs.ts';
import { registerQueueRoutes } from './routes-queues.ts';
import { registerScheduleRoutes } from './routes-schedules.ts';
import { registerJobSearchRoutes } from './routes-job-search.ts';

/** The `error` word of the JSON body for each status of the error table. */
const statusWords: Readonly<Record<ErrorStatus, string>> = { 400: 'bad_request', 409: 'conflict', 500: 'internal', 503: 'unavailable' };

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
    const status = error instanceof PitbossError ? errorCodes[error.code].status : 500;
    if (status !== 500) {
      // 503: a store or dispatch that cannot take work now; the reason is the operator's answer (a
      // full disk, an unreachable server), and the client's cue to retry later or elsewhere.
      if (status === 503) void reply.header('retry-after', '5');
      return reply.code(status).send({ error: statusWords[status], code: (error as PitbossError).code, reason: error.message });
    }
    // A bug or a failed job: the details go to the log, not to the client.
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
  registerQueueRoutes(app, options.jobs, guard);
  registerScheduleRoutes(app, options, guard);
  registerJobSearchRoutes(app, options, guard);
  registerTelemetrySettingsRoutes(app, options.settings, guard);
  options.extend?.(app, guard);
  return app;
}
