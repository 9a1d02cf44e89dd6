/**
 * Unit tests of the queue check's logic against a stub of the store's one read: what it caches,
 * when it re-reads, and that a store that cannot answer never turns an enqueue away.
 */
import { describe, expect, it } from 'vitest';
import { AcceptedQueues } from '../../../src/jobs/accepted-queues.ts';
import type { FleetFacet } from '../../../src/jobs/store/index.ts';

function fleetStore(answers: (string[] | Error)[]): { store: FleetFacet; reads: () => number } {
  let reads = 0;
  const consumedQueues = async (): Promise<string[]> => {
    const answer = answers[Math.min(reads++, answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { store: { consumedQueues } as unknown as FleetFacet, reads: () => reads };
}

describe('AcceptedQueues', () => {
  it('takes local and declared queues without reading the fleet', async () => {
    const { store, reads } = fleetStore([[]]);
    const accepted = new AcceptedQueues(store, ['mine'], ['declared']);
    await accepted.check([{ queue: 'mine', name: 'a' }, { queue: 'declared', name: 'b' }]);
    expect(reads()).toBe(0);
  });

  it('reads the fleet on a miss, then serves known queues from memory and re-reads a miss at most once a second', async () => {
    const { store, reads } = fleetStore([['remote']]);
    const accepted = new AcceptedQueues(store, [], undefined);
    await accepted.check([{ queue: 'remote', name: 'a' }]);
    await accepted.check([{ queue: 'remote', name: 'a' }]);
    expect(reads()).toBe(1);
    await expect(accepted.check([{ queue: 'typo', name: 'a' }])).rejects.toMatchObject({ code: 'PITBOSS_UNKNOWN_QUEUE', field: 'jobs[0].queue' });
    await expect(accepted.check([{ queue: 'typo', name: 'a' }])).rejects.toMatchObject({ code: 'PITBOSS_UNKNOWN_QUEUE' });
    expect(reads()).toBe(1);
  });

  it('lets the enqueue through to the store when the fleet cannot be read (an outage), and refuses once it can', async () => {
    const { store } = fleetStore([new Error('connect ECONNREFUSED'), ['other']]);
    const accepted = new AcceptedQueues(store, [], undefined);
    await expect(accepted.check([{ queue: 'unknown-yet', name: 'a' }])).resolves.toBeUndefined();
    await expect(accepted.check([{ queue: 'unknown-yet', name: 'a' }])).rejects.toMatchObject({ code: 'PITBOSS_UNKNOWN_QUEUE', message: expect.stringContaining('known queues: other') });
  });

  it("'*' takes any queue without reading", async () => {
    const { store, reads } = fleetStore([[]]);
    await new AcceptedQueues(store, [], '*').check([{ queue: 'anything', name: 'a' }]);
    expect(reads()).toBe(0);
  });
});
