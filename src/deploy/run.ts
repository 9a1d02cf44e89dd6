/**
 * Runs a deployment: opens the store (Postgres or embedded PGlite) and dispatch (BullMQ or local),
 * builds the supervision tree (pools, the job system, the HTTP server), metrics, logs and fleet
 * control, and stops it all in order — draining jobs first — on `stop()` or SIGTERM/SIGINT.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { PitbossConfig } from '../config.ts';
import { FleetSettingsSync } from '../fleet/settings-sync.ts';
import { buildHttpServer } from '../http/server.ts';
import { StatusBoard } from '../http/status-board.ts';
import { registerStatusRoutes } from '../http/status-routes.ts';
import { LocalDispatcher } from '../jobs/dispatch/local.ts';
import { JobStore } from '../jobs/store/index.ts';
import { JobSystem } from '../jobs/system.ts';
import type { RetentionOptions } from '../jobs/pruner.ts';
import type { Dispatcher } from '../jobs/types.ts';
import { attachEventLogs } from '../log/event-logs.ts';
import { LogLevels } from '../log/levels.ts';
import { PitbossLogger, redactUrl } from '../log/logger.ts';
import { createMetrics, type Metrics } from '../metrics/index.ts';
import { SupervisedPool } from '../pool/supervised.ts';
import { Supervisor } from '../supervision/supervisor.ts';
import type { ChildSpec } from '../supervision/types.ts';
import type { IntensityExceededError } from '../errors/classes.ts';
import type { Telemetry } from '../telemetry/bus.ts';
import { telemetry as sharedTelemetry } from '../telemetry/default.ts';
import type { Deployment } from './define.ts';
import { recordWorkerLifecycle } from './worker-events.ts';

/** A deployment that is up. */
export interface RunningDeployment {
  readonly supervisorId: string;
  /** `http://host:port` of the HTTP server. */
  readonly url: string;
  readonly jobs: JobSystem;
  readonly store: JobStore;
  readonly dispatcher: Dispatcher;
  readonly pools: readonly SupervisedPool[];
  /** Telemetry rules and log levels, applied here and kept in step across the fleet (what `/control/*` serves). */
  readonly control: FleetSettingsSync;
  readonly metrics: Metrics;
  readonly logger: PitbossLogger;
  readonly telemetry: Telemetry;
  readonly http: FastifyInstance;
  readonly supervisor: Supervisor;
  /** Stops claiming jobs and refuses submissions (503); readiness turns false. In-flight jobs continue. */
  drain(): Promise<void>;
  /** Drains, finishes in-flight jobs within the shutdown timeout, and stops everything. Idempotent. */
  stop(reason?: string): Promise<void>;
  /**
   * Resolves once the deployment is down: `stopped` after `stop()` (or a signal), `failed` when its
   * root supervisor gave up (restart intensity exceeded). A failed deployment has already logged
   * `supervision_failed` and closed what it could within the shutdown timeout; the CLI then exits
   * non-zero so an orchestrator restarts the process, as an OTP node ends when its top application dies.
   */
  readonly exited: Promise<DeploymentExit>;
}

/** How a deployment ended. */
export type DeploymentExit = { readonly kind: 'stopped'; readonly reason: string } | { readonly kind: 'failed'; readonly error: Error };

export interface RunOptions {
  /** Bus to report on (default: the shared `telemetry`). */
  readonly telemetry?: Telemetry;
  /** Log destination (default stdout). */
  readonly logDestination?: NodeJS.WritableStream;
  /** Stop on SIGTERM/SIGINT and exit (default false; the CLI turns it on). */
  readonly handleSignals?: boolean;
}

