/**
 * Jobs per second end to end — enqueue in bulk → Postgres rows → BullMQ → consumer → pool thread →
 * completed rows in Postgres — against raw BullMQ (a Queue and a Worker whose processor returns at
 * once) on the same Redis with the same concurrency, rounds interleaved in one process. Beside it:
 * the same pipeline on a store writing one row per statement (`batch: { maxRows: 1 }`), which is what
 * group commit buys, and enqueue → start latency per job at a paced rate below capacity.
 *
 * Peers, at concurrency 16 and 256 on the same servers: pg-boss 12 batched and graphile-worker 0.18
 * (lib/peer-sides.ts; Node ≥ 22.18 only), BullMQ + piscina + pg stitched by hand (lib/stitched-side.ts),
 * interleaved with ours; and pg-boss one job per handler call, so slow that it gets short fixed rounds
 * of its own after the interleaved ones.
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
import { median, quantile } from './lib/measure.ts';
import { graphileSide, migrateGraphile, peersNeed, peersRun, pgbossSide } from './lib/peer-sides.ts';
import type { Scenario } from './lib/scenario.ts';
import { ServerCpu } from './lib/server-cpu.ts';
import { startServices } from './lib/services.ts';
import { handStitchedSide } from './lib/stitched-side.ts';

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
/**
 * pg-boss one job per handler call: each of its loops takes one job per 0.5 s poll (~32 jobs/s at
 * concurrency 16), so calibrated rounds (≥ 200 jobs) would take most of the run. Fixed rounds of
 * ~2 s instead, measured after the interleaved ones.
 */
const oneAtATimeOps = new Map([[16, 64], [256, 1024]]);
/**
 * Postgres connections of a peer's pool, capped because every side stays open through the interleaved
 * rounds and the throwaway server allows 200: graphile-worker's pool (it asks for concurrency + a few)
 * and the hand-stitched `pg` Pool.
 */
