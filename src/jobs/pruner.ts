/**
 * Runs the store's retention on a timer, so a long-lived system of record does not grow without
 * bound (the queue gauges, status page and dashboard count over these tables). Defaults follow what
 * Postgres-backed job runners ship with (GoodJob keeps finished jobs 14 days): finished jobs 14
 * days, dead ones 30 (the ones someone investigates), thread history and silent supervisors 14.
 * Every supervisor of a fleet prunes; their deletes skip each other's rows (see store/retention.ts).
 */
import { PitbossError } from '../errors/classes.ts';
import { PeriodicPass } from './periodic.ts';
import { checkRetention, type RetentionFacet } from './store/retention.ts';
import type { RetentionPolicy } from './types.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** How long finished jobs and fleet history are kept, and how often the pruner deletes what is older. */
export interface RetentionOptions extends Partial<RetentionPolicy> {
  /** How often to prune (default 10 min). */
  readonly intervalMs?: number;
}

const defaultRetention: Required<RetentionOptions> = {
  completedMs: 14 * DAY_MS, deadMs: 30 * DAY_MS, cancelledMs: 14 * DAY_MS, fleetHistoryMs: 14 * DAY_MS, limit: 5000, intervalMs: 10 * 60 * 1000,
};

/** Batches per kind per pass: a backlog (retention just enabled) is worked off over several passes. */
const MAX_ROUNDS = 20;

export class Pruner {
  readonly #retention: RetentionFacet;
  readonly #policy: RetentionPolicy;
  readonly #periodic: PeriodicPass;

  /** Throws `PITBOSS_INVALID_CONFIG` naming the offending `retention.*` key. */
  constructor(retention: RetentionFacet, options: RetentionOptions) {
    // A key given as undefined takes its default, as a missing one does.
    const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
    const { intervalMs, ...policy } = { ...defaultRetention, ...given };
    try {
      this.#policy = checkRetention(policy);
    } catch (error) {
      throw new PitbossError('PITBOSS_INVALID_CONFIG', (error as Error).message);
    }
    if (!(Number.isSafeInteger(intervalMs) && intervalMs > 0)) {
      throw new PitbossError('PITBOSS_INVALID_CONFIG', `retention.intervalMs must be a positive integer, got ${String(intervalMs)}`);
    }
    this.#retention = retention;
    this.#periodic = new PeriodicPass(() => this.#pass(), intervalMs);
  }

  start(): void {
    this.#periodic.start();
  }

  /** Prunes until no kind comes back full (at most MAX_ROUNDS batches); joins a pass under way. */
  prune(): Promise<void> {
    return this.#periodic.run();
  }

  stop(): Promise<void> {
    return this.#periodic.stop();
  }

  async #pass(): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const counts = await this.#retention.prune(this.#policy);
      if (Object.values(counts).every((n) => n < this.#policy.limit)) return;
    }
  }
}
