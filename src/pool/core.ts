/**
 * The engine behind `Pool`: the task queue, dispatch to piscina (at most one task per thread, so
 * waiting is visible here), results and their event batches, thread restarts counted against the
 * pool's intensity, recycling, and rebuilding piscina when it stops replacing threads.
 */
import type { Telemetry } from '../telemetry/bus.ts';
import { currentCorrelation } from '../telemetry/correlation.ts';
import { ThreadInbox, type LogSink } from './inbox.ts';
import {
  PoolClosedError, PoolFailedError, PoolSaturatedError, QueueTimeoutError, TaskFailedError, TaskTimeoutError, WorkerCrashedError,
} from './errors.ts';
import type { ResolvedPoolOptions } from './options.ts';
import { SlotField, slotFieldCount, type ChunkEnvelope, type TaskResult, type ThreadBootData, type ThreadMessage } from './protocol.ts';
import { Chunk, ChunkPolicy, drainAnswers, msSinceStamp } from './chunks.ts';
import { threadRuntimeUrl, threadsNeedTypeScript } from './runtime-path.ts';
import { PiscinaHost } from './piscina-host.ts';
import { createControlBuffer, SharedSettings } from './shared-control.ts';
import { PendingTask, TaskQueue } from './task-queue.ts';
import { classifyExit, errorMetadata, nsSince, ThreadRegistry, type PoolThread } from './threads.ts';
import { SpawnLedger } from './spawns.ts';
import { PoolTimers } from './timers.ts';
import type { LogLevels } from '../log/levels.ts';

export type PoolState = 'idle' | 'starting' | 'running' | 'closing' | 'closed' | 'failed';
const startTimeoutMs = 30_000;

export class PoolCore {
  readonly opts: ResolvedPoolOptions;
  readonly bus: Telemetry;
  readonly slots: Int32Array;
  readonly threads: ThreadRegistry;
  state: PoolState = 'idle';
  readonly #boot: ThreadBootData;
  readonly #control = createControlBuffer();
  readonly #queue = new TaskQueue();
  readonly #running = new Map<number, PendingTask>();
  /** Tasks a dying or killed thread was running, noted before the task's rejection arrives. */
  readonly #interrupted = new Map<number, PoolThread>();
  readonly #spawns: SpawnLedger;
  readonly #timers: PoolTimers;
  readonly #inbox: ThreadInbox;
  readonly #settings: SharedSettings;
  readonly #meta: { pool: string };
  readonly #host: PiscinaHost;
  readonly #chunks: ChunkPolicy;
  #taskSeq = 0;
  /** Threads piscina is running a task or chunk on (each has at most one). */
  #busyThreads = 0;
  /** How tasks went to threads: one per piscina task, or in chunks (see Pool.dispatched). */
  readonly dispatched = { single: 0, chunks: 0, chunkedTasks: 0 };
  /** Why the pool failed (set once, by #fail). */
  #failure: Error | null = null;
  #startedAt = 0;
  #onFailed: (error: Error) => void = () => {};
  #whenReady: (() => void) | null = null;
  #whenIdle: (() => void) | null = null;

