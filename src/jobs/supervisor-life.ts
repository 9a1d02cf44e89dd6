/**
 * One process's life under a supervisor id. A process starting under an id takes whatever is still
 * claimed under it for its previous life's and requeues it at once — what a fixed id (a pod name)
 * is for after a crash. If another *live* process holds the id, that sweep requeues its running
 * jobs, and every later pass takes its claims for abandoned ones: its jobs run twice. So each life
 * marks the supervisors row with a random `instance`, and
 *   - before claiming anything, `waitUntilFree` makes sure no other live process beats under the id:
 *     a row that is absent, stopped cleanly, silent for the heartbeat TTL, or left by this host's
 *     dead pid (or this pid: a container restarted with pid 1) is a previous life; otherwise the
 *     holder is watched until it beats again (a live twin: PITBOSS_SUPERVISOR_ID_IN_USE) or stays
 *     silent for the rest of the TTL (dead, as every supervisor judges it);
 *   - each `beat` says whether another instance wrote the row since this life's last beat: two
 *     processes that started at the same moment (or one of a version without this check) share it.
 * The pid shortcut assumes one pid namespace per hostname, as hosts and ordinary containers have:
 * it is what lets a crashed container come back under its pod name at once. Of two containers
 * sharing a hostname (host networking) and an id, the second still sweeps the first one's claims at
 * startup; only the beats tell them apart after that.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { JobError } from '../errors/classes.ts';
import { processRunning } from './store/data-dir-lock.ts';
import type { FleetFacet } from './store/fleet.ts';
import type { SupervisorHolder, SupervisorRecord } from './types.ts';

/** What a life reports: waiting for a holder to fall silent at startup, or a live twin seen while running. */
export type SupervisorIdNotice =
  | { readonly kind: 'waiting'; readonly supervisorId: string; readonly holder: SupervisorHolder; readonly waitMs: number }
  | { readonly kind: 'shared'; readonly supervisorId: string; readonly holder: SupervisorHolder };

export interface SupervisorLifeOptions {
  /** The store's supervisors table (`store.fleet`). */
  readonly fleet: FleetFacet;
  readonly supervisorId: string;
  /** A supervisor silent this long is dead (the reconciler's heartbeat TTL). */
  readonly heartbeatTtlMs: number;
  /** The queues this process consumes, recorded with each beat (the fleet's known queues are the union). */
  readonly queues?: readonly string[];
  /** How often a holder's row is read while waiting (default 250 ms). */
  readonly pollMs?: number;
  readonly onNotice?: (notice: SupervisorIdNotice) => void;
}

export class SupervisorLife {
  /** This life's mark in the supervisors row. */
  readonly instance = randomUUID();
  readonly #o: SupervisorLifeOptions;
  #beaten = false;

  constructor(options: SupervisorLifeOptions) {
    this.#o = options;
  }

  /**
   * Resolves true once no other live process holds the id, false when the store could not tell
   * (unreachable); rejects with PITBOSS_SUPERVISOR_ID_IN_USE when one does. Waits at most what is
   * left of the holder's TTL.
   */
  async waitUntilFree(): Promise<boolean> {
    const { fleet, supervisorId, heartbeatTtlMs, pollMs = 250 } = this.#o;
    const read = (): Promise<SupervisorRecord | null | undefined> => fleet.supervisor(supervisorId).catch(() => undefined);
    const first = await read();
    if (first === undefined) return false;
    if (first === null || !this.#mayBeAlive(first)) return true;
    const waitMs = Math.ceil(heartbeatTtlMs - first.heartbeatAgeMs);
    this.#o.onNotice?.({ kind: 'waiting', supervisorId, holder: holderOf(first), waitMs });
    const deadline = performance.now() + waitMs;
    while (performance.now() < deadline) {
      await sleep(Math.min(pollMs, Math.max(0, deadline - performance.now())));
      const now = await read();
      if (now === undefined) return false;
      if (now === null || now.stopped || now.instance === this.instance) return true;
      if (now.beatAt !== first.beatAt) throw idInUse(supervisorId, now);
    }
    return true;
  }

  /** Beats under the id; resolves true when another process wrote the row since this life's last beat. */
  async beat(): Promise<boolean> {
    const { fleet, supervisorId, queues = [] } = this.#o;
    const previous = await fleet.heartbeat({ id: supervisorId, host: hostname(), pid: process.pid, instance: this.instance, queues });
    const shared = this.#beaten && previous !== null && previous.instance !== this.instance;
    this.#beaten = true;
    if (shared) this.#o.onNotice?.({ kind: 'shared', supervisorId, holder: previous });
    return shared;
  }

  /** Marks the row stopped, so a process starting under the id next need not wait out the TTL. */
  async stopped(): Promise<void> {
    if (!this.#beaten) return;
    await this.#o.fleet.supervisorStopped({ id: this.#o.supervisorId, instance: this.instance });
  }

  #mayBeAlive(row: SupervisorRecord): boolean {
    if (row.stopped || row.instance === this.instance || row.heartbeatAgeMs >= this.#o.heartbeatTtlMs) return false;
    // On this host a pid tells: our own pid is a previous life in a restarted container, a dead one is gone.
    if (row.host === hostname()) return row.pid !== process.pid && processRunning(row.pid);
    return true;
  }
}

function holderOf(row: SupervisorRecord): SupervisorHolder {
  return { host: row.host, pid: row.pid, instance: row.instance };
}

function idInUse(supervisorId: string, holder: SupervisorRecord): JobError {
  return new JobError('PITBOSS_SUPERVISOR_ID_IN_USE', `supervisor id "${supervisorId}" is in use by process ${holder.pid} on ${holder.host}, which is still `
    + 'heartbeating; one live process per id: stop that process first, or give each replica its own PITBOSS_SUPERVISOR_ID (the default is unique)', { field: 'supervisorId' });
}
