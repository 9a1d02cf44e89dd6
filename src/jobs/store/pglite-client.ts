/**
 * SqlClient over PGlite, the embedded Postgres (WASM) used when no DATABASE_URL is set. One
 * in-process connection: statements run one at a time, transactions hold PGlite's own mutex, and
 * LISTEN/NOTIFY work within the process. It cannot lose its connection; what it can lose is its
 * disk (disk-guard.ts): writes are refused up front below a free-space margin, and a PANIC (a WAL
 * segment that could not be written) breaks the client for good — PGlite would spin on the next
 * statement, so none is ever sent again and `failed` settles.
 *
 * Memory and startup (the embedded store is most of the default deployment's footprint): a fresh
 * directory is filled from a prebuilt template instead of running initdb (pglite-template.ts),
 * Postgres gets smaller buffers than PGlite's defaults, and the WASM stays on V8's baseline compiler
 * (see `bootPglite`). Figures: docs/deploy.md, "The embedded store".
 */
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { JobError } from '../../errors/classes.ts';
import { DataDirLock } from './data-dir-lock.ts';
import { DEFAULT_MIN_FREE_BYTES, DiskGuard } from './disk-guard.ts';
import { classifyFailure, writeFailed } from './failures.ts';
import { quoteIdent } from './pg-client.ts';
import { type CheckpointOptions, WalCheckpointer } from './pglite-checkpoint.ts';
import { seedFromTemplate } from './pglite-template.ts';
import type { NotificationListener, SqlClient, SqlQueryable, SqlRow } from './types.ts';

export const defaultPgliteDir = (): string => resolve(process.cwd(), '.data/pglite');

/** PGlite 0.5.16's own start parameters (`PGlite.defaultStartParams`), for a build that lacks the static. */
const pgliteDefaults = ['--single', '-F', '-O', '-j', '-c', 'search_path=public', '-c', 'exit_on_error=false', '-c', 'log_checkpoints=false',
  '-c', 'max_worker_processes=0', '-c', 'max_parallel_workers=0', '-c', 'max_parallel_workers_per_gather=0', '-c', 'io_method=sync', '-c', 'max_parallel_maintenance_workers=0'];

/**
 * PGlite's start parameters (search_path=public, no fsync: `-F`, single user…) with smaller memory
 * settings appended (a later `-c` wins). The buffer pool is allocated and touched at boot, and WASM
 * memory never shrinks: shared_buffers 128 MB → 16 MB took ~130 MB off the idle RSS (measured). The
 * OS page cache still holds the table files, so a miss in the pool is a read(2), not a disk seek.
 * max_wal_size bounds the segments a checkpoint keeps for reuse (pglite-checkpoint.ts).
 */
const pgliteStartParams: readonly string[] = [
  ...((PGlite as unknown as { defaultStartParams?: readonly string[] }).defaultStartParams ?? pgliteDefaults),
  '-c', 'shared_buffers=16MB', '-c', 'maintenance_work_mem=16MB', '-c', 'max_wal_size=64MB', '-c', 'min_wal_size=32MB',
];

/** Options of the embedded client beyond the data directory. */
export interface PgliteOpenOptions {
  /** Writes are refused while less than this many bytes are free (default 32 MiB). */
  readonly minFreeBytes?: number;
  /** When the client checkpoints the WAL (pglite-checkpoint.ts). */
  readonly checkpoint?: CheckpointOptions;
  /** Template file for a fresh directory (default: the build's, pglite-template.ts); null runs initdb. */
  readonly template?: string | null;
}

/**
 * Boots PGlite on `dataDir` (absent or empty: from the template when there is one).
 *
 * Without a template, initdb runs in a second PGlite instance whose memory stays reachable from the
 * first until that is closed (812 MB RSS after a fresh open, 291 MB after close and reopen): so the
 * instance that ran initdb is closed and the directory opened again (~0.5 s).
 *
 * Not done: V8's `--liftoff-only` kept ~50 MB of optimised PGlite code out of the RSS (Node 20), but
 * set at run time it is process-wide (every worker thread's WASM too), Node documents changing V8
 * flags after start as unsafe, and on Node 24 it had no effect; a user can pass it to `node` instead.
 */
async function bootPglite(dataDir: string, template: string | null | undefined): Promise<PGlite> {
  const options = { startParams: [...pgliteStartParams] };
  if (dataDir.startsWith('memory://')) return PGlite.create(dataDir, options);
  const initialised = await stat(join(dataDir, 'PG_VERSION')).then(() => true, () => false);
  const seeded = !initialised && template !== null && await seedFromTemplate(dataDir, template);
  if (!initialised && !seeded) await (await PGlite.create(dataDir, options)).close();
  return PGlite.create(dataDir, options);
}

/** A failure after which this PGlite instance must not run another statement. */
function breaksInstance(error: unknown): boolean {
  const severity = (error as { severity?: unknown } | null)?.severity;
  // PANIC/FATAL would end a real backend; in WASM the process lives on in a state that cannot
  // commit (measured: a later SELECT 1 never returns). A trap or an exit of the module is the same.
  const name = (error as { name?: unknown } | null)?.name;
  return severity === 'PANIC' || severity === 'FATAL' || name === 'RuntimeError' || name === 'ExitStatus';
}

export class PgliteClient implements SqlClient {
  readonly backend = 'pglite' as const;
  readonly schema: string | null;
  /** Settles (never rejects) once the instance is broken: only a new process can use the data again. */
  readonly failed: Promise<JobError>;
  readonly #db: PGlite;
  readonly #dataDir: string;
  /** Held while open: one process per data directory (data-dir-lock.ts); null in memory. */
  readonly #lock: DataDirLock | null;
  /** Null in memory. */
  readonly #guard: DiskGuard | null;
  readonly #checkpointer: WalCheckpointer;
  #broken: JobError | null = null;
  #fail: (error: JobError) => void = () => {};

