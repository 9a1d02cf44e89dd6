/**
 * The engine behind `Pool`, its lifecycle side: starting threads, their hellos and exits, restarts
 * counted against the pool's intensity, recycling, rebuilding piscina when it stops replacing
 * threads, failing and closing. Tasks (queue, dispatch, outcomes) are the TaskDispatcher's (tasks.ts).
 *
 * engine/ is the supervisor side of a pool: everything here runs on the supervisor's thread and
 * none of it is loaded in a worker thread (that code is in ../thread/, and the formats both sides
 * read and write are in ../wire/). The public classes in ../ hold a PoolCore and delegate to it.
 */
import type { Telemetry } from '../../telemetry/bus.ts';
import { TaskDispatcher } from './tasks.ts';
import { createRingBuffer } from '../wire/event-ring.ts';
import { ThreadInbox, type LogSink } from './inbox.ts';
import { PoolClosedError, PoolFailedError } from '../../errors/pool.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import { CancelTable, cancelTableWords } from '../wire/cancel-table.ts';
import { SlotField, slotFieldCount, type ThreadBootData, type ThreadMessage } from '../wire/protocol.ts';
import { threadRuntimeUrl, threadsNeedTypeScript } from './runtime-path.ts';
import { PiscinaHost } from './piscina-host.ts';
import { createRuleTableBuffer, SharedSettings } from '../wire/shared-settings.ts';
import { errorMetadata, nsSince, ThreadRegistry, type PoolThread } from './threads.ts';
import { SpawnLedger } from './spawns.ts';
import { KeepAlive } from './keep-alive.ts';
import type { PoolState } from './state.ts';
import { PoolTimers } from './timers.ts';
import type { LogLevels } from '../../log/levels.ts';

const startTimeoutMs = 30_000;

