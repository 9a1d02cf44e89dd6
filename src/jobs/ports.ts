/**
 * What the consumer, reconciler and job system need from the store, as an interface: tests and the
 * system depend on this, the Postgres/PGlite `JobStore` implements it.
 */
import type {
  AbandonedClaims, ActionRecord, ClaimedJob, DispatchJob, EnqueueInput, EnqueuedJob, FinishInput, JobDetails, JobRecord, PruneCounts, QueueStats,
  RetentionPolicy, SupervisorBeat, SupervisorHolder, SupervisorRecord,
} from './types.ts';

export interface JobStorePort {
  enqueue(inputs: readonly EnqueueInput[], context?: { correlationId: string | null; traceparent: string | null; tracestate?: string | null }): Promise<EnqueuedJob[]>;
  claim(id: string, claimedBy: string): Promise<ClaimedJob | null>;
  finish(input: FinishInput): Promise<boolean>;
  recordActions(actions: readonly ActionRecord[]): void;
  get(id: string): Promise<JobDetails | null>;
  cancel(id: string): Promise<JobRecord | null>;
  queueStats(options?: { timeoutMs?: number }): Promise<QueueStats[]>;
  claimable(options: { olderThanMs: number; limit: number; queues?: readonly string[] }): Promise<DispatchJob[]>;
  countClaimable(queue: string): Promise<number>;
  heartbeat(supervisor: SupervisorBeat): Promise<SupervisorHolder | null>;
  supervisor(id: string): Promise<SupervisorRecord | null>;
  /** Queues consumed by supervisors heard from within `withinMs` (see JobStore.consumedQueues). */
  consumedQueues(options?: { withinMs?: number }): Promise<string[]>;
  supervisorStopped(supervisor: { id: string; instance: string }): Promise<void>;
  requeueOrphans(ttlMs: number, options?: { previousLifeOf?: string; abandoned?: AbandonedClaims }): Promise<{ requeued: JobRecord[]; dead: JobRecord[] }>;
  /** Deletes one bounded batch of expired rows per kind (see RetentionPolicy). */
  prune(policy: RetentionPolicy): Promise<PruneCounts>;
  /** False while the database is unreachable (writes wait and retry; consumers stop claiming). */
  readonly available: boolean;
  /** Called with false when the store goes down and true when it is back; returns an unsubscribe. */
  onAvailability(listener: (available: boolean) => void): () => void;
  close(): Promise<void>;
}
