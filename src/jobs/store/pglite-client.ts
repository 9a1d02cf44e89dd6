/**
 * SqlClient over PGlite, the embedded Postgres (WASM) used when no DATABASE_URL is set. One
 * in-process connection: statements run one at a time, transactions hold PGlite's own mutex, and
 * LISTEN/NOTIFY work within the process. It cannot lose its connection, so the store's outage
 * handling never triggers here. Booting takes ~2.5 s on the reference 2-core machine.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { DataDirLock } from './data-dir-lock.ts';
import { quoteIdent } from './pg-client.ts';
import type { NotificationListener, SqlClient, SqlQueryable, SqlRow } from './types.ts';

export const defaultPgliteDir = (): string => resolve(process.cwd(), '.data/pglite');

export class PgliteClient implements SqlClient {
  readonly backend = 'pglite' as const;
  readonly schema: string | null;
  readonly #db: PGlite;
  /** Held while open: one process per data directory (data-dir-lock.ts); null in memory. */
  readonly #lock: DataDirLock | null;

  private constructor(db: PGlite, schema: string | null, lock: DataDirLock | null) {
    this.#db = db;
    this.schema = schema;
    this.#lock = lock;
  }

  /**
   * Opens (creating when needed) the database in `dataDir`; `memory://` keeps it in memory. Fails
   * with PITBOSS_STORE_IN_USE while another process (or another open client) has that directory.
   */
  static async open(dataDir: string, schema: string | null): Promise<PgliteClient> {
    const inMemory = dataDir.startsWith('memory://');
    if (!inMemory) await mkdir(dataDir, { recursive: true });
    const lock = inMemory ? null : await DataDirLock.acquire(resolve(dataDir));
    try {
      const db = await PGlite.create(dataDir);
      // A single session, so a session-level search_path holds for every statement (the schema
      // itself is created by the migrations, under their lock).
      if (schema !== null) await db.exec(`SET search_path TO ${quoteIdent(schema)}`);
      return new PgliteClient(db, schema, lock);
    } catch (error) {
      await lock?.release();
      throw error;
    }
  }

  async query<R extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]): Promise<R[]> {
    return (await this.#db.query<R>(text, params as unknown[] | undefined)).rows;
  }

  async exec(text: string): Promise<void> {
    await this.#db.exec(text);
  }

  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    // Statement timeouts are not enforced by PGlite (no signals in WASM); callers race a timer instead.
    return this.#db.transaction((tx: Transaction) => work({
      query: async <R extends SqlRow>(text: string, params?: readonly unknown[]) => (await tx.query<R>(text, params as unknown[] | undefined)).rows,
      exec: async (text: string) => { await tx.exec(text); },
    }));
  }

  async listen(channel: string, listener: NotificationListener): Promise<() => Promise<void>> {
    const unlisten = await this.#db.listen(channel, (payload) => listener.onNotify(payload));
    return async () => {
      if (!this.#db.closed) await unlisten();
    };
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.#db.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  async close(): Promise<void> {
    if (!this.#db.closed) await this.#db.close();
    await this.#lock?.release();
  }
}
