/**
 * One live process per supervisor id. A supervisor restarted under the same id (a fixed
 * PITBOSS_SUPERVISOR_ID, e.g. a pod name) must not leave its previous life's running jobs stuck —
 * its heartbeat would keep them looking alive — and a second *live* process under the id must not
 * take the first one's running jobs for its previous life's (or for abandoned claims): they would
 * run twice. Other hosts are played by beats written through the store, as a remote process's are.
 */
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { createTelemetry, captureEvents, JobStore, JobSystem, LocalDispatcher, Pool, type SupervisorIdNotice } from '../../../src/index.ts';
import { workerPath } from '../../helpers/pool.ts';

/** Above Linux's pid_max: no process has it. */
const DEAD_PID = 2_000_000_000;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function setup() {
  const bus = createTelemetry();
  const events = captureEvents(bus, ['job.stalled', 'job.stop']);
  const store = await JobStore.open({ dataDir: 'memory://', telemetry: bus });
  const pool = new Pool({ name: 'p', worker: workerPath('faults'), threads: 1, telemetry: bus, statusIntervalMs: null, sampleIntervalMs: null });
  await pool.start();
  cleanup.push(() => store.close(), () => pool.close());
  const notices: SupervisorIdNotice[] = [];
  const system = (reconcile: { heartbeatTtlMs?: number; intervalMs?: number; abandonAfterMs?: number } = {}): JobSystem => {
    const created = new JobSystem({
      store, dispatcher: new LocalDispatcher(), telemetry: bus, supervisorId: 'pod-0', queues: { q: { pool, concurrency: 1 } },
      reconcile: { ...reconcile, onSupervisorIdNotice: (notice) => notices.push(notice) },
    });
    cleanup.push(() => created.stop(2000));
    return created;
  };
  /** A job claimed under pod-0, as the other process left it: running, attempt 1. */
  const claimedJob = async (): Promise<string> => {
    const [job] = await store.jobs.enqueue([{ queue: 'q', name: 'n', data: { kind: 'ok', value: 'second life' } }]);
    expect(await store.jobs.claim(job!.id, 'pod-0/p')).not.toBeNull();
    return job!.id;
  };
  /** Another process beating under pod-0 from `host` every 100 ms until stopped. */
  const twin = (host: string): (() => void) => {
    const beat = (): Promise<unknown> => store.fleet.heartbeat({ id: 'pod-0', host, pid: 4242, instance: `twin-on-${host}` }).catch(() => {});
    void beat();
    const timer = setInterval(() => void beat(), 100);
    const stop = (): void => clearInterval(timer);
    cleanup.push(async () => stop());
    return stop;
  };
  return { bus, events, store, notices, system, claimedJob, twin };
}

describe('one live process per supervisor id', () => {
  it('a previous life on this host (its pid gone) is swept at once: its claims are requeued before anything is claimed', async () => {
    const { events, store, notices, system, claimedJob } = await setup();
    await store.fleet.heartbeat({ id: 'pod-0', host: hostname(), pid: DEAD_PID, instance: 'previous-life' });
    const id = await claimedJob();
    await system().start();
    await events.waitFor('job.stop', { timeoutMs: 10_000 });
    expect(events.of('job.stalled')[0]!.metadata.job_id).toBe(id);
    expect(await store.jobs.get(id)).toMatchObject({ status: 'completed', attempts: 2, result: 'second life' });
    expect(notices).toEqual([]);
  }, 30_000);

  it('a live process under the id on another host fails the start with PITBOSS_SUPERVISOR_ID_IN_USE; its running job is left alone', async () => {
    const { store, notices, system, claimedJob, twin } = await setup();
    twin('twin-host');
    const id = await claimedJob();
    await expect(system().start()).rejects.toMatchObject({ code: 'PITBOSS_SUPERVISOR_ID_IN_USE', message: expect.stringMatching(/in use by process 4242 on twin-host/) });
    expect(notices).toMatchObject([{ kind: 'waiting', supervisorId: 'pod-0', holder: { host: 'twin-host', pid: 4242 } }]);
    expect(await store.jobs.get(id)).toMatchObject({ status: 'running', attempts: 1 });
  }, 30_000);

  it('a holder on another host that falls silent is waited out for the rest of its TTL, then swept', async () => {
    const { events, store, notices, system, claimedJob } = await setup();
    await store.fleet.heartbeat({ id: 'pod-0', host: 'crashed-host', pid: 7, instance: 'crashed-life' });
    const id = await claimedJob();
    await system({ heartbeatTtlMs: 1500 }).start();
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ kind: 'waiting', holder: { host: 'crashed-host', pid: 7 } });
    expect((notices[0] as { waitMs: number }).waitMs).toBeLessThanOrEqual(1500);
    await events.waitFor('job.stop', { timeoutMs: 10_000 });
    expect(await store.jobs.get(id)).toMatchObject({ status: 'completed', attempts: 2 });
  }, 30_000);

  it('a holder that stopped cleanly is not waited for, and a stopping system marks its own life stopped', async () => {
    const { store, notices, system } = await setup();
    await store.fleet.heartbeat({ id: 'pod-0', host: 'other-host', pid: 7, instance: 'stopped-life' });
    await store.fleet.supervisorStopped({ id: 'pod-0', instance: 'stopped-life' });
    const first = system();
    await first.start();
    expect(notices).toEqual([]);
    expect(await store.fleet.supervisor('pod-0')).toMatchObject({ host: hostname(), pid: process.pid, stopped: false });
    await first.stop(2000);
    expect(await store.fleet.supervisor('pod-0')).toMatchObject({ host: hostname(), stopped: true });
  }, 30_000);

  it('a twin seen while running: its claims are not swept as abandoned while it beats, and are once it has been silent for the TTL', async () => {
    const { events, store, notices, system, claimedJob, twin } = await setup();
    await system({ intervalMs: 100, abandonAfterMs: 300, heartbeatTtlMs: 1500 }).start();
    // The twin started at the same moment (both passed the startup check) and claimed a job under the id.
    const stopTwin = twin('twin-host');
    const id = await claimedJob();
    await expect.poll(() => notices.filter((n) => n.kind === 'shared').length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(notices.find((n) => n.kind === 'shared')).toMatchObject({ holder: { host: 'twin-host', pid: 4242 } });
    // Well past abandonAfterMs, with passes every 100 ms: the twin's job still runs there, untouched.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await store.jobs.get(id)).toMatchObject({ status: 'running', attempts: 1 });
    expect(events.of('job.stalled')).toEqual([]);
    // The twin goes away: after the TTL its claim is an abandoned one like any other and runs again here.
    stopTwin();
    await events.waitFor('job.stop', { timeoutMs: 10_000 });
    expect(await store.jobs.get(id)).toMatchObject({ status: 'completed', attempts: 2 });
  }, 30_000);
});
