/**
 * The default deployment (`npm start`): a pool of the hashing workload fed by the `hash` queue.
 * On the embedded default (no DATABASE_URL, no REDIS_URL) it needs no services; with them set the
 * same file runs as one of a fleet of supervisors.
 */
import { availableParallelism } from 'node:os';
import { defineDeployment, workerModule } from '../src/deploy/define.ts';

const threads = Number(process.env.PITBOSS_THREADS ?? Math.max(1, availableParallelism()));

export default defineDeployment({
  pools: [{
    name: 'cpu',
    worker: workerModule('../workers/hash', import.meta.url),
    threads,
    maxQueue: threads * 64,
    taskTimeoutMs: 60_000,
    recycle: { maxTasks: 10_000, maxHeapBytes: 256 * 1024 * 1024 },
    // A runaway job dies at 512 MB of heap (its thread is replaced, the job fails with reason oom)
    // instead of growing its thread towards the process's own heap limit.
    resourceLimits: { maxOldGenerationSizeMb: 512 },
    statusIntervalMs: 5000,
    sampleIntervalMs: 5000,
  }],
  queues: {
    hash: { pool: 'cpu', concurrency: threads * 2 },
  },
});