const graphilePoolCap = 40;
const stitchedPoolCap = 32;

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
  description: 'jobs/s end to end (bulk enqueue → Postgres → BullMQ → pool → completed rows) vs raw BullMQ, pg-boss, graphile-worker and BullMQ + piscina + pg by hand, same servers and concurrency',
  targets: [
    { key: 'vs_raw_bullmq', op: '>=', value: 0.6 },
    // pg-boss and graphile-worker need Node ≥ 22.18: on older Node their ratios are absent, reported as skipped.
    { key: 'vs_pgboss_batched', op: '>=', value: 1.0, optional: true },
    { key: `vs_pgboss_batched_c${saturatedConcurrency}`, op: '>=', value: 1.0, optional: true },
    { key: 'vs_graphile_worker', op: '>=', value: 2, optional: true },
    { key: `vs_graphile_worker_c${saturatedConcurrency}`, op: '>=', value: 2, optional: true },
    { key: 'vs_hand_stitched', op: '>=', value: 2 },
    { key: `vs_hand_stitched_c${saturatedConcurrency}`, op: '>=', value: 2 },
  ],
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
      const peers = peersRun();
      if (peers) await migrateGraphile(services.databaseUrl, ['graphile_worker', `graphile_worker_c${saturatedConcurrency}`]);
      for (const conc of [concurrency, saturatedConcurrency]) {
        const at = { ...common, concurrency: conc };
        const suffix = conc === concurrency ? '' : `_c${conc}`;
        if (peers) {
          sides.push(await pgbossSide(`pgboss_batched${suffix}`, { ...at, batched: true }));
          sides.push(await graphileSide(`graphile_worker${suffix}`, { ...at, maxPoolSize: Math.min(conc + 4, graphilePoolCap) }));
        }
        sides.push(await handStitchedSide(`hand_stitched${suffix}`, { ...at, poolSize: Math.min(conc, stitchedPoolCap) }));
      }
      const [ours, raw, rowAtATime] = sides as [JobSide, JobSide, JobSide];
      const isRaw = (name: string): boolean => name.startsWith('raw_bullmq');
      // Sides that leave a server idle get no row for it: it would only show the server's background work.
      const usesRedis = (name: string): boolean => /^(ours|raw_bullmq|hand_stitched)/.test(name);
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

      // Peers are checked and closed before the paced phase, so their pollers do not share the
      // machine with it, and before pg-boss's one-at-a-time loops open their pools (the server allows 200).
      const verified: string[] = [];
      for (const side of sides.slice(5)) verified.push(await side.verify());
      for (const side of sides.splice(5)) await side.close();

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
      for (const side of sides) verified.push(await side.verify());

      // pg-boss one job per handler call: fixed short rounds of its own, after the interleaved ones.
      const slow: string[] = [];
      for (const conc of peers ? [concurrency, saturatedConcurrency] : []) {
        const side = await pgbossSide(`pgboss_one_at_a_time${conc === concurrency ? '' : `_c${conc}`}`, { ...common, concurrency: conc, batched: false });
        sides.push(side);
        await side.run(conc);
        await side.verify();
        server.set(side.name, { postgres: [], redis: [] });
        const one = withServerCpu(side, meters, server.get(side.name)!);
        const measuredOne = await measureAsyncInterleaved([one], { rounds: options.rounds, warmupRounds: 1, opsPerRound: oneAtATimeOps.get(conc)! });
        samples.set(side.name, measuredOne.get(side.name)!);
        verified.push(await side.verify());
        slow.push(side.name);
      }
      const names = [...cases.map((c) => c.name), ...slow];

      const s = (name: string) => samples.get(name)!;
      const out = new RowSet();
      for (const name of names) out.add(name, 'jobs/s', s(name).nsPerOp.map((ns) => 1e9 / ns), s(name).opsPerRound);
      for (const name of names) out.add(`${name}_node_cpu`, 'µs/job', s(name).cpuNsPerOp.map((ns) => ns / 1000), s(name).opsPerRound);
      // The measured rounds are each case's last `rounds` calls (calibration and warm-up come first).
      const measured = (values: number[]): number[] => values.slice(-options.rounds);
      const serverRows = meters.postgres !== null && meters.redis !== null;
      if (serverRows) {
        for (const name of names.filter((n) => !isRaw(n))) out.add(`${name}_postgres_cpu`, 'µs/job', measured(server.get(name)!.postgres), s(name).opsPerRound);
        for (const name of names.filter(usesRedis)) out.add(`${name}_redis_cpu`, 'µs/job', measured(server.get(name)!.redis), s(name).opsPerRound);
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
      const c256 = `_c${saturatedConcurrency}`;
      for (const peer of peers ? ['pgboss_batched', 'graphile_worker', 'hand_stitched'] : ['hand_stitched']) {
        ratios[`vs_${peer}`] = speed(peer, 'ours');
        ratios[`vs_${peer}${c256}`] = speed(`${peer}${c256}`, `ours${c256}`);
      }
      // Not paired: the one-at-a-time rounds ran on their own, so this is a ratio of medians.
      for (const name of slow) ratios[`vs_${name}`] = median(s(name).nsPerOp) / median(s(name.endsWith(c256) ? `ours${c256}` : 'ours').nsPerOp);
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
          peers
            ? `peers on the same Postgres (a schema each) and Redis, handlers doing nothing: pgboss_batched = pg-boss 12 with useListenNotify, a notify queue, concurrency/16 work loops of batchSize 16 with burstWhenBatchFull (boss.insert of ${bulk} per call); graphile_worker = graphile-worker 0.18 run() with concurrency as ours, LISTEN/NOTIFY, pool min(concurrency + 4, ${graphilePoolCap}) (addJobs of ${bulk} per call; done on job:success and an empty job table)`
            : `pg-boss 12 and graphile-worker 0.18 need Node ≥ ${peersNeed}: their sides (pgboss_*, graphile_worker*) skipped on ${process.version}`,
          `hand_stitched = BullMQ Worker (concurrency as ours) + piscina (${threads} threads, bench/workers/noop.mjs) + pg Pool of min(concurrency, ${stitchedPoolCap}): one multi-row INSERT per enqueue call of ${bulk}, an UPDATE to 'running' and one to 'completed' per job, one statement each`,
          ...(peers ? [`pgboss_one_at_a_time = pg-boss 12 with batchSize 1, localConcurrency = concurrency, polling 0.5 s, no notify: measured after the interleaved rounds in fixed rounds of ${[...oneAtATimeOps].map(([c, n]) => `${n} jobs at c${c}`).join(' / ')} (too slow for calibrated ones); its vs_ ratios are ratios of medians, not paired`] : []),
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
