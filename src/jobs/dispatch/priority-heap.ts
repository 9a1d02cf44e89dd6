/**
 * A binary heap: push and pop in O(log n), so a local queue with many waiting jobs costs the same per
 * job as a short one (a sorted array would cost O(n) per insert).
 */
export class PriorityHeap<T> {
  readonly #items: T[] = [];
  readonly #before: (a: T, b: T) => boolean;

  /** @param before true when `a` must be popped before `b`. */
  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.#before(items[index] as T, items[parent] as T)) break;
      this.#swap(index, parent);
      index = parent;
    }
  }

  /** Removes and returns the first item, or undefined when empty. */
  pop(): T | undefined {
    const items = this.#items;
    const first = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return first;
    items[0] = last;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < items.length && this.#before(items[left] as T, items[smallest] as T)) smallest = left;
      if (right < items.length && this.#before(items[right] as T, items[smallest] as T)) smallest = right;
      if (smallest === index) return first;
      this.#swap(index, smallest);
      index = smallest;
    }
  }

  clear(): void {
    this.#items.length = 0;
  }

  #swap(a: number, b: number): void {
    const items = this.#items;
    const held = items[a] as T;
    items[a] = items[b] as T;
    items[b] = held;
  }
}