  constructor(opts: ResolvedPoolOptions, bus: Telemetry, onLog: LogSink, levels: LogLevels) {
    this.opts = opts;
    this.bus = bus;
    this.#meta = { pool: opts.name };
    // Twice the threads: a replacement may start before the slot of the thread it replaces is freed.
    const slotCount = opts.threads * 2;
    this.slots = new Int32Array(new SharedArrayBuffer(slotCount * slotFieldCount * 4));
    this.#inbox = new ThreadInbox(bus, this.slots, opts.name, onLog);
    this.threads = new ThreadRegistry(this.slots, {
      interrupted: (thread, taskId) => this.#interrupted.set(taskId, thread),
      exited: (thread, reason, planned) => this.#threadExited(thread, reason, planned),
    });
    this.#timers = new PoolTimers(this);
    this.#spawns = new SpawnLedger(bus, opts.name, opts.intensity);
    this.#settings = new SharedSettings(bus, levels, this.#control, this.slots, opts.name);
    this.#chunks = new ChunkPolicy(opts.chunkMaxTasks, opts.chunkMaxTaskMs);
    this.#boot = {
      pool: opts.name, module: opts.workerUrl, slots: this.slots.buffer as SharedArrayBuffer, slotCount, control: this.#control,
      recycle: opts.recycle, sampleIntervalMs: opts.sampleIntervalMs, flushIntervalMs: opts.flushIntervalMs,
      batchEvents: opts.batchEvents, maxPendingBatches: opts.maxPendingBatches, taskTimeoutMs: opts.taskTimeoutMs,
      runtime: threadRuntimeUrl, typescript: threadsNeedTypeScript(opts.workerUrl),
    };
    this.#host = new PiscinaHost(opts.threads, opts.resourceLimits, this.#boot, (message) => this.onThreadMessage(message));
  }

  get queueSize(): number {
    return this.#queue.size;
  }

  /** Threads busy with a task or chunk. */
  get busy(): number {
    return this.#busyThreads;
  }

  /** Starts the threads; resolves when every thread is ready, rejects if the pool fails first. */
  start(onFailed: (error: Error) => void): Promise<void> {
    this.#onFailed = onFailed;
    this.state = 'starting';
    this.#startedAt = performance.now();
    this.#spawns.reset();
    this.#settings.start();
    // A ref'd timer: piscina unrefs its threads, so without it a script awaiting start() could exit
    // before the threads say hello; it also bounds a start that never completes.
    const timeout = setTimeout(() => this.#fail(new PoolFailedError(this.opts.name, 0, 0, `threads not ready within ${startTimeoutMs} ms`)), startTimeoutMs);
    const ready = new Promise<void>((resolve) => {
      this.#whenReady = () => {
        clearTimeout(timeout);
        resolve();
      };
    });
    for (let slot = 0; slot < this.opts.threads; slot++) this.#spawns.expect(slot, 'initial', 'start');
    this.#buildPiscina();
    return ready;
  }

  run(input: unknown, task: string, metadata: Readonly<Record<string, string | number>> | null, signal: AbortSignal | null): Promise<unknown> {
    if (this.state !== 'running' && this.state !== 'starting') {
      return Promise.reject(this.#failure ?? new PoolClosedError(this.opts.name));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const correlation = currentCorrelation();
    return new Promise((resolve, reject) => {
      const pending = new PendingTask(input, task, correlation === undefined ? null : [correlation.correlationId, correlation.traceparent], metadata, signal, resolve, reject);
      if (this.#busyThreads < this.opts.threads && this.#queue.size === 0 && this.state === 'running') return this.#dispatch(pending);
      if (this.#queue.size >= this.opts.maxQueue) {
        this.bus.execute('pool.saturated', { queue_size: this.#queue.size, max_queue: this.opts.maxQueue }, this.#meta);
        return reject(new PoolSaturatedError(this.opts.name, this.opts.maxQueue));
      }
      this.#enqueue(pending);
    });
  }

  #enqueue(pending: PendingTask): void {
    pending.enqueuedAt = performance.now();
    this.#queue.push(pending);
    this.bus.execute('pool.queue.enqueued', { queue_size: this.#queue.size }, { pool: this.opts.name, task: pending.task });
    if (this.opts.queueTimeoutMs !== null) {
      pending.queueTimer = setTimeout(() => {
        this.#queue.remove(pending);
        const waited = performance.now() - pending.enqueuedAt;
        this.bus.execute('pool.queue.timeout', { wait: Math.round(waited * 1e6) }, { pool: this.opts.name, task: pending.task });
        pending.reject(new QueueTimeoutError(this.opts.name, waited));
      }, this.opts.queueTimeoutMs);
    }
    pending.signal?.addEventListener('abort', () => {
      if (pending.removed || pending.id !== 0) return;
      this.#queue.remove(pending);
      if (pending.queueTimer !== null) clearTimeout(pending.queueTimer);
      pending.reject(pending.signal!.reason);
    }, { once: true });
  }

  /** Hands queued tasks to free threads, several at once to a thread while tasks are short (chunks.ts). */
  pump(): void {
    while ((this.state === 'running' || this.state === 'closing') && this.#busyThreads < this.opts.threads && this.#queue.size > 0) {
      const size = this.#chunks.size(this.#queue.size, this.opts.threads - this.#busyThreads);
      const first = this.#dequeue();
      if (size === 1 || first.signal !== null) {
        this.#dispatch(first);
        continue;
      }
      const tasks = [first];
      while (tasks.length < size && this.#queue.peek()?.signal === null) tasks.push(this.#dequeue());
      if (tasks.length === 1) this.#dispatch(first);
      else this.#dispatchChunk(new Chunk(tasks));
    }
    if (this.state === 'closing' && this.#running.size === 0 && this.#queue.size === 0) this.#whenIdle?.();
  }

  #dequeue(): PendingTask {
    const pending = this.#queue.shift()!;
    if (pending.queueTimer !== null) clearTimeout(pending.queueTimer);
    this.bus.execute('pool.queue.dequeued', { wait: Math.round((performance.now() - pending.enqueuedAt) * 1e6) }, { pool: this.opts.name, task: pending.task });
    return pending;
  }

  /** Gives a task its dispatch id and marks it running; returns the id. */
  #assign(pending: PendingTask): number {
    const id = ++this.#taskSeq;
    pending.id = id;
    pending.answered = false;
    pending.dispatchedAt = performance.now();
    this.#running.set(id, pending);
    return id;
  }

  #dispatch(pending: PendingTask): void {
    const id = this.#assign(pending);
    this.#busyThreads++;
    this.dispatched.single++;
    let signal: AbortSignal | undefined;
    if (this.opts.taskTimeoutMs !== null || pending.signal !== null) {
      const abort = new AbortController();
      pending.abort = abort;
      signal = abort.signal;
      if (this.opts.taskTimeoutMs !== null) {
        pending.killTimer = setTimeout(() => {
          pending.timedOut = true;
          this.#kill(pending, 'timeout', abort);
        }, this.opts.taskTimeoutMs + this.opts.killGraceMs);
      }
      pending.signal?.addEventListener('abort', () => this.#kill(pending, 'aborted', abort), { once: true });
    }
    this.#host.current!.run(pending.envelope(id), { signal }).then(
      (result: TaskResult) => {
        this.#busyThreads--;
        pending.answered = true;
        this.#settled(pending, result);
      },
      (error: unknown) => {
        this.#busyThreads--;
        this.#rejected(pending, error);
      },
    );
  }

  /**
   * Sends several tasks to one thread. Their answers arrive on the thread's result port; when the
   * chunk ends (or its thread dies, see #threadExited) they are read there. Any task without an
   * answer then is settled like a single task piscina rejected: crashed if it was running, else run elsewhere.
   */
  #dispatchChunk(chunk: Chunk): void {
    const envelopes = chunk.tasks.map((pending) => pending.envelope(this.#assign(pending)));
    const message: ChunkEnvelope = [envelopes];
    this.#busyThreads++;
    this.dispatched.chunks++;
    this.dispatched.chunkedTasks += envelopes.length;
    if (this.opts.taskTimeoutMs !== null) this.#watchChunk(chunk, this.opts.taskTimeoutMs + this.opts.killGraceMs);
    this.#host.current!.run(message).then(
      (slot: number) => {
        this.#busyThreads--;
        chunk.stop();
        const results = this.threads.bySlot(slot)?.results;
        if (results != null) this.#drainAnswers(results);
        this.#chunkEnded(chunk, new Error(`pool ${this.opts.name}: a chunk ended without the answer of one of its tasks`));
      },
      (error: unknown) => {
        this.#busyThreads--;
        chunk.stop();
        this.#chunkEnded(chunk, error);
      },
    );
  }

  #chunkEnded(chunk: Chunk, error: unknown): void {
    for (const pending of chunk.unanswered()) if (this.#running.get(pending.id) === pending) this.#rejected(pending, error);
    this.pump();
  }

  #drainAnswers(port: NonNullable<PoolThread['results']>): void {
    drainAnswers(port, (id, result) => {
      const pending = this.#running.get(id);
      if (pending === undefined || pending.answered) return;
      pending.answered = true;
      this.#settled(pending, result);
    });
  }

  /**
   * The deadline of a chunk's tasks: each may run `taskTimeoutMs` (its soft deadline in the thread)
   * plus `killGraceMs` from its own start, read from the slot table; past that its thread is killed.
   */
  #watchChunk(chunk: Chunk, delayMs: number): void {
    const limitMs = this.opts.taskTimeoutMs! + this.opts.killGraceMs;
    chunk.timer = setTimeout(() => {
      for (const pending of chunk.unanswered()) {
        const thread = this.threads.running(pending.id);
        if (thread === undefined) continue;
        const elapsed = msSinceStamp(this.threads.field(thread.slot, SlotField.taskStartedMs));
        if (elapsed < limitMs) return this.#watchChunk(chunk, limitMs - elapsed);
        pending.timedOut = true;
        thread.killReason = 'timeout';
        this.#interrupted.set(pending.id, thread);
        void thread.worker.terminate();
        return;
      }
      // Between two tasks of the chunk: the next one starts now, so a full limit from here is safe.
      this.#watchChunk(chunk, limitMs);
    }, delayMs);
  }

  /**
   * Aborts a dispatched task. piscina terminates the thread if it is running the task and rejects
   * the task at once, before the thread's exit: so the thread is found and marked here.
   */
  #kill(pending: PendingTask, reason: 'timeout' | 'aborted', abort: AbortController): void {
    const thread = this.threads.running(pending.id);
    if (thread !== undefined) {
      thread.killReason = reason;
      this.#interrupted.set(pending.id, thread);
    }
    abort.abort();
  }

  #finish(pending: PendingTask): void {
    this.#running.delete(pending.id);
    if (pending.killTimer !== null) clearTimeout(pending.killTimer);
  }

  #settled(pending: PendingTask, result: TaskResult): void {
    // So a task's events precede its result (see ThreadInbox).
    if (!this.#inbox.hasPendingBatches(result[0])) this.#settledInOrder(pending, result);
    else this.#inbox.afterBatches(result[0], () => this.#settledInOrder(pending, result));
  }

  #settledInOrder(pending: PendingTask, [slot, value, duration, batch, outcome]: TaskResult): void {
    this.#finish(pending);
    if (outcome === undefined) {
      this.#chunks.observe(duration);
      // The common answer. The thread is free: hand it the next task before delivering this one's
      // events, so it does not sit idle meanwhile (piscina's own queue dispatches this early too).
      this.pump();
      const call = pending.callMetadata(this.opts.name, slot);
      this.bus.execute('worker.call.start', {}, call);
      if (batch != null) this.#inbox.ingest(batch, slot);
      this.bus.execute('worker.call.stop', { duration }, call);
      return pending.resolve(value);
    }
    if (outcome.retry !== true) this.#chunks.observe(duration);
    const call = outcome.retry === true ? null : pending.callMetadata(this.opts.name, slot);
    if (call !== null) this.bus.execute('worker.call.start', {}, call);
    if (batch != null) this.#inbox.ingest(batch, slot);
    if (call !== null && outcome.error === undefined) this.bus.execute('worker.call.stop', { duration }, call);
    else if (call !== null) this.bus.execute('worker.call.exception', { duration }, Object.assign(call, { error_type: outcome.error!.name, error: outcome.error!.message }));
    if (outcome.recycle !== undefined) {
      const thread = this.threads.bySlot(slot);
      if (thread !== undefined) this.#terminatePlanned(thread, outcome.recycle);
    }
    if (outcome.retry === true) {
      this.#requeue(pending);
    } else if (outcome.error === undefined) {
      pending.resolve(value);
    } else {
      pending.reject(new TaskFailedError(this.opts.name, outcome.error));
    }
    this.pump();
  }

  #rejected(pending: PendingTask, error: unknown): void {
    this.#finish(pending);
    const thread = this.#threadThatRan(pending.id);
    if (thread === undefined && !pending.timedOut && !pending.signal?.aborted && this.state !== 'failed') {
      // The thread went away before it started this task (recycled, crashed between tasks,
      // piscina rebuilt): the task never ran, so it is safe to run it elsewhere.
      this.#requeue(pending);
      return this.pump();
    }
    const failure = pending.timedOut ? new TaskTimeoutError(this.opts.name, this.opts.taskTimeoutMs ?? 0)
      : pending.signal?.aborted ? pending.signal.reason
        : this.#failure !== null ? this.#failure
          : new WorkerCrashedError(this.opts.name, thread?.plannedReason ?? classifyExit(thread?.error ?? null, 0), thread?.error ?? error);
    if (thread !== undefined) {
      this.bus.execute('worker.call.exception', { duration: Math.round((performance.now() - pending.dispatchedAt) * 1e6) },
        Object.assign(pending.callMetadata(this.opts.name, thread.slot), errorMetadata(failure)));
    }
    pending.reject(failure);
    this.pump();
  }

  #requeue(pending: PendingTask): void {
    // Threads already destroyed (a close past its timeout, a failed pool): nothing would run it.
    if (this.#host.current === null) return pending.reject(this.#failure ?? new PoolClosedError(this.opts.name));
    pending.id = 0;
    pending.requeues++;
    this.#queue.unshift(pending);
  }

  #threadThatRan(taskId: number): PoolThread | undefined {
    const thread = this.#interrupted.get(taskId);
    this.#interrupted.delete(taskId);
    return thread;
  }

  /** piscina `'message'`: hello, standalone batches and idle recycle requests from threads. */
  onThreadMessage(message: ThreadMessage): void {
    if (message === null || typeof message !== 'object') return;
    if (message.type === 'pitboss.batch') {
      this.#inbox.standalone(message.batch, message.slot);
    } else if (message.type === 'pitboss.hello') {
      this.#hello(message.threadId, message.slot, message.results);
    } else if (message.type === 'pitboss.recycle') {
      const thread = this.threads.byThreadId(message.threadId);
      if (thread !== undefined) this.#terminatePlanned(thread, message.reason);
    }
  }

  #hello(threadId: number, slot: number, results: PoolThread['results']): void {
    let thread = this.threads.hello(threadId, slot, results);
    if (thread === undefined && this.#host.current !== null) {
      this.threads.adopt(this.#host.current.threads);
      thread = this.threads.hello(threadId, slot, results);
    }
    if (thread === undefined) return;
    this.#spawns.arrived(thread);
    if (this.state === 'starting' && this.threads.ready().length >= this.opts.threads) {
      this.state = 'running';
      this.bus.execute('pool.initialized', { duration: nsSince(this.#startedAt), workers: this.opts.threads }, this.#meta);
      this.#timers.start();
      this.#whenReady?.();
    }
    this.pump();
  }

  #threadExited(thread: PoolThread, reason: string, planned: boolean): void {
    // Answers it posted inside a chunk are read before piscina's rejection of the chunk arrives (a
    // microtask later), so only tasks it had not finished are settled as crashed or run elsewhere.
    if (thread.results !== null) {
      this.#drainAnswers(thread.results);
      thread.results.close();
    }
    // Results held back for batches that a dead thread can no longer deliver are released now.
    if (thread.slot >= 0) this.#inbox.release(thread.slot);
    const stopping = this.state === 'closing' || this.state === 'closed' || this.state === 'failed';
    if (thread.slot < 0) {
      if (stopping) return;
      this.bus.execute('pool.worker.spawn_failed', { duration: nsSince(thread.spawnStartedAt) }, {
        pool: this.opts.name, worker_id: this.#spawns.likelySlot(), ...errorMetadata(thread.error),
      });
      if (this.#countRestart()) this.#ensureThreads();
      return;
    }
    const { slot } = thread;
    const lifetime = nsSince(thread.readyAt);
    const tasks = this.threads.field(slot, SlotField.tasks);
    const meta = { pool: this.opts.name, worker_id: slot, thread_id: thread.threadId, reason, planned };
    this.bus.execute('pool.worker.terminated', { lifetime, tasks }, meta);
    if (stopping) return;
    if (reason.startsWith('max_')) {
      this.bus.execute('pool.worker.recycled', { lifetime, tasks, heap_bytes: this.threads.field(slot, SlotField.heapKiB) * 1024 }, meta);
      this.#spawns.expect(slot, 'recycle', reason);
    } else {
      if (!planned && !this.#countRestart()) return;
      this.#spawns.expect(slot, 'restart', reason);
    }
    this.#ensureThreads();
  }

  /** Records an unplanned restart; false (and the pool fails) when it exceeds the intensity. */
  #countRestart(): boolean {
    if (this.#spawns.countRestart()) return true;
    this.#fail(new PoolFailedError(this.opts.name, this.#spawns.restarts, this.opts.intensity.periodMs));
    return false;
  }

  /** Adopts replacements piscina made; rebuilds piscina when it stopped replacing threads. */
  #ensureThreads(): void {
    const piscina = this.#host.current;
    if (piscina === null) return;
    this.threads.adopt(piscina.threads);
    // piscina sets a sticky flag when a thread dies before it is ready and then never replaces
    // threads again; a fresh instance is the only way back to full strength.
    if (piscina.threads.length < this.opts.threads) this.#rebuild();
  }

  #buildPiscina(): void {
    this.threads.adopt(this.#host.build().threads);
  }

  #rebuild(): void {
    for (const thread of this.threads.all()) thread.plannedReason ??= 'rebuild';
    this.#buildPiscina();
  }

  /** Terminates a thread on purpose (recycle); tasks it had not started are run elsewhere. */
  #terminatePlanned(thread: PoolThread, reason: string): void {
    if (thread.plannedReason !== null || thread.exited) return;
    thread.plannedReason = reason;
    void thread.worker.terminate();
  }

  #fail(error: Error): void {
    if (this.state === 'failed' || this.state === 'closed') return;
    const wasStarting = this.state === 'starting';
    this.state = 'failed';
    this.#failure = error;
    this.#timers.stop();
    for (const pending of this.#queue.drain()) {
      if (pending.queueTimer !== null) clearTimeout(pending.queueTimer);
      pending.reject(error);
    }
    void this.#destroyAll('pool_failed');
    if (wasStarting) this.#whenReady?.();
    this.#onFailed(error);
  }

  /**
   * Stops taking tasks, lets queued and running ones finish (up to `timeoutMs`), then ends every
   * thread. A second call joins the first; with `timeoutMs` 0 it cuts the wait short (a kill).
   */
  close(timeoutMs: number): Promise<void> {
    if (this.#closing !== null) {
      if (timeoutMs === 0) this.#cutShort?.();
      return this.#closing;
    }
    this.#closing = this.#close(timeoutMs);
    return this.#closing;
  }

  #closing: Promise<void> | null = null;
  #cutShort: (() => void) | null = null;

  async #close(timeoutMs: number): Promise<void> {
    const wasStarting = this.state === 'starting';
    if (this.state !== 'failed' && this.state !== 'idle') {
      this.state = 'closing';
      this.#timers.stop();
      if (this.#running.size > 0 || this.#queue.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          this.#whenIdle = resolve;
          this.#cutShort = resolve;
          timer = setTimeout(resolve, timeoutMs);
          this.pump();
        });
        clearTimeout(timer);
      }
      for (const pending of this.#queue.drain()) pending.reject(new PoolClosedError(this.opts.name));
    }
    await this.#destroyAll('shutdown');
    this.state = 'closed';
    if (wasStarting) this.#whenReady?.();
  }

  async #destroyAll(reason: string): Promise<void> {
    this.#settings.stop();
    for (const thread of this.threads.all()) thread.plannedReason ??= reason;
    await this.#host.destroy();
  }
}


