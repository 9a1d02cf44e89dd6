import { describe, expect, it } from 'vitest';
import { PendingTask } from '../../src/pool/engine/pending-task.ts';
import { TaskFifo } from '../../src/pool/engine/queue.ts';

const task = (name: string): PendingTask => new PendingTask(null, name, null, null, null, () => {}, () => {});
const names = (queue: TaskFifo): string[] => queue.drain().map((t) => t.task);

describe('TaskFifo', () => {
  it('is a FIFO with lazy removal', () => {
    const queue = new TaskFifo();
    const [a, b, c] = [task('a'), task('b'), task('c')];
    for (const t of [a, b, c]) queue.push(t);
    queue.remove(b);
    expect(queue.size).toBe(2);
    expect(queue.peek()).toBe(a);
    expect(names(queue)).toEqual(['a', 'c']);
    expect(queue.size).toBe(0);
  });

  it('serves tasks handed back first, in the order they came back', () => {
    const queue = new TaskFifo();
    for (const name of ['fresh1', 'fresh2']) queue.push(task(name));
    const back = ['x', 'y', 'z'].map(task);
    for (const t of back) queue.requeue(t);
    queue.remove(back[1]!);
    expect(queue.size).toBe(4);
    expect(queue.peek()!.task).toBe('x');
    expect(queue.shift()!.task).toBe('x');
    expect(queue.peek()!.task).toBe('z');
    expect(names(queue)).toEqual(['z', 'fresh1', 'fresh2']);
  });
});