  private constructor(db: PGlite, schema: string | null, dataDir: string, lock: DataDirLock | null, guard: DiskGuard | null, checkpoint: CheckpointOptions) {
    this.#db = db;
    this.schema = schema;
    this.#dataDir = dataDir;
    this.#lock = lock;
    this.#guard = guard;
    this.failed = new Promise((settle) => { this.#fail = settle; });
    this.#checkpointer = new WalCheckpointer(this, checkpoint);
    this.#checkpointer.start();
  }

  /**
   * Opens (creating when needed) the database in `dataDir`; `memory://` keeps it in memory. Fails
   * with PITBOSS_STORE_IN_USE while another process (or another open client) has that directory.
   * Writes are refused while less than `minFreeBytes` are free there (default 32 MiB).
   */
  static async open(dataDir: string, schema: string | null, options: PgliteOpenOptions = {}): Promise<PgliteClient> {
    const minFreeBytes = options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
    const inMemory = dataDir.startsWith('memory://');
    if (!inMemory) await mkdir(dataDir, { recursive: true });
    const lock = inMemory ? null : await DataDirLock.acquire(resolve(dataDir));
    try {
      const guard = inMemory ? null : new DiskGuard({ dataDir: resolve(dataDir), minFreeBytes, freshMs: 250 });
      // Booting writes too (initdb, recovery): on a full disk it must fail here, not wedge.
      const problem = await guard?.check();
      if (problem !== undefined && problem !== null) throw writeFailed(`cannot open the embedded store: ${problem}`);
      const db = await bootPglite(dataDir, options.template);
      // A single session, so a session-level search_path holds for every statement (the schema
      // itself is created by the migrations, under their lock).
      if (schema !== null) await db.exec(`SET search_path TO ${quoteIdent(schema)}`);
      return new PgliteClient(db, schema, resolve(dataDir), lock, guard, options.checkpoint ?? {});
    } catch (error) {
      await lock?.release();
      throw error;
    }
  }

  /** Why a write would fail now (disk nearly full, directory read-only or gone, instance broken), or null. */
  async writeBlocker(): Promise<string | null> {
    if (this.#broken !== null) return this.#broken.message;
    return (await this.#guard?.blocker()) ?? null;
  }

  query<R extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]): Promise<R[]> {
    return this.#run(async () => (await this.#db.query<R>(text, params as unknown[] | undefined)).rows);
  }

  exec(text: string): Promise<void> {
    return this.#run(async () => { await this.#db.exec(text); });
  }

  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    // Statement timeouts are not enforced by PGlite (no signals in WASM); callers race a timer instead.
    // After a PANIC inside, PGlite's own ROLLBACK still returns (measured), then nothing runs again.
    return this.#run(() => this.#db.transaction((tx: Transaction) => work({
      query: <R extends SqlRow>(text: string, params?: readonly unknown[]) => this.#run(async () => (await tx.query<R>(text, params as unknown[] | undefined)).rows),
      exec: (text) => this.#run(async () => { await tx.exec(text); }),
    })));
  }

  listen(channel: string, listener: NotificationListener): Promise<() => Promise<void>> {
    return this.#run(async () => {
      const unlisten = await this.#db.listen(channel, (payload) => listener.onNotify(payload));
      return async () => {
        if (!this.#db.closed && this.#broken === null) await unlisten();
      };
    });
  }

  /** The WAL checkpointer (pglite-checkpoint.ts), for tests and diagnostics. */
  get checkpointer(): WalCheckpointer {
    return this.#checkpointer;
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  /**
   * Closes with a shutdown checkpoint — unless the instance is broken or the disk too full for one
   * (a checkpoint that meets a full disk could wedge the way a commit does): then the database is
   * left as a killed process leaves it (every commit is already in the WAL, replayed at the next
   * start), the lock is released, and close rejects with PITBOSS_STORE_WRITE_FAILED saying so.
   */
  async close(): Promise<void> {
    await this.#checkpointer.stop();
    const problem = this.#broken?.message ?? (await this.#guard?.check()) ?? null;
    try {
      if (problem === null && !this.#db.closed) await this.#db.close();
    } finally {
      await this.#lock?.release();
    }
    if (problem !== null) throw writeFailed(`the embedded store in ${this.#dataDir} closed without a shutdown checkpoint (the next start recovers from its WAL): ${problem}`);
  }

  async #run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#broken !== null) throw this.#broken;
    try {
      return await work();
    } catch (error) {
      if (this.#broken === null && breaksInstance(error)) this.#breakDown(error);
      if (this.#broken !== null) throw this.#broken;
      // A disk that filled between two guard checks fails the statement itself ("could not extend
      // file …"): say which directory, as the guard's own refusal does.
      if (classifyFailure(error) === 'storage') {
        throw writeFailed(`the embedded store in ${this.#dataDir} cannot write (${error instanceof Error ? error.message : String(error)})`, error);
      }
      throw error;
    }
  }

  #breakDown(error: unknown): void {
    const detail = error instanceof Error ? error.message : String(error);
    this.#broken = writeFailed(
      `the embedded store in ${this.#dataDir} failed a write (${detail}) and PGlite cannot run another statement in this process; the committed data is safe on disk — fix the disk and restart`,
      error,
    );
    this.#fail(this.#broken);
  }
}
