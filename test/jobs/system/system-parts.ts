/**
 * What the JobSystem suites (suite.ts, search-suite.ts, progress-timeout-suite.ts) share around one
 * running system: waiting for a job to get somewhere, and taking the system down after the file.
 */
import { rmSync } from 'node:fs';
import type { JobSystem } from '../../../src/index.ts';
import type { JobDetails, JobStatus } from '../../../src/jobs/types.ts';
import type { Pool } from '../../../src/pool/pool.ts';
import type { SystemBackend } from './backends.ts';
import type { Timeline } from './timeline.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls the job until `done` holds of it; fails after `timeoutMs` with `describe(last seen)`. */
export async function waitForJob(
  system: JobSystem, id: string, done: (job: JobDetails | null) => boolean, timeoutMs: number, describe: (job: JobDetails | null) => string,
): Promise<JobDetails> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await system.get(id);
    if (done(found)) return found!;
    if (Date.now() > deadline) throw new Error(describe(found));
    await sleep(10);
  }
}

/** Polls the job until it has `status`. */
export function waitForStatus(system: JobSystem, id: string, status: JobStatus, timeoutMs = 15_000): Promise<JobDetails> {
  return waitForJob(system, id, (job) => job?.status === status, timeoutMs, (job) => `job ${id} is ${job?.status ?? 'missing'} after ${timeoutMs} ms, not ${status}`);
}

/** Stops what a suite's beforeAll started, each part only if it got that far. */
export async function tearDownSystem(parts: { system?: JobSystem; pool?: Pool; backend?: SystemBackend; timeline?: Timeline; tmp?: string }): Promise<void> {
  await parts.system?.stop(5_000);
  await parts.pool?.close({ timeoutMs: 2_000 });
  await parts.backend?.close();
  parts.timeline?.stop();
  if (parts.tmp !== undefined) rmSync(parts.tmp, { recursive: true, force: true });
}
