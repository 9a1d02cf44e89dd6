/**
 * Jobs per second end to end — enqueue in bulk → Postgres rows → BullMQ → consumer → pool thread →
 * completed rows in Postgres — against raw BullMQ (a Queue and a Worker whose processor returns at
 * once) on the same Redis with the same concurrency, rounds interleaved in one process. Beside it:
 * the same pipeline on a store writing one row per statement (`batch: { maxRows: 1 }`), which is what
 * group commit buys, and enqueue → start latency per job at a paced rate below capacity.
 *
 * Needs a real Postgres and Redis: DATABASE_URL / REDIS_URL when set, otherwise local or throwaway
 * servers (lib/services.ts); without either the scenario fails with one line. Our side runs the
 * dist/ build (lib/dist.ts) so pool threads boot as users' do. Where this run started the servers
 * itself, their CPU per job is reported too: on a small machine they share the cores with Node, so
 * process CPU alone would flatter a side that moves work into the database.
 */
import { availableParallelism } from 'node:os';
import { measureAsyncInterleaved, pairedMedian, RowSet, type AsyncBenchCase, type AsyncMeasureOptions } from './lib/async-measure.ts';
import { dropFlagsWorkersReject, ensureBuilt, loadPitboss } from './lib/dist.ts';
import { ourSide, rawBullmqSide, type FlushTally, type JobSide, type Latencies } from './lib/job-sides.ts';
import { quantile } from './lib/measure.ts';
import type { Scenario } from './lib/scenario.ts';
import { ServerCpu } from './lib/server-cpu.ts';
import { startServices } from './lib/services.ts';

/** Jobs in flight per consumer, ours and raw alike (our JobSystem queue concurrency = the BullMQ Worker's). */
const concurrency = 16;
/**
 * A second pair at a concurrency where both sides are bound by CPU rather than by the round trips of
 * a job's turn (ours has a claim commit in each): the ceiling of each on this machine.
 */
const saturatedConcurrency = 256;
/** Pool threads running the no-op worker (raw BullMQ runs its processor in process). */
const threads = 2;
/** Jobs per enqueue call (`JobSystem.enqueue(array)` / `Queue.addBulk`). */
const bulk = 1000;

const fullRun: AsyncMeasureOptions = { rounds: 11, warmupRounds: 1, roundTargetMs: 1000, minOps: 500, maxOps: 50_000 };
const quickRun: AsyncMeasureOptions = { rounds: 3, warmupRounds: 1, roundTargetMs: 300, minOps: 200, maxOps: 10_000 };
/** Paced phase: single-job enqueues at a rate both sides sustain easily, so latency is not backlog. */
const pacedFull = { perSecond: 500, durationMs: 4000 };
const pacedQuick = { perSecond: 300, durationMs: 1000 };

/** Server CPU (µs per job) of each call of one case, in call order. */
type ServerSamples = { postgres: number[]; redis: number[] };

/** Wraps a side's rounds so each also records the CPU the servers spent on it. */
function withServerCpu(side: JobSide, meters: { postgres: ServerCpu | null; redis: ServerCpu | null }, into: ServerSamples): AsyncBenchCase {
  const { postgres, redis } = meters;
  return {
    name: side.name,
    run: async (ops) => {
      const pg0 = postgres?.read() ?? 0;
      const redis0 = redis?.read() ?? 0;
      await side.run(ops);
      into.postgres.push((((postgres?.read() ?? 0) - pg0) * 1e6) / ops);
      into.redis.push((((redis?.read() ?? 0) - redis0) * 1e6) / ops);
    },
  };
}

function addLatency(out: RowSet, name: string, values: readonly number[]): void {
  out.addValue(`${name}_p50`, 'ms', quantile(values, 0.5));
  out.addValue(`${name}_p99`, 'ms', quantile(values, 0.99));
}

function addFlushes(out: RowSet, name: string, tally: FlushTally): void {
  for (const kind of ['claim', 'finish', 'enqueue']) {
    const t = tally.get(kind);
    if (t === undefined) continue;
    out.addValue(`${name}_${kind}_rows_per_flush`, 'rows', t.rows / t.flushes);
    out.addValue(`${name}_${kind}_flush_ms`, 'ms', t.durationNs / t.flushes / 1e6);
  }
}

