/**
 * Pool options: what users write, the defaults, and validation that fails fast naming the key.
 */
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { PoolError } from '../errors/pool.ts';
import type { Telemetry } from '../telemetry/bus.ts';
import type { ThreadLogRecord } from '../log/record.ts';
import type { Intensity } from '../supervision/types.ts';
import type { PitbossLogger } from '../log/logger.ts';
import type { RecycleLimits } from './wire/protocol.ts';

/** When a thread is replaced on purpose. Each limit is optional (null: no limit); threads enforce them (RecycleLimits). */
export type RecycleOptions = RecycleLimits;


/** Options of a supervised pool of worker threads. */
export interface PoolOptions {
  /** Pool name: the `pool` label of every event. */
  name: string;
  /** The worker module: a path (absolute, or relative to the working directory) or a file URL. */
  worker: string | URL;
  /** Threads kept alive (default: available parallelism). */
  threads?: number;
  /** Tasks that may wait for a thread before `run` rejects with `PoolSaturatedError` (default threads × 64). */
  maxQueue?: number;
  /** A queued task waiting longer rejects with `QueueTimeoutError` (default: none). */
  queueTimeoutMs?: number | null;
  /** A running task past this aborts `ctx.signal`; `killGraceMs` later its thread is terminated (default: none). */
  taskTimeoutMs?: number | null;
  /** Grace between the soft deadline and terminating the thread (default 1000). */
  killGraceMs?: number;
  /** V8 limits of each thread (an exceeded heap kills the thread, which is replaced). */
  resourceLimits?: ResourceLimits;
  recycle?: Partial<RecycleOptions>;
  /** Unplanned thread restarts allowed: more than `maxRestarts` within `periodMs` fails the pool (default 10 in 60 s). */
  intensity?: Intensity;
  /** Period of `pool.status` (default 5000; null: off). */
  statusIntervalMs?: number | null;
  /** Period of `worker.memory.sampled` and `worker.cpu.sampled` (default 5000; null: off). */
  sampleIntervalMs?: number | null;
  /** Bus the pool reports on (default: the shared `telemetry`). */
  telemetry?: Telemetry;
  /** Event transport from threads. */
  transport?: { batchEvents?: number; maxPendingBatches?: number; flushIntervalMs?: number };
  /**
   * Chunked dispatch (see src/pool/chunks.ts): while tasks average at most `maxTaskMs` (default 1)
   * and queue up, a free thread takes up to `maxTasks` (default 8; 1 turns it off) queued tasks at once.
   */
  chunking?: { maxTasks?: number; maxTaskMs?: number };
  /** Writes `ctx.log` lines from worker code and sets their levels (default: the process-wide logger). */
  logger?: PitbossLogger;
  /** Receives `ctx.log` lines instead of the logger (levels still come from the logger). */
  onLog?: (record: ThreadLogRecord, origin: { pool: string; worker_id: number }) => void;
}

/** Options with every default applied. */
export interface ResolvedPoolOptions {
  readonly name: string;
  readonly workerUrl: string;
  readonly threads: number;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number | null;
  readonly taskTimeoutMs: number | null;
  readonly killGraceMs: number;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly recycle: RecycleOptions;
  readonly intensity: Intensity;
  readonly statusIntervalMs: number | null;
  readonly sampleIntervalMs: number | null;
  readonly batchEvents: number;
  readonly maxPendingBatches: number;
  readonly flushIntervalMs: number;
  readonly chunkMaxTasks: number;
  readonly chunkMaxTaskMs: number;
}

