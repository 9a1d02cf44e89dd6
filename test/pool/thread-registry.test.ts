/**
 * The thread registry before a thread's hello is read. piscina can hand a fresh thread a task or a
 * chunk before the hello (posted on another port) reaches the pool; what the thread did meanwhile
 * must still be found, or its finished work is taken for unstarted and runs again (both seen in CI
 * under a poison mix). Pure logic over a slot table: the `Worker`s are stand-in emitters.
 */
import { EventEmitter } from 'node:events';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadRegistry, type PoolThread } from '../../src/pool/engine/threads.ts';
import { SlotField, slotFieldCount } from '../../src/pool/wire/protocol.ts';

const ports: MessagePort[] = [];
afterEach(() => { for (const port of ports.splice(0)) port.close(); });

function setup() {
  const slots = new Int32Array(new SharedArrayBuffer(4 * slotFieldCount * Int32Array.BYTES_PER_ELEMENT));
  const interrupted: [number, number][] = [];
  const exited: number[] = [];
  const registry = new ThreadRegistry(slots, {
    dying: () => {},
    interrupted: (thread: PoolThread, taskId: number) => { interrupted.push([thread.threadId, taskId]); return 'default'; },
    exited: (thread: PoolThread) => { exited.push(thread.threadId); },
  });
  const worker = Object.assign(new EventEmitter(), { threadId: 42 }) as unknown as Worker;
  registry.adopt([worker]);
  // What the thread runtime does before its hello is read: claim slot 1, then run task 7 there.
  const field = (name: keyof typeof SlotField, value: number): void => { Atomics.store(slots, 1 * slotFieldCount + SlotField[name], value); };
  field('state', 1);
  field('threadId', 42);
  return { registry, worker, field, interrupted, exited };
}

function resultPort(): MessagePort {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  return port2;
}

describe('thread registry: a thread whose hello is not read yet', () => {
  it('hands a chunk its result port once the hello arrives, not nothing at once', () => {
    const { registry } = setup();
    const got: (MessagePort | null)[] = [];
    registry.withResults(1, (results) => got.push(results));
    expect(got).toEqual([]);
    const port = resultPort();
    registry.hello(42, 1, port);
    expect(got).toEqual([port]);
    // Known from now on: answered at once.
    registry.withResults(1, (results) => got.push(results));
    expect(got).toEqual([port, port]);
  });

  it('answers a waiter with null when the thread exits without a hello, and nothing for an unclaimed slot', () => {
    const { registry, worker, exited } = setup();
    const got: (MessagePort | null)[] = [];
    registry.withResults(1, (results) => got.push(results));
    registry.withResults(2, (results) => got.push(results));
    expect(got).toEqual([null]);
    worker.emit('exit', 1);
    expect(got).toEqual([null, null]);
    expect(exited).toEqual([42]);
  });

  it('finds the task a thread was running when it dies before its hello is read', () => {
    const { registry, worker, field, interrupted } = setup();
    field('currentTask', 7);
    expect(registry.running(7)?.threadId).toBe(42);
    worker.emit('error', new Error('uncaught'));
    expect(interrupted).toEqual([[42, 7]]);
    expect(registry.byThreadId(42)?.faultTask).toBe('default');
  });

  it('holds a chunk rejected over its death until its exit, when the answers its hello names are read', () => {
    const { registry, worker } = setup();
    let settled = 0;
    registry.afterUnannouncedDeaths(() => settled++);
    expect(settled).toBe(1); // nobody is dying: at once
    worker.emit('error', new Error('uncaught'));
    registry.afterUnannouncedDeaths(() => settled++);
    registry.hello(42, 1, resultPort()); // delivered before the exit
    expect(settled).toBe(1);
    worker.emit('exit', 1);
    expect(settled).toBe(2);
  });

  it('never counts a thread retired before its hello as ready', () => {
    const { registry, worker } = setup();
    worker.emit('error', new Error('uncaught'));
    registry.hello(42, 1, resultPort());
    expect(registry.readyCount).toBe(0);
  });
});
