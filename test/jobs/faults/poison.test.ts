/**
 * The product under poison, as a user runs it: `pitboss start` with a deployment at default
 * intensities (pool 10 restarts / 60 s, root 10 / 60 s), fed over HTTP thousands of jobs of which 5 %
 * kill their thread — process.exit, an uncaught async throw, an endless loop past the task deadline,
 * running out of heap — on the embedded default and on Postgres + Redis. The deployment must stay
 * ready throughout; every healthy job completes in its one attempt and runs exactly once (the worker
 * counts its own executions in a file); every poison job ends dead after its two attempts with its
 * crash kind as its error; no thread is leaked. Used to end with the whole deployment down within
 * ~80 s, the process still up, and healthy jobs dead with PoolClosedError.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { PoisonInput } from '../../fixtures/poison-worker.ts';
import { fleetSuite, sleep } from './fleet.ts';
import { SupervisorProcess, type SupervisorEnv } from './supervisor-process.ts';

const JOBS = 2_000;
const POISON_EVERY = 20; // 5 %
const KINDS = ['exit', 'uncaught', 'hang', 'oom'] as const;
const TOKEN = 'fault-test-token-0123456789';
const deployment = fileURLToPath(new URL('../../fixtures/poison-deployment.ts', import.meta.url));

interface JobView { id: string; status: string; attempts: number; error: { type: string; message: string } | null }

/** VmRSS (kB) and thread count of a process, from /proc. */
function processStatus(pid: number): { rssMb: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMb: Math.round(field('VmRSS') / 1024), threads: field('Threads') };
}

async function api<T>(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(base + path, {
    method, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: await response.json() as T };
}

/** Runs `work` over `items` with `concurrency` at once. */
async function inParallel<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const index = next++;
      out[index] = await work(items[index]!, index);
    }
  }));
  return out;
}

async function poisonRun(label: string, supervisor: SupervisorProcess, marks: string): Promise<void> {
  const base = supervisor.url;
  const before = processStatus(supervisor.pid);
  let notReady = 0;
  let probes = 0;
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const ready = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, () => 0);
      probes++;
      if (ready !== 200) notReady++;
      await sleep(250);
    }
  })();
  const started = performance.now();
  const inputs: PoisonInput[] = Array.from({ length: JOBS }, (_, index) => (index % POISON_EVERY === 7
    ? { kind: KINDS[Math.floor(index / POISON_EVERY) % KINDS.length]!, file: marks, index }
    : { kind: 'ok', file: marks, index }));
  const ids = await inParallel(inputs, 8, async (data) => {
    const { status, body } = await api<{ id: string }>(base, 'POST', '/jobs', {
      queue: 'work', name: data.kind === 'ok' ? 'good' : `bad-${data.kind}`, data, maxAttempts: data.kind === 'ok' ? 1 : 2,
    });
    expect(status).toBe(202);
    return body.id;
  });
  // Done when every job is completed or dead (GET /queues counts them).
  const deadline = Date.now() + 240_000;
  for (;;) {
    const { body } = await api<{ queues: { queue: string; completed: number; dead: number }[] }>(base, 'GET', '/queues');
    const work = body.queues.find((q) => q.queue === 'work');
    if (work !== undefined && work.completed + work.dead === JOBS) break;
    if (Date.now() > deadline) throw new Error(`${label}: not finished: ${JSON.stringify(work)}`);
    await sleep(500);
  }
  const elapsedS = (performance.now() - started) / 1000;
  probing = false;
  await prober;
  const jobs = await inParallel(ids, 8, async (id) => (await api<JobView>(base, 'GET', `/jobs/${id}`)).body);
  const after = processStatus(supervisor.pid);

  // Every healthy job: completed in its one attempt, run exactly once (by the worker's own count).
  const healthy = jobs.filter((_, i) => inputs[i]!.kind === 'ok');
  expect(healthy.filter((j) => j.status !== 'completed' || j.attempts !== 1).map((j) => [j.id, j.status, j.attempts, j.error])).toEqual([]);
  const lines = readFileSync(marks, 'utf8').trim().split('\n');
  const executions = lines.filter((l) => !l.startsWith('p')).map(Number).sort((a, b) => a - b);
  expect(executions).toEqual(inputs.flatMap((input, i) => (input.kind === 'ok' ? [i] : [])));
  // Every poison job: dead after its two attempts (each executed), its crash kind as its error.
  const poison = jobs.flatMap((job, i) => (inputs[i]!.kind === 'ok' ? [] : [{ job, kind: inputs[i]!.kind }]));
  for (const { job, kind } of poison) {
    expect(job, `${kind} job`).toMatchObject({ status: 'dead', attempts: 2 });
    if (kind === 'hang') expect(job.error?.type).toBe('timeout');
    else expect(job.error?.message).toContain(`(${kind === 'uncaught' ? 'crash' : kind})`);
  }
  expect(lines.filter((l) => l.startsWith('p'))).toHaveLength(poison.length * 2);
  // Ready throughout; both threads there at the end, and none left behind by the ~200 crashes.
  expect(notReady).toBe(0);
  const { body: status } = await api<{ pools: { name: string; threads: unknown[] }[] }>(base, 'GET', '/status/data');
  expect(status.pools.find((p) => p.name === 'tp')?.threads).toHaveLength(2);
  expect(after.threads).toBeLessThanOrEqual(before.threads + 4);
  console.log(`[poison ${label}] ${JOBS} jobs (${healthy.length} healthy, ${poison.length} poison: ${KINDS.join('/')}, 2 attempts each) in ${elapsedS.toFixed(1)} s; `
    + `healthy: ${healthy.length} completed in 1 attempt, ${executions.length} executions; poison executions ${lines.length - executions.length}; `
    + `readiness ${probes - notReady}/${probes} ready; RSS ${before.rssMb} → ${after.rssMb} MB; OS threads ${before.threads} → ${after.threads}`);
}

describe('a deployment fed 5 % poison jobs (pitboss start, real threads and signals)', () => {
  const fleet = fleetSuite('fault_poison');
  const dir = mkdtempSync(join(tmpdir(), 'pitboss-poison-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['the embedded default (PGlite, in-process dispatch)', false],
    ['Postgres + Redis (BullMQ)', true],
  ])('on %s: stays ready, every healthy job runs once in one attempt, every poison job ends dead', async (label, distributed) => {
    const env: SupervisorEnv = distributed
      ? { databaseUrl: fleet.db.url, redisUrl: fleet.redis.url, deployment }
      : { dataDir: join(dir, `pglite-${Date.now()}`), deployment };
    const supervisor = await SupervisorProcess.start(distributed ? 'sup-poison-pg' : 'sup-poison-embedded', env);
    fleet.supervisors.push(supervisor);
    await poisonRun(label, supervisor, join(dir, `marks-${distributed ? 'pg' : 'embedded'}`));
    const exit = await supervisor.signal('SIGTERM');
    expect(exit, supervisor.stderr).toEqual({ code: 0, signal: null });
  }, 300_000);
});
