/**
 * The embedded default (no DATABASE_URL, no REDIS_URL: PGlite and in-process dispatch), two ways:
 *
 * 1. Footprint as users run it: `node bin/pitboss.mjs start` (dist/, checked by the bin's own test)
 *    on a fresh data dir: ms from spawn to `GET /readyz` 200 on a first start and on a warm restart
 *    of the same dir (SIGTERM between), idle RSS of the supervisor a few seconds after ready, and
 *    RSS growth over a run of jobs enqueued through `POST /jobs` (there is no batch route) on the
 *    default deployment's `hash` queue, each hashing 1 KiB once.
 * 2. Jobs/s end to end against pg-boss 12 on PGlite, in this process, rounds interleaved, with CPU per
 *    job of each side (lib/embedded-sides.ts says how each side is wired and when a job counts as done).
 *    pg-boss needs Node ≥ 22.12: on older Node its side is skipped with one line, ours still measured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pairedMedian, RowSet } from './lib/async-measure.ts';
import { Deployment } from './lib/deployment-process.ts';
import { dropFlagsWorkersReject, ensureBuilt, ensureCliBuilt, loadPitboss } from './lib/dist.ts';
import { oursEmbedded, pgbossPglite, type RoundSide } from './lib/embedded-sides.ts';
import { profileRound } from './lib/cpu-profile.ts';
import type { Scenario } from './lib/scenario.ts';

/** Jobs in flight on each side: our queue concurrency; pg-boss's batchSize with one work loop. */
const concurrency = 16;
/** Pool threads running the no-op worker (pg-boss runs its handler in process). */
const threads = 2;
/** Jobs per enqueue call (`JobSystem.enqueue(array)` / `boss.insert`). */
const bulk = 1000;
/** HTTP clients enqueueing at once in the growth run, each waiting for its 202 before the next. */
const httpClients = 16;

interface Plan {
  /** One uncounted start first, filling Node's compile cache and the page cache (full runs only, to keep quick short). */
  readonly warmupStart: boolean;
  readonly jobsPerRound: number;
  readonly rounds: number;
  readonly warmupRounds: number;
  readonly startRounds: number;
  readonly idleMs: number;
  readonly growthJobs: number;
}
const full: Plan = { warmupStart: true, jobsPerRound: 20_000, rounds: 7, warmupRounds: 1, startRounds: 5, idleMs: 5000, growthJobs: 100_000 };
const quick: Plan = { warmupStart: false, jobsPerRound: 2000, rounds: 3, warmupRounds: 1, startRounds: 1, idleMs: 2000, growthJobs: 2000 };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Stops a deployment and insists it went down cleanly (exit 0), since the next start reuses its dir. */
async function stopClean(deployment: Deployment): Promise<void> {
  const code = await deployment.stop();
  if (code !== 0) throw new Error(`pitboss start exited ${code} on SIGTERM`);
}