export class PoolCore {
  readonly opts: ResolvedPoolOptions;
  readonly bus: Telemetry;
  readonly slots: Int32Array;
  readonly threads: ThreadRegistry;
  state: PoolState = 'idle';
  readonly #boot: ThreadBootData;
  readonly #cancels: CancelTable;
  readonly #ruleTable = createRuleTableBuffer();
  readonly #tasks: TaskDispatcher;
  readonly #spawns: SpawnLedger;
  readonly #timers: PoolTimers;
  readonly #inbox: ThreadInbox;
  readonly #settings: SharedSettings;
  readonly #meta: { pool: string };
  readonly #host: PiscinaHost;
  /** Held while tasks are pending or threads are starting (piscina unrefs its threads). */
  readonly #keepAlive = new KeepAlive();
  /** Pending start of threads again after one died while starting (see SpawnLedger.failedStartDelayMs). */
  #spawnRetry: NodeJS.Timeout | null = null;
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
    const events = createRingBuffer(slotCount);
    this.#inbox = new ThreadInbox(bus, this.slots, opts.name, onLog, events, slotCount);
    this.threads = new ThreadRegistry(this.slots, {
      dying: (thread) => { if (thread.results !== null) this.#tasks.drainAnswers(thread.results); },
      interrupted: (thread, taskId) => this.#tasks.noteInterrupted(thread, taskId),
      exited: (thread, reason, planned) => this.#threadExited(thread, reason, planned),
    });
    this.#timers = new PoolTimers(this);
    this.#spawns = new SpawnLedger(bus, opts.name, opts.intensity, this.#keepAlive);
    this.#settings = new SharedSettings(bus, levels, this.#ruleTable, this.slots, opts.name);
    this.#cancels = new CancelTable(cancelTableWords(opts.threads * opts.chunkMaxTasks));
    this.#boot = {
      cancels: this.#cancels.words.buffer as SharedArrayBuffer,
      pool: opts.name, module: opts.workerUrl, slots: this.slots.buffer as SharedArrayBuffer, slotCount, ruleTable: this.#ruleTable, events,
      recycle: opts.recycle, sampleIntervalMs: opts.sampleIntervalMs, flushIntervalMs: opts.flushIntervalMs,
      batchEvents: opts.batchEvents, maxPendingBatches: opts.maxPendingBatches, taskTimeoutMs: opts.taskTimeoutMs,
      runtime: threadRuntimeUrl, typescript: threadsNeedTypeScript(opts.workerUrl),
    };
    this.#host = new PiscinaHost(opts.threads, opts.resourceLimits, this.#boot, (message) => this.onThreadMessage(message));
    this.#tasks = new TaskDispatcher({
      opts, bus, threads: this.threads, inbox: this.#inbox, cancels: this.#cancels, keepAlive: this.#keepAlive,
      piscina: () => this.#host.current,
      state: () => this.state,
      failure: () => this.#failure,
      terminatePlanned: (thread, reason) => this.#terminatePlanned(thread, reason),
      whenIdle: () => this.#whenIdle?.(),
    });
  }

  get queueSize(): number {
    return this.#tasks.queueSize;
  }

  /** Threads busy with a task or chunk. */
  get busy(): number {
    return this.#tasks.busy;
  }

  /** How tasks went to threads: one per piscina task, or in chunks (see Pool.dispatched). */
  get dispatched(): TaskDispatcher['dispatched'] {
    return this.#tasks.dispatched;
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

  run(input: unknown, task: string, metadata: Readonly<Record<string, string | number>> | null, signal: AbortSignal | null, timeoutMs: number | null = null): Promise<unknown> {
    return this.#tasks.run(input, task, metadata, signal, timeoutMs);
  }

  /** Hands queued tasks to free threads (see TaskDispatcher.pump). */
  pump(): void {
    this.#tasks.pump();
  }

  /** piscina `'message'`: hello, standalone batches and idle recycle requests from threads. */
  onThreadMessage(message: ThreadMessage): void {
    if (message === null || typeof message !== 'object') return;
    if (message.type === 'pitboss.batch') {
      this.#inbox.standalone(message.batch, message.slot, message.threadId);
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
    // At full strength no slot waits for a thread, whichever slots the replacements claimed.
    if (this.threads.readyCount >= this.opts.threads) this.#spawns.clear();
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
      this.#tasks.drainAnswers(thread.results);
      thread.results.close();
    }
    // Results held back for batches that a dead thread can no longer deliver are released now.
    if (thread.slot >= 0) this.#inbox.release(thread.slot);
    const stopping = this.state === 'closing' || this.state === 'closed' || this.state === 'failed';
    if (thread.slot < 0) {
      if (stopping) return;
      const cause = errorMetadata(thread.error);
      this.bus.execute('pool.worker.spawn_failed', { duration: nsSince(thread.spawnStartedAt) }, {
        pool: this.opts.name, worker_id: this.#spawns.likelySlot(), ...cause,
      });
      if (this.#countRestart(`a thread died while starting: ${cause.error_type}: ${cause.error}`, thread.error)) this.#retryThreadsLater();
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
      // A thread that died while a task awaited its answer (it crashed, exited, ran out of memory or
      // past its deadline running it, or could not send its answer) died of that task: the task
      // fails and the thread is replaced, but intensity is not charged. Intensity stops a pool that
      // cannot work (threads dying idle or while starting), not one fed some bad jobs: counted, 11
      // poison jobs a minute would fail the pool and every task queued behind them.
      const fault = thread.faultTask !== null ? 'task' : 'thread';
      if (!planned && fault === 'thread' && !this.#countRestart(`a thread died idle (${reason}): ${errorMetadata(thread.error).error}`)) return;
      this.#spawns.expect(slot, 'restart', reason, fault);
    }
    this.#ensureThreads();
  }

  /** Records an unplanned restart; false (and the pool fails, naming `death`) when it exceeds the intensity. */
  #countRestart(death: string, cause: unknown = null): boolean {
    if (this.#spawns.countRestart()) return true;
    this.#fail(new PoolFailedError(this.opts.name, this.#spawns.restarts, this.opts.intensity.periodMs, undefined, death, cause ?? undefined));
    return false;
  }

  /** Starts threads again after a backoff: a thread that died while starting will likely die again at once. */
  #retryThreadsLater(): void {
    if (this.#spawnRetry !== null) return;
    this.#spawnRetry = setTimeout(() => {
      this.#spawnRetry = null;
      if (this.state === 'starting' || this.state === 'running') this.#ensureThreads();
    }, this.#spawns.failedStartDelayMs());
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
    for (const pending of this.#tasks.drainQueue()) pending.reject(error);
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
      if (!this.#tasks.idle) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          this.#whenIdle = resolve;
          this.#cutShort = resolve;
          timer = setTimeout(resolve, timeoutMs);
          this.pump();
        });
        clearTimeout(timer);
      }
      for (const pending of this.#tasks.drainQueue()) pending.reject(new PoolClosedError(this.opts.name));
    }
    await this.#destroyAll('shutdown');
    this.state = 'closed';
    if (wasStarting) this.#whenReady?.();
  }

  async #destroyAll(reason: string): Promise<void> {
    this.#settings.stop();
    if (this.#spawnRetry !== null) clearTimeout(this.#spawnRetry);
    this.#spawnRetry = null;
    this.#spawns.clear();
    for (const thread of this.threads.all()) thread.plannedReason ??= reason;
    await this.#host.destroy();
    // piscina waits only for the threads it still holds; one it dropped at its 'error' (it died
    // while starting) may not have exited yet. No thread outlives close.
    await Promise.all(this.threads.all().map((thread) => (thread.exited ? undefined : new Promise<void>((resolve) => {
      thread.worker.once('exit', () => resolve());
      void thread.worker.terminate();
    }))));
    this.#keepAlive.dispose();
  }
}


