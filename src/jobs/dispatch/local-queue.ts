/**
 * One in-process queue: every job it holds by id (waiting, delayed or active), a heap of the waiting
 * ones (higher priority first, then first-in first-out), and the consumers it hands jobs to.
 *
 * Handing out is batched into one microtask, so `add` of many jobs returns before any processor
 * starts and the heap is drained once instead of once per job.
 */
import type { DispatchJob } from '../types.ts';
import { PriorityHeap } from './priority-heap.ts';
import type { SettledOutcome } from './processing.ts';

/** A job the queue holds. Fields are all set at creation (fixed shape). */
export interface LocalEntry {
  readonly id: string;
  readonly queue: string;
  readonly name: string;
  readonly priority: number;
  state: 'waiting' | 'delayed' | 'active';
  /** Order of arrival among jobs of equal priority; renewed each time the job becomes waiting. */
  seq: number;
  timer: NodeJS.Timeout | null;
}

/** What the queue needs from a consumer. */
export interface LocalReceiver {
  /** True when the receiver takes a job right now (running, not paused, below its concurrency). */
  ready(): boolean;
  /** Starts processing; the receiver calls `queue.settle(entry, outcome)` when done. */
  receive(entry: LocalEntry): void;
}

const runsBefore = (a: LocalEntry, b: LocalEntry): boolean => a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);

export class LocalQueue {
  readonly name: string;
  readonly #entries = new Map<string, LocalEntry>();
  readonly #waiting = new PriorityHeap<LocalEntry>(runsBefore);
  #receivers: readonly LocalReceiver[] = [];
  #nextReceiver = 0;
  #seq = 0;
  #pumpScheduled = false;

  constructor(name: string) {
    this.name = name;
  }

  /** Jobs held: waiting, delayed and active. */
  get size(): number {
    return this.#entries.size;
  }

  /** Adds a job unless one with its id is held (in any state). */
  add(job: DispatchJob): void {
    if (this.#entries.has(job.id)) return;
    // Rounded like the BullMQ backend's priorities, so 1.2 and 1.4 are one priority on both.
    const entry: LocalEntry = { id: job.id, queue: job.queue, name: job.name, priority: Math.round(job.priority), state: 'delayed', seq: 0, timer: null };
    this.#entries.set(job.id, entry);
    this.#schedule(entry, job.delayMs);
  }

  /** Makes a job waiting now: added if unknown, its timer cut short if delayed; waiting or active, it is left as it is. */
  promote(job: DispatchJob): void {
    const entry = this.#entries.get(job.id);
    if (entry === undefined) return this.add({ ...job, delayMs: 0 });
    if (entry.state !== 'delayed') return;
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.timer = null;
    this.#makeWaiting(entry);
  }

  /** Applies a processor's outcome: `done` forgets the job, `retry` holds it back for the delay. */
  settle(entry: LocalEntry, outcome: SettledOutcome): void {
    // After clear() (dispatcher closed) a late outcome belongs to a job this queue no longer holds.
    if (this.#entries.get(entry.id) !== entry) return;
    if (outcome.kind === 'done') this.#entries.delete(entry.id);
    else this.#schedule(entry, outcome.delayMs);
  }

  attach(receiver: LocalReceiver): void {
    this.#receivers = [...this.#receivers, receiver];
    this.wake();
  }

  detach(receiver: LocalReceiver): void {
    this.#receivers = this.#receivers.filter((r) => r !== receiver);
  }

  /** Hands waiting jobs to ready receivers, soon (one microtask later). */
  wake(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Drops every job and timer (the dispatcher is closing). */
  clear(): void {
    for (const entry of this.#entries.values()) if (entry.timer !== null) clearTimeout(entry.timer);
    this.#entries.clear();
    this.#waiting.clear();
    this.#receivers = [];
  }

  #schedule(entry: LocalEntry, delayMs: number): void {
    if (delayMs <= 0) return this.#makeWaiting(entry);
    entry.state = 'delayed';
    // Unref'd: a pending retry must not keep an otherwise finished process alive.
    entry.timer = setTimeout(() => {
      entry.timer = null;
      this.#makeWaiting(entry);
    }, delayMs).unref();
  }

  #makeWaiting(entry: LocalEntry): void {
    entry.state = 'waiting';
    entry.seq = ++this.#seq;
    this.#waiting.push(entry);
    this.wake();
  }

  #pump(): void {
    while (this.#waiting.size > 0) {
      const receiver = this.#nextReadyReceiver();
      if (receiver === null) return;
      const entry = this.#waiting.pop() as LocalEntry;
      entry.state = 'active';
      receiver.receive(entry);
    }
  }

  /** Round-robin over receivers, so two consumers of one queue share its jobs. */
  #nextReadyReceiver(): LocalReceiver | null {
    const receivers = this.#receivers;
    for (let i = 0; i < receivers.length; i++) {
      const index = (this.#nextReceiver + i) % receivers.length;
      const receiver = receivers[index] as LocalReceiver;
      if (receiver.ready()) {
        this.#nextReceiver = index + 1;
        return receiver;
      }
    }
    return null;
  }
}
