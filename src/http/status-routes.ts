/**
 * The status page: `GET /` redirects to `GET /status`, a static page that polls `GET /status/data`
 * (JSON) every 1.5 s and redraws in place. Everything is served from this process — page, script and
 * stylesheet — under a Content-Security-Policy that allows nothing else, so the page works on an
 * air-gapped host and injected markup could not run even if escaping failed somewhere.
 *
 * Reading is open like `/metrics` and `/queues`, but error texts only reach a request with the
 * token (read-access.ts; the page sends the token once the operator typed it); changing rules goes
 * through the guarded control API with that token.
 */
import type { FastifyInstance } from 'fastify';
import { logCategories, logLevelNames } from '../log/levels.ts';
import { redactUrl } from '../log/redact-url.ts';
import type { FinishedHistory } from '../jobs/store/history.ts';
import type { StoreOverview } from '../jobs/store/overview.ts';
import type { QueueStats } from '../jobs/types.ts';
import { catalog } from '../telemetry/catalog.ts';
import type { BoardPool, StatusBoard } from './status-board.ts';
import { QueueDepthSampler } from './queue-depth-sampler.ts';
import { FinishedHistoryCache } from './status-history.ts';
import { statusAssets } from './status-page.ts';

/** Where the page's data comes from; the deployment wires these. */
export interface StatusSources {
  readonly supervisorId: string;
  readonly board: StatusBoard;
  readonly pools: () => readonly BoardPool[];
  /** Queue → the pool that runs it. */
  readonly queuePools: Readonly<Record<string, string>>;
  readonly queues: () => Promise<readonly QueueStats[]>;
  readonly overview: () => Promise<StoreOverview>;
  /** Jobs finished per queue and minute (store.overview.history): the charts. */
  readonly finished: (read: { since: Date | null; closedOnly: boolean }) => Promise<FinishedHistory>;
  /** A supervisor whose heartbeat is older than this is shown as silent (the reconciler's TTL; default 15 000). */
  readonly heartbeatTtlMs?: number;
}

/** Fleet-wide reads are shared by every viewer for this long: ten open tabs cost the database what one does. */
const SHARED_READ_MS = 1000;

const securityHeaders = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

/** Names the control form offers: event names and their prefixes, log categories and levels. */
function controlVocabulary() {
  const names = Object.keys(catalog);
  const prefixes = new Set<string>(['*']);
  for (const name of names) {
    const parts = name.split('.');
    for (let i = 1; i < parts.length; i++) prefixes.add(`${parts.slice(0, i).join('.')}.*`);
  }
  return { patterns: [...prefixes, ...names], logCategories, logLevels: logLevelNames };
}

export function registerStatusRoutes(app: FastifyInstance, sources: StatusSources): void {
  const startedAt = new Date();
  const vocabulary = controlVocabulary();
  const assets = statusAssets();
  let shared: { at: number; read: Promise<FleetRead> } | null = null;
  const depth = new QueueDepthSampler(sources.queues);
  const history = new FinishedHistoryCache({ finished: sources.finished, depth, knownQueues: Object.keys(sources.queuePools) });
  // Sampling runs while the server does: from listen (or the first inject) to close.
  app.addHook('onReady', async () => depth.start());
  app.addHook('onClose', async () => depth.stop());

  const fleet = (): Promise<FleetRead> => {
    const now = Date.now();
    if (shared === null || now - shared.at >= SHARED_READ_MS) {
      const read = readFleet(sources);
      // Each fleet read is also a depth sample: while someone looks, the sampler's own timer rests.
      void read.then((r) => { if (r.queuesRead) depth.record(r.queues); });
      shared = { at: now, read };
    }
    return shared.read;
  };

  app.get('/', async (_request, reply) => reply.redirect('/status'));
  app.get('/status', async (_request, reply) => reply.headers(securityHeaders).type('text/html; charset=utf-8').send(assets.html));
  app.get<{ Params: { module: string } }>('/status/:module', async (request, reply) => {
    const script = assets.scripts.get(request.params.module);
    if (script === undefined) return reply.code(404).send({ error: 'not_found', reason: `no status page asset ${request.params.module}` });
    return reply.headers(securityHeaders).type('text/javascript; charset=utf-8').send(script);
  });
  app.get('/status/app.css', async (_request, reply) => reply.headers(securityHeaders).type('text/css; charset=utf-8').send(assets.css));
  app.get('/status/data', async (_request, reply) => {
    const { queues, overview, problems } = await fleet();
    const { board } = sources;
    const body = {
      generatedAt: new Date().toISOString(),
      supervisor: { id: sources.supervisorId, startedAt: startedAt.toISOString(), uptimeMs: Date.now() - startedAt.getTime() },
      pools: board.pools(sources.pools()),
      queues: queues.map((q) => ({ ...q, pool: sources.queuePools[q.queue] ?? null, ...board.rates(q.queue) })),
      recentJobs: board.recentJobs(),
      failures: overview?.failures ?? [],
      supervisors: overview?.supervisors ?? [],
      heartbeatTtlMs: sources.heartbeatTtlMs ?? 15_000,
      workerEvents: overview?.workerEvents ?? [],
      problems,
      vocabulary,
    };
    return reply.headers(securityHeaders).send(body);
  });
  app.get('/status/history', async (_request, reply) => reply.headers(securityHeaders).send(await history.read()));
}

interface FleetRead {
  readonly queues: readonly QueueStats[];
  readonly queuesRead: boolean;
  readonly overview: StoreOverview | null;
  readonly problems: readonly string[];
}

/** Both reads at once; a failing one leaves its part empty and says why, the page still draws. */
async function readFleet(sources: StatusSources): Promise<FleetRead> {
  const [queues, overview] = await Promise.allSettled([sources.queues(), sources.overview()]);
  const problems: string[] = [];
  if (queues.status === 'rejected') problems.push(`queue counts unavailable: ${messageOf(queues.reason)}`);
  if (overview.status === 'rejected') problems.push(`store overview unavailable: ${messageOf(overview.reason)}`);
  return {
    queues: queues.status === 'fulfilled' ? queues.value : [],
    queuesRead: queues.status === 'fulfilled',
    overview: overview.status === 'fulfilled' ? overview.value : null,
    problems,
  };
}

const messageOf = (error: unknown): string => redactUrl(error instanceof Error ? error.message : String(error)).slice(0, 300);