/** Starts a deployment: store, dispatch, pools, job system and HTTP server, under one root supervisor (what `pitboss start` runs). */
export async function startDeployment(deployment: Deployment, config: PitbossConfig, options: RunOptions = {}): Promise<RunningDeployment> {
  const bus = options.telemetry ?? sharedTelemetry;
  const supervisorId = config.supervisorId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
  const levels = new LogLevels(config.logLevel);
  const logger = new PitbossLogger({ levels, base: { supervisor_id: supervisorId }, ...(options.logDestination ? { destination: options.logDestination } : {}) });
  const detachLogs = attachEventLogs(bus, logger);
  // BullMQ and ioredis cost ~250 ms of module loading (measured from dist/): the embedded default,
  // which dispatches in-process, never loads them.
  const bullmq = config.redisUrl === null ? null : await import('../jobs/dispatch/bullmq.ts');
  const store = await JobStore.open({ url: config.databaseUrl, dataDir: config.dataDir, telemetry: bus });
  // A dead supervisor's BullMQ jobs stay "active" (a re-add of their ids is a no-op) until their lock
  // lapses and stalled recovery runs: the lock is the heartbeat's twin, so both follow the TTL.
  const dispatcher: Dispatcher = config.redisUrl === null || bullmq === null ? new LocalDispatcher() : new bullmq.BullmqDispatcher({
    url: config.redisUrl, telemetry: bus, lockDurationMs: config.heartbeatTtlMs, stalledIntervalMs: config.heartbeatTtlMs, batchSize: config.dispatchBatch,
  });
  const pools = deployment.pools.map((spec) => new SupervisedPool({ ...spec, telemetry: bus, logger }, { shutdownMs: config.shutdownTimeoutMs }));
  const poolByName = new Map(pools.map((p) => [p.name, p]));
  const queues = Object.fromEntries(Object.entries(deployment.queues).map(([queue, q]) => [queue, { pool: poolByName.get(q.pool)!, concurrency: q.concurrency ?? 4, ...(q.rateLimit === undefined ? {} : { rateLimit: q.rateLimit }) }]));
  const jobs = new JobSystem({
    store, dispatcher, queues, telemetry: bus, supervisorId, ...(deployment.acceptQueues === undefined ? {} : { acceptQueues: deployment.acceptQueues }),
    ...(deployment.schedules === undefined ? {} : { schedules: deployment.schedules }),
    reconcile: {
      heartbeatTtlMs: config.heartbeatTtlMs, intervalMs: config.reconcileIntervalMs,
      onSupervisorIdNotice: (notice) => {
        const { host, pid } = notice.holder;
        if (notice.kind === 'waiting') logger.category('supervisor').warn({ event: 'supervisor_id_held', host, pid, wait_ms: notice.waitMs }, 'supervisor_id_held');
        else logger.category('supervisor').error({ event: 'supervisor_id_shared', host, pid }, 'supervisor_id_shared');
      },
    },
    retention: retentionOf(config),
  });
  const rateLimits = Object.fromEntries(Object.entries(deployment.queues).flatMap(([queue, q]) => (q.rateLimit === undefined ? [] : [[queue, q.rateLimit]])));
  const metrics = createMetrics({ telemetry: bus, stats: () => store.overview.queueStats({ timeoutMs: 1500 }), knownQueues: () => Object.keys(deployment.queues), rateLimits: () => rateLimits, otlp: config.otlpMetricsUrl === null ? false : { url: config.otlpMetricsUrl } });
  const settings = new FleetSettingsSync({ bus, levels, store: store.settings, pools: () => pools });
  const detachWorkerEvents = recordWorkerLifecycle(bus, store.fleet, supervisorId);
  const board = new StatusBoard();
  const detachBoard = board.attach(bus, `pitboss.status_board.${supervisorId}`);
  const queuePools = Object.fromEntries(Object.entries(deployment.queues).map(([queue, q]) => [queue, q.pool]));
  let draining = false;
  const http = buildHttpServer({
    host: config.host, port: config.port, token: config.controlToken, allowUnauthenticatedLoopback: config.allowLocalControl, publicReads: config.publicReads,
    requestTimeoutMs: config.httpRequestTimeoutMs, maxConnections: config.httpMaxConnections,
    waitingBound: { max: config.maxWaitingJobs, count: (queue) => store.jobs.countClaimable(queue) },
    jobs, settings, scrape: () => metrics.scrape(), logger: logger.category('http'),
    readiness: () => ({ store: store.available, storeProblem: store.problem, dispatch: dispatcher.healthy(), draining }),
    extend: (app) => registerStatusRoutes(app, {
      supervisorId, board, pools: () => pools, queuePools,
      queues: () => jobs.queues({ timeoutMs: 1500 }), overview: () => store.overview.read({ limit: 20, timeoutMs: 1500 }),
      finished: (read) => store.overview.history({ ...read, timeoutMs: 1500 }),
      heartbeatTtlMs: config.heartbeatTtlMs,
    }),
  });
  const supervisor = new Supervisor({
    id: supervisorId, strategy: 'one_for_one', intensity: { maxRestarts: 10, periodMs: 60_000 }, telemetry: bus,
    children: [...pools.map((p) => p.childSpec()), jobsChild(jobs, config.shutdownTimeoutMs), httpChild(http, config)],
  });
  /** Closes what stands around the supervision tree, in order; every step runs, the first failure is rethrown. */
  const closeAround = async (): Promise<void> => {
    const failures: unknown[] = [];
    for (const step of [() => settings.stop(), () => metrics.shutdown(), () => dispatcher.close(), () => store.close()]) {
      await step().catch((error: unknown) => { failures.push(error); });
    }
    detachBoard();
    detachWorkerEvents();
    detachLogs();
    if (failures.length > 0) throw failures[0];
  };
  try {
    await settings.start();
    await supervisor.start();
  } catch (error) {
    // A child that cannot start (a port in use, a supervisor id held by a live process): the
    // supervisor has stopped the others; the lock and connections go with the failure.
    await closeAround().catch(() => {});
    throw error;
  }
  const address = http.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.category('supervisor').info({ event: 'deployment_started', url, store: store.backend, database: config.databaseUrl === null ? config.dataDir : redactUrl(config.databaseUrl), dispatch: dispatcher.backend }, 'deployment_started');

  const drain = async (): Promise<void> => {
    draining = true;
    await jobs.drain();
  };
  let settleExited: (exit: DeploymentExit) => void = () => {};
  const exited = new Promise<DeploymentExit>((resolve) => { settleExited = resolve; });
  let stopping: Promise<void> | null = null;
  /** Why the deployment is going down on its own (a store that can never write again), or null. */
  let failure: Error | null = null;
  const stop = (reason = 'stop'): Promise<void> => {
    stopping ??= (async () => {
      try {
        await drain();
        await jobs.stop(config.shutdownTimeoutMs);
        await supervisor.stop(reason);
        await closeAround();
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
        throw error;
      } finally {
        logger.category('supervisor').info({ event: 'deployment_stopped', reason }, 'deployment_stopped');
        logger.flush();
        settleExited(failure === null ? { kind: 'stopped', reason } : { kind: 'failed', error: failure });
      }
    })();
    return stopping;
  };
  const fail = (error: Error): void => {
    stopping ??= failDeployment(error, { logger, config, closeAround, setDraining: () => { draining = true; } }).then(() => settleExited({ kind: 'failed', error }));
  };
  // The root supervisor gave up: its children (pools, jobs, HTTP) are already stopped by it.
  void supervisor.exited.then((exit) => { if (exit.kind === 'crash') fail(exit.error instanceof Error ? exit.error : new Error(String(exit.error))); });
  // A store that can never write again (embedded PGlite after a PANIC): stop as SIGTERM does, bounded
  // by the shutdown timeout, and end failed, so the CLI exits non-zero and an orchestrator restarts it.
  void store.failed.then((error) => {
    logger.root.fatal({ event: 'store_failed', err: error }, 'store_failed');
    failure ??= error;
    stop('store_failed').catch(() => {});
  });
  if (options.handleSignals === true) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        // During a failure's shutdown, `stop` joins it, and the exit code stays non-zero.
        stop(signal).then(() => exited).then((exit) => process.exit(exit.kind === 'failed' ? 1 : 0), (error: unknown) => {
          logger.root.fatal({ event: 'shutdown_failed', err: error }, 'shutdown_failed');
          logger.flush();
          process.exit(1);
        });
      });
    }
  }
  return { supervisorId, url, jobs, store, dispatcher, pools, control: settings, metrics, logger, telemetry: bus, http, supervisor, drain, stop, exited };
}

