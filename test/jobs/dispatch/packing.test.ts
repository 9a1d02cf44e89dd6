// How new jobs are packed into BullMQ jobs (pure logic; the Redis side is in bullmq.test.ts).
import { describe, expect, it } from 'vitest';
import { packedEntry, toPackedEntries } from '../../../src/jobs/dispatch/bullmq-jobs.ts';
import { job } from './helpers.ts';

describe('toPackedEntries', () => {
  it('packs jobs of one priority and delay up to batchSize, in order; a group of one stays a single job', () => {
    const jobs = [
      ...Array.from({ length: 5 }, (_, i) => job(String(i + 1), { name: `n${i + 1}` })),
      job('6', { priority: 3 }),
      job('7', { delayMs: 1000 }), job('8', { delayMs: 1000 }),
    ];
    const { entries, packed } = toPackedEntries(jobs, 2);
    expect(entries.map((e) => e.opts.jobId)).toEqual([
      expect.stringMatching(/^b2-1-/), expect.stringMatching(/^b2-3-/), 'job-5', 'job-6', expect.stringMatching(/^b2-7-/),
    ]);
    expect(entries[0]?.data).toEqual({ ids: ['1', '2'], names: ['n1', 'n2'] });
    expect(entries[3]?.data).toBeNull();
    expect(entries[4]?.opts.delay).toBe(1000);
    expect([...packed.keys()]).toEqual(['1', '2', '3', '4', '7', '8']);
    expect(packed.get('3')).toBe(entries[1]?.opts.jobId);
  });

  it('names each distinct set of ids differently, the same set alike, and packs a repeated id once', () => {
    const id = (ids: string[]): unknown => toPackedEntries(ids.map((i) => job(i)), 16).entries[0]?.opts.jobId;
    expect(id(['1', '2', '3'])).toBe(id(['1', '2', '3']));
    expect(id(['1', '2', '3'])).not.toBe(id(['1', '4', '3']));
    expect(toPackedEntries([job('1'), job('1'), job('2')], 16).entries[0]?.data).toEqual({ ids: ['1', '2'], names: ['work', 'work'] });
  });

  it('reads a packed job back, and nothing else as one', () => {
    expect(packedEntry({ ids: ['1'], names: ['a'] })).toEqual({ ids: ['1'], names: ['a'] });
    for (const data of [null, 'x', { ids: ['1'] }, { ids: ['1'], names: [] }]) expect(packedEntry(data)).toBeNull();
  });
});
