/**
 * Fault injection for tests: each `kind` makes the thread misbehave in one way a real workload can.
 */
import { defineWorker } from '../src/pool/define.ts';

export type FaultInput =
  | { kind: 'ok'; value?: unknown; delayMs?: number }
  | { kind: 'throw'; message?: string }
  | { kind: 'uncaught' }
  | { kind: 'exit'; code?: number }
  | { kind: 'exit-idle'; afterMs?: number }
  | { kind: 'oom' }
  | { kind: 'hang' }
  | { kind: 'cooperative'; ms: number }
  | { kind: 'emit'; events: { name: string; measurements: unknown; metadata?: unknown }[] }
  | { kind: 'burst'; count: number }
  | { kind: 'stream'; count: number; intervalMs: number }
  | { kind: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string }
  | { kind: 'context' }
  | { kind: 'unclonable' }
  | { kind: 'whoami'; delayMs?: number };

class InjectedError extends Error {
  override name = 'InjectedError';
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export default defineWorker(async (input: FaultInput, ctx) => {
  switch (input.kind) {
    case 'ok':
      if (input.delayMs) await sleep(input.delayMs);
      return input.value ?? 'ok';
    case 'throw':
      throw new InjectedError(input.message ?? 'injected failure');
    case 'uncaught':
      // Thrown outside the task's promise chain: kills the thread, as in real code.
      setTimeout(() => { throw new InjectedError('uncaught async failure'); }, 1);
      await sleep(1000);
      return 'unreachable';
    case 'exit':
      process.exit(input.code ?? 3);
      break;
    case 'exit-idle':
      // Returns at once and exits later, with no task running: the thread dies idle, as a broken
      // thread (not a bad task) does, which counts against the pool's intensity.
      setTimeout(() => process.exit(5), input.afterMs ?? 20);
      return 'ok';
    case 'oom': {
      const hoard: unknown[] = [];
      for (;;) hoard.push(new Array(1_000_000).fill(hoard.length)); // 8 MB a step: dies of its heap limit in ~0.1–0.3 s
    }
    case 'hang':
      for (;;) { /* a task that never yields: only terminating the thread stops it */ }
    case 'cooperative':
      // Stops at the soft deadline (ctx.signal) instead of being killed.
      for (const end = Date.now() + input.ms; Date.now() < end;) {
        if (ctx.signal.aborted) return 'aborted cleanly';
        await sleep(5);
      }
      return 'finished';
    case 'emit':
      for (const e of input.events) (ctx.emit as (n: string, m: unknown, md?: unknown) => void)(e.name, e.measurements, e.metadata);
      return 'emitted';
    case 'burst':
      for (let i = 0; i < input.count; i++) ctx.emit('action.stop', { duration: i }, { action: 'burst', status: 'ok' });
      return input.count;
    case 'stream':
      // Keeps emitting while the supervisor changes rules: each event's index shows when it took effect.
      for (let i = 0; i < input.count; i++) {
        ctx.emit('action.stop', { duration: i }, { action: 'stream', status: 'ok' });
        await sleep(input.intervalMs);
      }
      return input.count;
    case 'log':
      ctx.log[input.level](input.msg, { pool_seen: ctx.pool, worker_seen: ctx.workerId });
      return 'logged';
    case 'whoami':
      // Which thread ran the task, and under which task name.
      if (input.delayMs) await sleep(input.delayMs);
      return { threadId: ctx.threadId, task: ctx.task };
    case 'unclonable':
      // A function cannot cross the thread boundary: structured clone refuses it.
      return () => 'no';
    case 'context':
      return { correlationId: ctx.correlationId, traceparent: ctx.traceparent, tracestate: ctx.tracestate, pool: ctx.pool, workerId: ctx.workerId, task: ctx.task };
  }
});