/**
 * The root supervisor failed: say why (which child, its latest failures, the cause chain), then close
 * what stands around the tree — control, metrics, dispatch, the store — within the shutdown timeout;
 * what is still open past it is abandoned, as the process is about to end.
 */
async function failDeployment(error: Error, context: { logger: PitbossLogger; config: PitbossConfig; closeAround: () => Promise<void>; setDraining: () => void }): Promise<void> {
  const { logger, config, closeAround } = context;
  context.setDraining();
  const { child, failures } = error as Partial<IntensityExceededError>;
  logger.category('supervisor').error({
    event: 'supervision_failed', child, failures, error: error.message, causes: causeChain(error), shutdown_timeout_ms: config.shutdownTimeoutMs,
  }, 'supervision_failed');
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<string>((resolve) => { timer = setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs); });
  const closed = await Promise.race([closeAround().then(() => 'closed', (cause: unknown) => `failed: ${String(cause)}`), expired]);
  clearTimeout(timer);
  logger.category('supervisor').error({ event: 'deployment_failed', close: closed }, 'deployment_failed');
  logger.flush();
}

/** Messages of an error's `cause` chain below it (a root's failure caused by a pool's, caused by a thread's). */
function causeChain(error: Error): string[] {
  const chain: string[] = [];
  for (let cause: unknown = error.cause; cause !== undefined && cause !== null && chain.length < 5; cause = (cause as { cause?: unknown }).cause) {
    chain.push(cause instanceof Error ? cause.message : String(cause));
  }
  return chain;
}

function jobsChild(jobs: JobSystem, shutdownMs: number): ChildSpec {
  return {
    id: 'jobs', restart: 'temporary', shutdownMs,
    start: async () => {
      await jobs.start();
      let exited: (value: { kind: 'shutdown' }) => void = () => {};
      return {
        exited: new Promise((resolve) => { exited = resolve; }),
        stop: async () => {
          await jobs.stop(shutdownMs);
          exited({ kind: 'shutdown' });
        },
      };
    },
  };
}

function httpChild(http: FastifyInstance, config: PitbossConfig): ChildSpec {
  return {
    id: 'http', restart: 'temporary', shutdownMs: 5000,
    start: async () => {
      await http.listen({ host: config.host, port: config.port });
      let exited: (value: { kind: 'shutdown' }) => void = () => {};
      return {
        exited: new Promise((resolve) => { exited = resolve; }),
        stop: async () => {
          await http.close();
          exited({ kind: 'shutdown' });
        },
      };
    },
  };
}

/** Days from the environment as the job system's retention (0: keep for ever). */
function retentionOf(config: PitbossConfig): RetentionOptions {
  const ms = (days: number): number | null => (days === 0 ? null : days * 24 * 60 * 60 * 1000);
  return { completedMs: ms(config.retentionDays), cancelledMs: ms(config.retentionDays), fleetHistoryMs: ms(config.retentionDays), deadMs: ms(config.retentionDeadDays) };
}
