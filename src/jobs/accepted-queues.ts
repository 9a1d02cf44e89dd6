/**
 * Which queues a JobSystem takes jobs for. A job for a queue nobody consumes would wait for ever, so
 * an enqueue is refused (`PITBOSS_UNKNOWN_QUEUE`, naming the known queues) unless its queue is
 *   - consumed by this JobSystem,
 *   - declared by it (`acceptQueues`: a queue whose consumer is deployed elsewhere or later), or
 *   - consumed by a supervisor of the fleet: each one records its queues with its heartbeat, and a
 *     supervisor heard from within the last hour counts, stopped or not, so a rolling restart of
 *     the consumers does not turn producers away.
 * A producer-only JobSystem (`queues: {}`) thus enqueues to whatever the fleet consumes.
 */
import { JobError } from '../errors/classes.ts';
import type { FleetFacet } from './store/fleet.ts';
import { isQueueName } from './store/validate.ts';
import type { EnqueueInput } from './types.ts';

/** `'*'` accepts every queue (no check); a list adds queues to those consumed here and in the fleet. */
export type AcceptQueues = readonly string[] | '*';

/** A supervisor heard from this recently still counts as a consumer of its queues. */
const FLEET_MEMORY_MS = 3_600_000;
/**
 * A queue not yet known re-reads the fleet's queues, at most this often: a consumer that just
 * started is seen at once, and a client repeating a typo costs one query a second, not one each.
 */
const REFRESH_MS = 1000;

export class AcceptedQueues {
  /** The store's `fleet` facet: supervisors record the queues they consume with each heartbeat. */
  readonly #store: FleetFacet;
  readonly #local: ReadonlySet<string>;
  readonly #any: boolean;
  #fleet: ReadonlySet<string> = new Set();
  #readAt = -Infinity;

  constructor(store: FleetFacet, consumed: readonly string[], accept: AcceptQueues | undefined) {
    if (accept !== undefined && accept !== '*' && !Array.isArray(accept)) {
      throw new JobError('PITBOSS_INVALID_CONFIG', `acceptQueues must be an array of queue names or '*', got ${String(accept)}`, { field: 'acceptQueues' });
    }
    const declared = accept === '*' || accept === undefined ? [] : accept;
    declared.forEach((queue, i) => {
      if (!isQueueName(queue)) {
        throw new JobError('PITBOSS_INVALID_CONFIG', `acceptQueues[${i}] must be 1..128 characters of [A-Za-z0-9_.-] starting with a letter or digit, got ${JSON.stringify(queue)}`, { field: `acceptQueues[${i}]` });
      }
    });
    this.#store = store;
    this.#local = new Set([...consumed, ...declared]);
    this.#any = accept === '*';
  }

  /** Rejects with PITBOSS_UNKNOWN_QUEUE for the first job whose queue no one consumes or accepts. */
  async check(inputs: readonly EnqueueInput[]): Promise<void> {
    if (this.#any || !Array.isArray(inputs)) return;
    // Malformed names are left to the store, whose error names the rule they break.
    let first = this.#firstUnknown(inputs);
    if (first === -1) return;
    if (performance.now() - this.#readAt >= REFRESH_MS) {
      // Refusing needs to know nobody consumes the queue. A store that cannot answer now (an
      // outage) leaves the enqueue to the store, whose write rides the outage out as it always did.
      const fleet = await this.#store.consumedQueues({ withinMs: FLEET_MEMORY_MS }).catch(() => null);
      if (fleet === null) return;
      this.#fleet = new Set(fleet);
      this.#readAt = performance.now();
      first = this.#firstUnknown(inputs);
      if (first === -1) return;
    }
    const queue = inputs[first]!.queue;
    const known = [...new Set([...this.#local, ...this.#fleet])].sort();
    throw new JobError('PITBOSS_UNKNOWN_QUEUE', `jobs[${first}].queue ${JSON.stringify(queue)}: no supervisor consumes this queue, so its jobs would wait for ever; `
      + `known queues: ${known.length === 0 ? '(none)' : known.join(', ')} (declare it in acceptQueues to take jobs for a consumer yet to come)`, { field: `jobs[${first}].queue` });
  }

  #firstUnknown(inputs: readonly EnqueueInput[]): number {
    return inputs.findIndex((input) => {
      const queue: unknown = typeof input === 'object' && input !== null ? input.queue : undefined;
      return isQueueName(queue) && !this.#local.has(queue) && !this.#fleet.has(queue);
    });
  }
}
