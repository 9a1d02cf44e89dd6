/**
 * Checkpoints for the embedded store. PGlite is Postgres in single-user mode: there is no
 * checkpointer process, so nothing checkpoints on a timer, and the WAL-volume trigger (max_wal_size)
 * only fires under a postmaster. Left alone, the WAL grows from one start to the next (a long run
 * was seen with 1 GB of it), and a start after a SIGKILL replays all of it. So the client checks
 * every `intervalMs` how much WAL was written since the last checkpoint and runs CHECKPOINT past
 * `maxWalBytes`; Postgres then removes or recycles the segments before it (bounded by max_wal_size,
 * see pglite-client.ts). A CHECKPOINT only flushes what is committed: durability is unchanged.
 */
import { PeriodicPass } from '../periodic.ts';

export interface CheckpointOptions {
  /** How often to look at the WAL written since the last checkpoint (default 10 s). */
  readonly intervalMs?: number;
  /** WAL bytes since the last checkpoint's redo point that trigger one (default 64 MiB). */
  readonly maxWalBytes?: number;
}

/** What the checkpointer needs of the client: run a statement, and whether writing is safe now. */
export interface CheckpointTarget {
  query<R extends Record<string, unknown>>(text: string): Promise<R[]>;
  exec(text: string): Promise<void>;
  /** Why a write would fail now (disk nearly full, instance broken), or null. */
  writeBlocker(): Promise<string | null>;
}

const walSinceCheckpoint = 'SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), redo_lsn)::float8 AS bytes FROM pg_control_checkpoint()';

export class WalCheckpointer {
  readonly #target: CheckpointTarget;
  readonly #maxWalBytes: number;
  readonly #periodic: PeriodicPass;

  constructor(target: CheckpointTarget, options: CheckpointOptions = {}) {
    this.#target = target;
    this.#maxWalBytes = options.maxWalBytes ?? 64 * 1024 * 1024;
    this.#periodic = new PeriodicPass(async () => { await this.checkpointIfDue(); }, options.intervalMs ?? 10_000);
  }

  start(): void {
    this.#periodic.start();
  }

  /** No more checks; resolves once a check (or checkpoint) under way has ended. */
  stop(): Promise<void> {
    return this.#periodic.stop();
  }

  /** WAL bytes written since the last checkpoint's redo point. */
  async walBytes(): Promise<number> {
    const [row] = await this.#target.query<{ bytes: number }>(walSinceCheckpoint);
    return Number(row?.bytes ?? 0);
  }

  /**
   * Checkpoints when the WAL since the last one passed the limit; true when it did. Skipped while a
   * write would fail: a checkpoint that meets a full disk can wedge PGlite as a commit can.
   */
  async checkpointIfDue(): Promise<boolean> {
    if ((await this.walBytes()) < this.#maxWalBytes) return false;
    if ((await this.#target.writeBlocker()) !== null) return false;
    await this.#target.exec('CHECKPOINT');
    return true;
  }
}