const scenario: Scenario = {
  name: 'jobs-throughput',
  description: 'jobs/s end to end (bulk enqueue → Postgres → BullMQ → pool → completed rows) vs raw BullMQ, same Redis and concurrency',
  targets: [{ key: 'vs_raw_bullmq', op: '>=', value: 0.6 }],
  async run({ quick }) {
    const build = ensureBuilt();
    dropFlagsWorkersReject();
    const services = await startServices('jobs-throughput');
    const sides: JobSide[] = [];
    try {
      const pitboss = await loadPitboss(build);
      const common = { concurrency, bulk, redisUrl: services.redisUrl, databaseUrl: services.databaseUrl, threads };
      sides.push(await ourSide(pitboss, build, 'ours', common));
      sides.push(await rawBullmqSide('raw_bullmq', common));
      sides.push(await ourSide(pitboss, build, 'ours_row_at_a_time', { ...common, batch: { maxRows: 1 } }));
      sides.push(await ourSide(pitboss, build, `ours_c${saturatedConcurrency}`, { ...common, concurrency: saturatedConcurrency }));
      sides.push(await rawBullmqSide(`raw_bullmq_c${saturatedConcurrency}`, { ...common, concurrency: saturatedConcurrency }));
      const [ours, raw, rowAtATime] = sides as [JobSide, JobSide, JobSide];
      const isRaw = (name: string): boolean => name.startsWith('raw_bullmq');
      // Before timing anything: each side runs jobs to completion and its books agree.
      for (const side of sides) {
        await side.run(100);
        await side.verify();
        side.flushes.clear();
      }

      const meters = {
        postgres: services.ownsPostgres ? ServerCpu.find(services.databaseUrl, /postgres/) : null,
        redis: services.ownsRedis ? ServerCpu.find(services.redisUrl, /redis-server/) : null,
      };
      const server = new Map(sides.map((side) => [side.name, { postgres: [], redis: [] } as ServerSamples]));
      const cases = sides.map((side) => withServerCpu(side, meters, server.get(side.name)!));
      const options = quick ? quickRun : fullRun;
      const samples = await measureAsyncInterleaved(cases, options);
      // Flushes of the bulk rounds (calibration and warm-up included), before the paced phase adds its own.
      const flushes = new Map(sides.map((side) => [side.name, new Map([...side.flushes].map(([kind, t]) => [kind, { ...t }]))]));

      // Latency: each side paced twice, alternating, so a noisy moment does not land on one side only.
      const paced = quick ? pacedQuick : pacedFull;
      const latency = new Map<string, Latencies>([[ours.name, { fromCall: [], fromEnqueued: [] }], [raw.name, { fromCall: [], fromEnqueued: [] }]]);
      for (const order of [[ours, raw], [raw, ours]]) {
        for (const side of order) {
          const { fromCall, fromEnqueued } = await side.paced(paced.perSecond, paced.durationMs / 2);
          latency.get(side.name)!.fromCall.push(...fromCall);
          latency.get(side.name)!.fromEnqueued.push(...fromEnqueued);
        }
      }
      const verified: string[] = [];
      for (const side of sides) verified.push(await side.verify());

      const s = (name: string) => samples.get(name)!;
      const out = new RowSet();
      for (const c of cases) out.add(c.name, 'jobs/s', s(c.name).nsPerOp.map((ns) => 1e9 / ns), s(c.name).opsPerRound);
      for (const c of cases) out.add(`${c.name}_node_cpu`, 'µs/job', s(c.name).cpuNsPerOp.map((ns) => ns / 1000), s(c.name).opsPerRound);
      // The measured rounds are each case's last `rounds` calls (calibration and warm-up come first).
      const measured = (values: number[]): number[] => values.slice(-options.rounds);
      const serverRows = meters.postgres !== null && meters.redis !== null;
      if (serverRows) {
        // Raw BullMQ leaves Postgres idle: its row would only show the server's background work.
        for (const c of cases.filter((c) => !isRaw(c.name))) out.add(`${c.name}_postgres_cpu`, 'µs/job', measured(server.get(c.name)!.postgres), s(c.name).opsPerRound);
        for (const c of cases) out.add(`${c.name}_redis_cpu`, 'µs/job', measured(server.get(c.name)!.redis), s(c.name).opsPerRound);
      }
      addLatency(out, 'ours_enqueue_call_to_start', latency.get(ours.name)!.fromCall);
      addLatency(out, 'ours_job_enqueued_to_start', latency.get(ours.name)!.fromEnqueued);
      addLatency(out, 'raw_bullmq_add_call_to_active', latency.get(raw.name)!.fromCall);
      addFlushes(out, ours.name, flushes.get(ours.name)!);
      addFlushes(out, rowAtATime.name, flushes.get(rowAtATime.name)!);

      const speed = (peer: string, mine: string): number => pairedMedian(s(peer).nsPerOp, s(mine).nsPerOp, (p, m) => p / m);
      const totalCpu = (name: string): number[] => {
        const node = s(name).cpuNsPerOp.map((ns) => ns / 1000);
        const pg = measured(server.get(name)!.postgres);
        const redis = measured(server.get(name)!.redis);
        return node.map((n, r) => n + pg[r]! + redis[r]!);
      };
      const ratios: Record<string, number> = {
        vs_raw_bullmq: speed('raw_bullmq', 'ours'),
        [`vs_raw_bullmq_c${saturatedConcurrency}`]: speed(`raw_bullmq_c${saturatedConcurrency}`, `ours_c${saturatedConcurrency}`),
        row_at_a_time_vs_ours: speed('ours', 'ours_row_at_a_time'),
        node_cpu_per_job_vs_raw: pairedMedian(s('ours').cpuNsPerOp, s('raw_bullmq').cpuNsPerOp, (o, r) => o / r),
        latency_p50_vs_raw: quantile(latency.get(ours.name)!.fromCall, 0.5) / quantile(latency.get(raw.name)!.fromCall, 0.5),
      };
      if (serverRows) {
        ratios.total_cpu_per_job_vs_raw = pairedMedian(totalCpu('ours'), totalCpu('raw_bullmq'), (o, r) => o / r);
        ratios[`total_cpu_per_job_vs_raw_c${saturatedConcurrency}`] = pairedMedian(totalCpu(`ours_c${saturatedConcurrency}`), totalCpu(`raw_bullmq_c${saturatedConcurrency}`), (o, r) => o / r);
      }
      return {
        rows: out.rows,
        stats: out.stats,
        ratios,
        notes: [
          build.note,
          services.origin,
          `concurrency ${concurrency} on both sides (JobSystem queue concurrency = BullMQ Worker concurrency); ours runs a ${threads}-thread Pool of workers/noop; machine: ${availableParallelism()} cores, shared with Postgres and Redis`,
          `*_c${saturatedConcurrency}: the same pair at concurrency ${saturatedConcurrency}, where both are bound by CPU rather than by each job's round trips (ours waits for a claim commit per job): each side's ceiling here; vs_raw_bullmq (the target) stays at ${concurrency}`,
          `a round enqueues N jobs in calls of ${bulk} (JobSystem.enqueue(array) / Queue.addBulk) while the consumer runs, and ends when all N completed: ours on job.stop (emitted after the completed row committed), raw on the Worker's 'completed'`,
          'ours_row_at_a_time: the same pipeline on a store opened with batch { maxRows: 1 } (claims and finishes one row per statement, 2 in flight; a bulk enqueue call is still one statement)',
          '*_node_cpu: CPU of this process (all threads) per job; *_postgres_cpu / *_redis_cpu: CPU of the throwaway servers per job (/proc; only when this run started them)',
          `latency: single-job enqueues at ${paced.perSecond}/s, ${paced.durationMs} ms per side in two alternating halves, per job from the enqueue call (ours: before the row commit; raw: Queue.add) or from job.enqueued (row committed and dispatched) to job.start / the Worker's 'active'`,
          '*_rows_per_flush / *_flush_ms: store.flush events of the bulk rounds (calibration and warm-up included)',
          'vs_raw_bullmq = ours/raw jobs/s and *_vs_raw cost ratios = ours/raw, each a median of per-round pairs',
          `verified after the run: ${verified.join('; ')}`,
        ],
      };
    } finally {
      for (const side of sides) await side.close().catch((error: unknown) => console.warn(`  warning: closing ${side.name}: ${String(error)}`));
      await services.stop();
    }
  },
};

export default scenario;
