/**
 * A deployment: the pools a supervisor runs and the queues that feed them. Files in `supervisors/`
 * default-export one; `pitboss start <file>` (or `npm start` for supervisors/main.ts) runs it with
 * the environment's configuration.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PoolOptions } from '../pool/options.ts';
import { PitbossError } from '../errors/classes.ts';
import { rateLimitProblem } from '../jobs/dispatch/rate-limit.ts';
import type { RateLimit } from '../jobs/types.ts';
import { checkSchedule, type ScheduleInput } from '../jobs/schedules/spec.ts';
import { DEFAULT_MAX_PAYLOAD_BYTES, isQueueName } from '../jobs/store/validate.ts';

/** One pool of the deployment (telemetry and logger are supplied by the runtime). */
export type DeploymentPool = Omit<PoolOptions, 'telemetry' | 'logger' | 'onLog'>;

/** What a deployment file declares: its pools (with worker modules), the queues each consumes, and options. */
export interface DeploymentSpec {
  readonly pools: readonly DeploymentPool[];
  /**
   * Queue name → the pool that runs its jobs, how many at once, and optionally a rate limit: at most
   * `max` job starts per `perMs` (fleet-wide with Redis, in this process when embedded).
   */
  readonly queues: Readonly<Record<string, { readonly pool: string; readonly concurrency?: number; readonly rateLimit?: RateLimit }>>;
  /**
   * Queues `POST /jobs` takes without a consumer in the fleet (default none; `'*'` any): jobs for
   * a consumer deployed elsewhere or later. Others are refused with PITBOSS_UNKNOWN_QUEUE.
   */
  readonly acceptQueues?: readonly string[] | '*';
  /**
   * Cron schedules: name → `{ cron, queue, name, data?, timezone?, missed? }`. Upserted into the
   * store at each start (source `deployment`); the fleet fires each tick once. See docs/jobs.md#schedules.
   */
  readonly schedules?: Readonly<Record<string, ScheduleInput>>;
}

/** A checked deployment, as `defineDeployment` returns it and `pitboss start <file>` runs it. */
export interface Deployment extends DeploymentSpec {
  readonly kind: 'pitboss.deployment';
}

/** Declares a deployment, checking that every queue names a defined pool. */
export function defineDeployment(spec: DeploymentSpec): Deployment {
  const pools = new Set(spec.pools.map((p) => p.name));
  if (pools.size !== spec.pools.length) throw new PitbossError('PITBOSS_INVALID_CONFIG', 'deployment.pools: pool names must be unique');
  for (const [queue, { pool, concurrency, rateLimit }] of Object.entries(spec.queues)) {
    if (!pools.has(pool)) throw new PitbossError('PITBOSS_INVALID_CONFIG', `deployment.queues.${queue}.pool: no pool named ${JSON.stringify(pool)}`);
    if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
      throw new PitbossError('PITBOSS_INVALID_CONFIG', `deployment.queues.${queue}.concurrency must be a positive integer`);
    }
    const problem = rateLimit === undefined ? null : rateLimitProblem(`deployment.queues.${queue}.rateLimit`, rateLimit);
    if (problem !== null) throw new PitbossError('PITBOSS_INVALID_CONFIG', problem);
  }
  const accept = spec.acceptQueues;
  if (accept !== undefined && accept !== '*') {
    if (!Array.isArray(accept)) throw new PitbossError('PITBOSS_INVALID_CONFIG', `deployment.acceptQueues must be an array of queue names or '*'`);
    accept.forEach((queue, i) => {
      if (!isQueueName(queue)) throw new PitbossError('PITBOSS_INVALID_CONFIG', `deployment.acceptQueues[${i}] must be 1..128 characters of [A-Za-z0-9_.-] starting with a letter or digit, got ${JSON.stringify(queue)}`);
    });
  }
  const schedules = spec.schedules;
  if (schedules !== undefined) {
    if (typeof schedules !== 'object' || schedules === null || Array.isArray(schedules)) {
      throw new PitbossError('PITBOSS_INVALID_CONFIG', 'deployment.schedules must be an object of schedule name → { cron, queue, name, data?, timezone?, missed? }');
    }
    // The queue is checked at start, against what the fleet consumes (a producer's schedule may feed another supervisor's queue).
    for (const [name, input] of Object.entries(schedules)) checkSchedule(`deployment.schedules.${name}`, name, input, DEFAULT_MAX_PAYLOAD_BYTES);
  }
  return { kind: 'pitboss.deployment', ...spec };
}

export function isDeployment(value: unknown): value is Deployment {
  return typeof value === 'object' && value !== null && (value as Deployment).kind === 'pitboss.deployment';
}

/** Worker module extensions, in the order tried: source first when running from source, the build first from dist/. */
const fromSourceExtensions = ['.ts', '.mts', '.js', '.mjs'];
const fromBuildExtensions = ['.js', '.mjs', '.ts', '.mts'];

/**
 * A worker module next to a deployment file: `workerModule('../workers/hash', import.meta.url)`
 * resolves to the `.ts` source when running from source and the `.js` build when running from dist/
 * (`.mts`/`.mjs` too: an ES module package's worker is often `.mjs`). A path that names its
 * extension is taken as it is.
 */
export function workerModule(relative: string, from: string): URL {
  const extensions = /\.(m|c)?ts$/.test(from) ? fromSourceExtensions : fromBuildExtensions;
  const candidates = /\.(m|c)?(j|t)s$/.test(relative) ? [''] : extensions;
  for (const ext of candidates) {
    const url = new URL(`${relative}${ext}`, from);
    if (existsSync(fileURLToPath(url))) return url;
  }
  const tried = candidates.length === 1 ? relative : `${relative}(${extensions.join('|')})`;
  throw new PitbossError('PITBOSS_INVALID_CONFIG', `workerModule: no worker module ${tried} next to ${from}`);
}