const positiveInt = (key: string, value: unknown): number => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new PoolError('PITBOSS_INVALID_CONFIG', `${key} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
};
const positiveNumber = (key: string, value: unknown): number => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new PoolError('PITBOSS_INVALID_CONFIG', `${key} must be a positive number, got ${JSON.stringify(value)}`);
  }
  return value;
};
const optionalPositiveInt = (key: string, value: unknown): number | null => (value === undefined || value === null ? null : positiveInt(key, value));

/** Applies defaults and validates, throwing `PITBOSS_INVALID_CONFIG` naming the offending key. */
export function resolvePoolOptions(options: PoolOptions): ResolvedPoolOptions {
  if (typeof options !== 'object' || options === null) throw new PoolError('PITBOSS_INVALID_CONFIG', 'pool options must be an object');
  const { name, worker } = options;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    throw new PoolError('PITBOSS_INVALID_CONFIG', `pool.name must be 1-64 characters of [A-Za-z0-9_.-], got ${JSON.stringify(name)}`);
  }
  const key = (k: string): string => `pool(${name}).${k}`;
  let workerUrl: string;
  if (worker instanceof URL) workerUrl = worker.href;
  else if (typeof worker === 'string' && worker.startsWith('file:')) workerUrl = worker;
  else if (typeof worker === 'string' && worker !== '') workerUrl = pathToFileURL(isAbsolute(worker) ? worker : resolve(worker)).href;
  else throw new PoolError('PITBOSS_INVALID_CONFIG', `${key('worker')} must be a module path or file URL`);
  const threads = options.threads === undefined ? Math.max(1, availableParallelism()) : positiveInt(key('threads'), options.threads);
  const intensity = options.intensity ?? { maxRestarts: 10, periodMs: 60_000 };
  if (typeof intensity.maxRestarts !== 'number' || !Number.isInteger(intensity.maxRestarts) || intensity.maxRestarts < 0) {
    throw new PoolError('PITBOSS_INVALID_CONFIG', `${key('intensity.maxRestarts')} must be an integer ≥ 0`);
  }
  positiveInt(key('intensity.periodMs'), intensity.periodMs);
  const recycle = options.recycle ?? {};
  return {
    name,
    workerUrl,
    threads,
    maxQueue: options.maxQueue === undefined ? threads * 64 : (options.maxQueue === 0 ? 0 : positiveInt(key('maxQueue'), options.maxQueue)),
    queueTimeoutMs: optionalPositiveInt(key('queueTimeoutMs'), options.queueTimeoutMs),
    taskTimeoutMs: optionalPositiveInt(key('taskTimeoutMs'), options.taskTimeoutMs),
    killGraceMs: options.killGraceMs === undefined ? 1000 : (options.killGraceMs === 0 ? 0 : positiveInt(key('killGraceMs'), options.killGraceMs)),
    resourceLimits: options.resourceLimits,
    recycle: {
      maxTasks: optionalPositiveInt(key('recycle.maxTasks'), recycle.maxTasks),
      maxLifetimeMs: optionalPositiveInt(key('recycle.maxLifetimeMs'), recycle.maxLifetimeMs),
      maxHeapBytes: optionalPositiveInt(key('recycle.maxHeapBytes'), recycle.maxHeapBytes),
    },
    intensity,
    statusIntervalMs: options.statusIntervalMs === undefined ? 5000 : optionalPositiveInt(key('statusIntervalMs'), options.statusIntervalMs),
    sampleIntervalMs: options.sampleIntervalMs === undefined ? 5000 : optionalPositiveInt(key('sampleIntervalMs'), options.sampleIntervalMs),
    batchEvents: options.transport?.batchEvents === undefined ? 1024 : positiveInt(key('transport.batchEvents'), options.transport.batchEvents),
    maxPendingBatches: options.transport?.maxPendingBatches === undefined ? 16 : positiveInt(key('transport.maxPendingBatches'), options.transport.maxPendingBatches),
    flushIntervalMs: options.transport?.flushIntervalMs === undefined ? 50 : positiveInt(key('transport.flushIntervalMs'), options.transport.flushIntervalMs),
    chunkMaxTasks: options.chunking?.maxTasks === undefined ? 8 : positiveInt(key('chunking.maxTasks'), options.chunking.maxTasks),
    chunkMaxTaskMs: options.chunking?.maxTaskMs === undefined ? 1 : positiveNumber(key('chunking.maxTaskMs'), options.chunking.maxTaskMs),
  };
}