/** Starts, restarts, idles and loads the default deployment; rows and the two footprint figures. */
async function footprint(plan: Plan, scratch: string, out: RowSet): Promise<{ idleRss: number; growthPct: number; notes: string[] }> {
  // One start first, not counted: fills Node's compile cache (Node ≥ 22, bin/pitboss.mjs) and the OS
  // page cache, as any start after the first one on a machine finds them.
  if (plan.warmupStart) await stopClean((await Deployment.start(join(mkdtempSync(join(scratch, 'deploy-')), 'pglite'))).deployment);
  const fresh: number[] = [];
  const warm: number[] = [];
  let running: Deployment | null = null;
  try {
    for (let r = 0; r < plan.startRounds; r++) {
      const dataDir = join(mkdtempSync(join(scratch, 'deploy-')), 'pglite');
      const first = await Deployment.start(dataDir);
      fresh.push(first.readyMs);
      await stopClean(first.deployment);
      const again = await Deployment.start(dataDir);
      warm.push(again.readyMs);
      if (r < plan.startRounds - 1) await stopClean(again.deployment);
      else running = again.deployment;
    }
    const deployment = running!;
    out.add('start_fresh_ms', 'ms', fresh, 1);
    out.add('start_warm_ms', 'ms', warm, 1);
    const atReady = deployment.rssMb();
    await sleep(plan.idleMs);
    const idleRss = deployment.rssMb();
    out.addValue('rss_at_ready_mb', 'MB', atReady);
    out.addValue('idle_rss_mb', 'MB', idleRss);

    // Growth: the same process runs `growthJobs` jobs through its HTTP API, then idles again.
    const started = performance.now();
    let next = 0;
    const client = async (): Promise<void> => {
      while (next < plan.growthJobs) {
        const i = next++;
        await deployment.enqueue({ queue: 'hash', name: 'bench', data: { seed: i + 1, sizeKiB: 1, rounds: 1 } });
      }
    };
    await Promise.all(Array.from({ length: httpClients }, client));
    const enqueuedMs = performance.now() - started;
    for (let stats = await deployment.queue('hash'); stats.completed < plan.growthJobs; stats = await deployment.queue('hash')) {
      if (stats.failed + stats.dead > 0) throw new Error(`growth run: ${stats.failed} failed, ${stats.dead} dead jobs`);
      await sleep(100);
    }
    const doneMs = performance.now() - started;
    await sleep(Math.min(plan.idleMs, 2000));
    const after = deployment.rssMb();
    const peak = deployment.peakRssMb();
    const growthPct = ((after - idleRss) / idleRss) * 100;
    out.addValue('http_enqueue_jobs_per_s', 'jobs/s', plan.growthJobs / (enqueuedMs / 1000));
    out.addValue('http_end_to_end_jobs_per_s', 'jobs/s', plan.growthJobs / (doneMs / 1000));
    out.addValue('rss_after_jobs_mb', 'MB', after);
    out.addValue('peak_rss_mb', 'MB', peak);
    out.addValue('rss_growth_pct', '%', growthPct);
    return {
      idleRss,
      growthPct,
      notes: [
        `footprint: node bin/pitboss.mjs start (supervisors/main, ${availableParallelism()} threads by default) on PITBOSS_DATA_DIR=<fresh tmp dir>, a free PORT and PITBOSS_CONTROL_TOKEN, no DATABASE_URL/REDIS_URL/LOG_LEVEL (info: one log line per completed job, read and dropped through a pipe)`,
        `start_*_ms: spawn → GET /readyz 200, median of ${plan.startRounds}; fresh = a data dir that does not exist yet (PGlite initdb + migrations), warm = the same dir again after SIGTERM; ${plan.warmupStart ? 'one uncounted start before them fills the compile and page caches' : 'no uncounted start before them (quick): the first one may pay a cold compile cache'}`,
        `idle_rss_mb: VmRSS of the supervisor (the bin imports dist/ in its own process) ${plan.idleMs / 1000} s after the last warm start was ready; rss_after_jobs_mb: ${Math.min(plan.idleMs, 2000) / 1000} s after ${plan.growthJobs} jobs completed, sent as POST /jobs by ${httpClients} clients (hash queue, 1 KiB hashed once); rss_growth_pct = after / idle − 1; peak_rss_mb = VmHWM`,
      ],
    };
  } finally {
    if (running !== null) await running.stop().catch(() => {});
  }
}

