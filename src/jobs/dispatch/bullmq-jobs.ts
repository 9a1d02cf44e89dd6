/**
 * How a `DispatchJob` becomes a BullMQ job, and back. Kept in one place because each mapping works
 * around a BullMQ rule that was verified against bullmq 6.7 (pinned by test/jobs/dispatch/bullmq-assumptions.test.ts).
 */
import type { JobsOptions } from 'bullmq';
import type { DispatchJob } from '../types.ts';

/**
 * BullMQ refuses custom ids that look like integers ("Custom Id cannot be integers") and a job's hash
 * lives next to the queue's own keys (`<prefix>:<queue>:<id>` beside `:wait`, `:delayed`, `:meta`),
 * so the row id "42" travels as "job-42": never an integer, never a queue key.
 */
const ID_PREFIX = 'job-';

function toBullmqId(rowId: string): string {
  return ID_PREFIX + rowId;
}

export function fromBullmqId(bullmqId: string | undefined): string {
  if (bullmqId === undefined) return '';
  return bullmqId.startsWith(ID_PREFIX) ? bullmqId.slice(ID_PREFIX.length) : bullmqId;
}

/** A job as `Queue.addBulk` takes it: a single job's entry (`data` null) or a packed one. */
export interface BullmqEntry {
  readonly name: string;
  readonly data: PackedEntry | null;
  readonly opts: JobsOptions;
}

/** BullMQ's highest priority number (2^21 - 1); lower numbers run first. */
const PRIORITY_LIMIT = 2 ** 21 - 1;
const PRIORITY_ZERO = 2 ** 20;

/**
 * Our priority (higher first, default 0, may be negative) as a BullMQ priority (1 first, 2^21-1 last).
 * Every job gets a non-zero BullMQ priority on purpose: BullMQ serves priority 0 ("none") from the
 * plain wait list before all prioritized jobs, so mapping our 0 to it would run default jobs ahead of
 * urgent ones. Within one priority BullMQ keeps insertion order (a per-queue counter in the score).
 * Priorities beyond ±2^20 are clamped.
 */
function toBullmqPriority(priority: number): number {
  return Math.min(PRIORITY_LIMIT, Math.max(1, PRIORITY_ZERO - Math.round(priority)));
}

/**
 * The BullMQ form of a job. `removeOnComplete`/`removeOnFail` matter for correctness, not just memory:
 * adding an id that still exists in any state, completed and failed included, is a silent no-op, so a
 * finished job must leave Redis for the reconciler to be able to dispatch its id again.
 *
 * `attempts` mirrors the job's budget for anyone inspecting the queue; BullMQ never spends it, since
 * the consumer records every outcome itself (`moveToCompleted`, `moveToDelayed`) and never fails a
 * job through BullMQ: the store counts attempts, not dispatch.
 */
export function toBullmqJob(job: DispatchJob): BullmqEntry {
  const entry = singleEntry(job.id, job.name, toBullmqPriority(job.priority), job.delayMs);
  return { ...entry, opts: { ...entry.opts, attempts: job.maxAttempts } };
}

/**
 * A packed entry: one BullMQ job carrying up to `batchSize` new jobs of one queue, priority and
 * delay, so Redis and BullMQ pay one add, one fetch and one completion per batch instead of per job.
 * Its id says how many ids it holds (`b<n>-<first id>-<hash of all ids>`: the count lets `count`
 * sum jobs without reading entries, the hash makes the id differ for every distinct set) and is
 * never an integer nor a single job's id.
 */
export interface PackedEntry {
  readonly ids: readonly string[];
  readonly names: readonly string[];
}

/** 32-bit FNV-1a of the ids, so two packed entries with the same first id and size still differ. */
function fnv1a(ids: readonly string[]): string {
  let hash = 0x811c9dc5;
  for (const id of ids) {
    for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
    hash = Math.imul(hash ^ 44, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}

function packedJob(jobs: readonly DispatchJob[]): BullmqEntry {
  const ids = jobs.map((job) => job.id);
  const first = jobs[0] as DispatchJob;
  return {
    name: 'packed',
    data: { ids, names: jobs.map((job) => job.name) },
    opts: {
      jobId: `b${ids.length}-${first.id}-${fnv1a(ids)}`,
      priority: toBullmqPriority(first.priority),
      delay: Math.max(0, Math.round(first.delayMs)),
      removeOnComplete: true,
      removeOnFail: true,
    },
  };
}

/** The jobs a packed BullMQ job carries, or null for a single job's entry. */
export function packedEntry(data: unknown): PackedEntry | null {
  if (typeof data !== 'object' || data === null) return null;
  const { ids, names } = data as Partial<PackedEntry>;
  if (!Array.isArray(ids) || !Array.isArray(names) || ids.length !== names.length) return null;
  return { ids, names };
}

/**
 * The BullMQ entries of a queue's new jobs: jobs of one priority and delay go in packed entries of
 * up to `batchSize` ids, in the order given; a group of one is a single job's entry as `add` makes it.
 * Ids repeated within the call are packed once. Also returns, for each id that went into a packed entry, that entry's id.
 */
export function toPackedEntries(jobs: readonly DispatchJob[], batchSize: number): { entries: BullmqEntry[]; packed: Map<string, string> } {
  const groups = new Map<string, DispatchJob[]>();
  const seen = new Set<string>();
  for (const job of jobs) {
    if (seen.has(job.id)) continue;
    seen.add(job.id);
    const key = `${toBullmqPriority(job.priority)}|${Math.max(0, Math.round(job.delayMs))}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [job]);
    else group.push(job);
  }
  const entries: BullmqEntry[] = [];
  const packed = new Map<string, string>();
  for (const group of groups.values()) {
    for (let i = 0; i < group.length; i += batchSize) {
      const chunk = group.slice(i, i + batchSize);
      if (chunk.length === 1) {
        entries.push(toBullmqJob(chunk[0] as DispatchJob));
        continue;
      }
      const entry = packedJob(chunk);
      entries.push(entry);
      for (const job of chunk) packed.set(job.id, entry.opts.jobId as string);
    }
  }
  return { entries, packed };
}

/**
 * A single job's entry, named by its id; also what a job taken out of a packed entry becomes (its
 * retry, or handed back unstarted). The payload stays in the store: the processor looks the row up by id.
 */
export function singleEntry(id: string, name: string, bullmqPriority: number, delayMs: number): BullmqEntry {
  return { name, data: null, opts: { jobId: toBullmqId(id), priority: bullmqPriority, delay: Math.max(0, Math.round(delayMs)), removeOnComplete: true, removeOnFail: true } };
}
