/**
 * In-process fake children for supervision tests. A `Fleet` builds child specs whose instances are
 * `FakeChild`s the test can crash, end or make misbehave on stop, and records every start, stop and
 * kill in one log so tests can assert ordering without timing.
 */
import type { ChildExit, ChildHandle, ChildSpec, RestartType, StartContext } from '../../src/supervision/index.ts';
import type { Supervisor } from '../../src/supervision/index.ts';

/** How a fake reacts to `stop()`. */
export type StopBehavior = 'exit' | 'hang' | 'crash' | 'reject';

export interface FakeOptions {
  restart?: RestartType;
  shutdownMs?: number;
  backoff?: ChildSpec['backoff'];
  onStop?: StopBehavior;
  /** Whether instances have a `kill()` (default true). */
  killable?: boolean;
  /** Start attempts (1-based, counting every attempt) that throw. */
  failStarts?: (attempt: number) => boolean;
  /** Instances (1-based) that crash right after starting. */
  crashOnStart?: (instance: number) => boolean;
}

/** One instance of a fake child. */
export class FakeChild implements ChildHandle {
  readonly id: string;
  readonly instance: number;
  readonly exited: Promise<ChildExit>;
  ended: ChildExit | null = null;
  readonly #log: string[];
  readonly #onStop: StopBehavior;
  #resolve: (exit: ChildExit) => void = () => {};

  constructor(id: string, instance: number, log: string[], onStop: StopBehavior) {
    this.id = id;
    this.instance = instance;
    this.#log = log;
    this.#onStop = onStop;
    this.exited = new Promise((resolve) => (this.#resolve = resolve));
  }

  /** Ends the instance as a crash. */
  crash(error: unknown = new Error(`${this.id}#${this.instance} crashed`)): void {
    this.#end({ kind: 'crash', error });
  }

  /** Ends the instance on its own, without a crash. */
  exit(kind: 'normal' | 'shutdown' = 'normal'): void {
    this.#end({ kind });
  }

  async stop(): Promise<void> {
    this.#log.push(`stop:${this.id}`);
    if (this.#onStop === 'exit') this.#end({ kind: 'shutdown' });
    else if (this.#onStop === 'crash') this.crash(new Error(`${this.id} crashed while stopping`));
    else if (this.#onStop === 'reject') throw new Error(`${this.id} refuses to stop`);
  }

  kill(): void {
    this.#log.push(`kill:${this.id}`);
    this.#end({ kind: 'crash', error: new Error('killed') });
  }

  #end(exit: ChildExit): void {
    if (this.ended !== null) return;
    this.ended = exit;
    this.#resolve(exit);
  }
}

/** Builds fake child specs and remembers their instances. */
export class Fleet {
  readonly log: string[] = [];
  readonly #instances = new Map<string, FakeChild[]>();
  readonly #attempts = new Map<string, number>();
  /** The StartContext each start received, latest last. */
  readonly contexts: StartContext[] = [];

  spec(id: string, options: FakeOptions = {}): ChildSpec {
    const spec: ChildSpec = {
      id,
      restart: options.restart ?? 'permanent',
      shutdownMs: options.shutdownMs ?? 1_000,
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      start: (context) => {
        this.contexts.push(context);
        const attempt = (this.#attempts.get(id) ?? 0) + 1;
        this.#attempts.set(id, attempt);
        if (options.failStarts?.(attempt) === true) {
          this.log.push(`fail:${id}`);
          throw new Error(`${id} cannot start (attempt ${attempt})`);
        }
        const list = this.#instances.get(id) ?? [];
        const child = new FakeChild(id, list.length + 1, this.log, options.onStop ?? 'exit');
        list.push(child);
        this.#instances.set(id, list);
        this.log.push(`start:${id}`);
        if (options.crashOnStart?.(child.instance) === true) queueMicrotask(() => child.crash());
        if (options.killable === false) return { stop: () => child.stop(), exited: child.exited };
        return child;
      },
    };
    return spec;
  }

  /** The latest instance of a child. */
  current(id: string): FakeChild {
    const child = this.#instances.get(id)?.at(-1);
    if (child === undefined) throw new Error(`${id} never started`);
    return child;
  }

  /** How many instances of a child were started. */
  started(id: string): number {
    return this.#instances.get(id)?.length ?? 0;
  }

  /** Forgets the log so far. */
  clearLog(): void {
    this.log.length = 0;
  }
}

/** Polls `condition` every few ms until true; fails after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** State of one child of a supervisor. */
export function stateOf(supervisor: Supervisor, id: string): string | undefined {
  return supervisor.whichChildren().find((c) => c.id === id)?.state;
}

/** Lets pending microtasks and a few timer turns run: enough for anything that would happen "right away". */
export function settle(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const intensity = { maxRestarts: 10, periodMs: 60_000 };