const scenario: Scenario = {
  name: 'embedded',
  description: 'the embedded default: start time and RSS of `pitboss start`; jobs/s in process vs pg-boss 12 on PGlite',
  targets: [
    { key: 'vs_pgboss_pglite', op: '>=', value: 2.0 },
    { key: 'idle_rss_mb', op: '<=', value: 150, goal: 100 },
    { key: 'rss_growth_pct', op: '<=', value: 10 },
  ],
  async run({ quick: isQuick }) {
    const plan = isQuick ? quick : full;
    const cli = ensureCliBuilt();
    const build = ensureBuilt();
    dropFlagsWorkersReject();
    const scratch = mkdtempSync(join(tmpdir(), 'pitboss-bench-embedded-'));
    const out = new RowSet();
    const sides: RoundSide[] = [];
    try {
      const { idleRss, growthPct, notes: footprintNotes } = await footprint(plan, scratch, out);

      const options = { concurrency, bulk, threads, scratch };
      sides.push(await oursEmbedded(await loadPitboss(build), build, options));
      const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
      const pgbossRuns = major > 22 || (major === 22 && minor >= 12);
      if (pgbossRuns) sides.push(await pgbossPglite(options));
      else console.log(`  pg-boss 12 needs Node ≥ 22.12: pgboss_pglite skipped on ${process.version} (ours still measured)`);

      const wall = new Map(sides.map((s) => [s.name, [] as number[]]));
      const cpu = new Map(sides.map((s) => [s.name, [] as number[]]));
      const verified: string[] = [];
      for (let r = 0; r < plan.warmupRounds + plan.rounds; r++) {
        for (let k = 0; k < sides.length; k++) {
          const side = sides[(r + k) % sides.length]!;
          await side.open();
          const cpuBefore = process.cpuUsage();
          const started = performance.now();
          await side.run(plan.jobsPerRound);
          const ms = performance.now() - started;
          const used = process.cpuUsage(cpuBefore);
          verified.push(await side.close());
          if (r < plan.warmupRounds) continue;
          wall.get(side.name)!.push(ms);
          cpu.get(side.name)!.push((used.user + used.system) / plan.jobsPerRound);
        }
      }
      for (const side of sides) out.add(side.name, 'jobs/s', wall.get(side.name)!.map((ms) => plan.jobsPerRound / (ms / 1000)), plan.jobsPerRound);
      for (const side of sides) out.add(`${side.name}_cpu`, 'µs/job', cpu.get(side.name)!, plan.jobsPerRound);
      const profile = isQuick ? null : await profileRound(sides[0]!, plan.jobsPerRound);

      const ratios: Record<string, number> = { idle_rss_mb: idleRss, rss_growth_pct: growthPct };
      if (pgbossRuns) {
        ratios.vs_pgboss_pglite = pairedMedian(wall.get('pgboss_pglite')!, wall.get('ours')!, (theirs, ours) => theirs / ours);
        ratios.cpu_per_job_vs_pgboss = pairedMedian(cpu.get('ours')!, cpu.get('pgboss_pglite')!, (ours, theirs) => ours / theirs);
      }
      const last = verified.slice(-sides.length);
      return {
        rows: out.rows,
        stats: out.stats,
        ratios,
        notes: [
          cli.note,
          build.note,
          ...footprintNotes,
          `throughput: ${plan.jobsPerRound} jobs a round on each side, ${plan.rounds} measured rounds after ${plan.warmupRounds} warm-up, interleaved from a rotating start; each round on a fresh PGlite data dir (a copy of an empty one the side made once: initdb and schema, no rows), opened and closed outside the clock; enqueue in calls of ${bulk} while the consumer runs`,
          `concurrency ${concurrency} on both sides: ours JobSystem queue concurrency ${concurrency} on a ${threads}-thread Pool of workers/noop with LocalDispatcher; pg-boss one work() loop (localConcurrency 1) fetching batchSize ${concurrency}, burstWhenBatchFull, queue notify + useListenNotify (polling 0.5 s as backstop), schedule off, other options default`,
          '*_cpu: process.cpuUsage() of this process per job (all threads: PGlite runs in process on both sides, our pool threads included)',
          `vs_pgboss_pglite = ours/pg-boss jobs/s, cpu_per_job_vs_pgboss = ours/pg-boss CPU per job, each a median of per-round pairs; idle_rss_mb and rss_growth_pct sit among the ratios because targets are judged there${pgbossRuns ? '' : `; pg-boss skipped on ${process.version} (needs ≥ 22.12)`}`,
          ...(profile === null ? [] : [profile]),
          `verified (last round): ${last.join('; ')}`,
        ],
      };
    } finally {
      for (const side of sides) await side.dispose().catch((error: unknown) => console.warn(`  warning: closing ${side.name}: ${String(error)}`));
      rmSync(scratch, { recursive: true, force: true });
    }
  },
};

export default scenario;
