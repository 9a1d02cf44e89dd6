/**
 * A full disk under the embedded store, as a user meets it: the CLI with the fixture deployment on
 * PGlite in a small tmpfs, the tmpfs filled to the last byte, then jobs submitted until the store
 * refuses. Refusals are prompt 503s with a reason, /readyz names the problem, /healthz answers,
 * SIGTERM ends the process within the shutdown timeout (exit 1: the store closed without its
 * shutdown checkpoint), and after the volume grows a restart finds and runs every job it acknowledged.
 * Needs root (mount); otherwise skipped with one line.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupervisorProcess } from './supervisor-process.ts';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('[fault:disk-full] skipped: mounting a tmpfs needs root');

const TOKEN = 'fault-test-token-0123456789';
const SHUTDOWN_TIMEOUT_MS = 5_000;
const PROMPT_MS = 2_000;
const SUPERVISOR_ID = 'sup-disk-full';

async function call(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const json = (await response.json()) as Record<string, unknown>;
  return { status: response.status, json, ms: performance.now() - started };
}

/** Fills the volume to the last block (the supervisor writes meanwhile, so a first fallocate may miss). */
function fillUp(dir: string): void {
  for (let i = 0; i < 5; i++) {
    const fs = statfsSync(dir);
    if (fs.bavail === 0) return;
    try {
      execFileSync('fallocate', ['-l', String(fs.bavail * fs.bsize), join(dir, `filler-${i}`)], { stdio: 'ignore' });
    } catch {
      // Someone took a block in between: measure again.
    }
  }
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler-dd')}`, 'bs=4k'], { stdio: 'ignore' });
  } catch {
    // dd ends with ENOSPC: full.
  }
}

/** The supervisor's URL, from its startup line on stderr. */
function urlOf(supervisor: SupervisorProcess): string {
  const match = /https?:\/\/127\.0\.0\.1:\d+/.exec(supervisor.stderr);
  if (match === null) throw new Error(`no URL in: ${supervisor.stderr}`);
  return match[0];
}

describe.skipIf(!isRoot)('disk full under the embedded store', () => {
  let mountPoint = '';
  let mounted = false;
  const supervisors: SupervisorProcess[] = [];

  beforeAll(() => {
    mountPoint = mkdtempSync(join(tmpdir(), 'pitboss-disk-full-'));
    // A fresh PGlite data directory takes ~40 MiB (16 MiB of it the first WAL segment).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=160m', 'tmpfs', mountPoint]);
    mounted = true;
  });

  afterAll(async () => {
    for (const supervisor of supervisors) await supervisor.kill();
    if (mounted) execFileSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('refuses at once with a reason, stops on SIGTERM, and a restart on a grown volume runs every accepted job', async () => {
    const env = { databaseUrl: null, redisUrl: null, dataDir: join(mountPoint, 'pglite'), shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS, heartbeatTtlMs: 2_000, reconcileIntervalMs: 500 };
    const first = await SupervisorProcess.start(SUPERVISOR_ID, env, 90_000);
    supervisors.push(first);
    const url = urlOf(first);
    const accepted: string[] = [];
    const submit = () => call(url, 'POST', '/jobs', { queue: 'work', name: 'slow', data: { kind: 'ok', value: accepted.length, delayMs: 200 } });
    for (let i = 0; i < 10; i++) {
      const reply = await submit();
      expect(reply.status).toBe(202);
      accepted.push(String(reply.json.id));
    }

    fillUp(mountPoint);
    expect(statfsSync(mountPoint).bavail).toBe(0);

    // Submit until the store refuses; every answer is prompt.
    let refusal: { status: number; json: Record<string, unknown>; ms: number } | null = null;
    const times: number[] = [];
    for (let i = 0; i < 200 && refusal === null; i++) {
      const reply = await submit();
      times.push(reply.ms);
      expect(reply.ms).toBeLessThan(PROMPT_MS);
      if (reply.status === 202) accepted.push(String(reply.json.id));
      else refusal = reply;
    }
    expect(refusal?.status, JSON.stringify(refusal)).toBe(503);
    expect(refusal!.json).toMatchObject({ error: 'unavailable', code: 'PITBOSS_STORE_WRITE_FAILED' });
    expect(String(refusal!.json.reason)).toContain(env.dataDir);

    const again = await submit();
    expect(again.status).toBe(503);
    expect(again.ms).toBeLessThan(PROMPT_MS);
    const ready = await call(url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json).toMatchObject({ ready: false, store: false });
    expect(String(ready.json.storeProblem)).toContain(env.dataDir);
    const health = await call(url, 'GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.ms).toBeLessThan(PROMPT_MS);

    // SIGTERM: bounded; exit 1 because the store closed without its shutdown checkpoint.
    const signalledAt = performance.now();
    const exit = await first.signal('SIGTERM', SHUTDOWN_TIMEOUT_MS + 10_000);
    const exitMs = performance.now() - signalledAt;
    expect(exit, first.stderr).toEqual({ code: 1, signal: null });
    expect(exitMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 2_000);

    // Grow the volume and start again under the same id: every acknowledged job is there and runs.
    execFileSync('mount', ['-o', 'remount,size=512m', mountPoint]);
    const second = await SupervisorProcess.start(SUPERVISOR_ID, env, 90_000);
    supervisors.push(second);
    const url2 = urlOf(second);
    const deadline = Date.now() + 60_000;
    let statuses: string[] = [];
    while (Date.now() < deadline) {
      statuses = await Promise.all(accepted.map(async (id) => {
        const reply = await call(url2, 'GET', `/jobs/${id}`);
        return reply.status === 200 ? String(reply.json.status) : `http ${reply.status}`;
      }));
      if (statuses.every((s) => s === 'completed')) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(statuses).toEqual(accepted.map(() => 'completed'));
    expect((await call(url2, 'GET', '/readyz')).status).toBe(200);
    console.log(`[fault:disk-full] ${accepted.length} jobs acknowledged (10 before the fill); refusal after ${times.length} submissions, ` +
      `slowest answer ${Math.round(Math.max(...times, again.ms))} ms; SIGTERM to exit ${Math.round(exitMs)} ms (code ${exit.code}); ` +
      'after growing the volume the restart completed every acknowledged job');
    expect(await second.signal('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 240_000);
});
