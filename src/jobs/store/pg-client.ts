/**
 * SqlClient over a real PostgreSQL server: a pg Pool for statements and one dedicated connection
 * for LISTEN, which reconnects by itself (a pooled connection cannot hold a LISTEN: it is handed to
 * other work between queries).
 */
import pg from 'pg';
import type { NotificationListener, SqlClient, SqlClientOptions, SqlQueryable, SqlRow } from './types.ts';

const LISTEN_RETRY_MIN_MS = 100;
const LISTEN_RETRY_MAX_MS = 5_000;

/**
 * Planner settings of the store's own connections. Every statement the store runs reaches its rows
 * through an index — by key, or a partial index of the live rows — and none is helped by a hash or
 * merge join or a sequential scan of jobs; but the planner picks one when the table looks small, and
 * a prepared statement keeps its generic plan until the table is next analysed. Measured in
 * bench/jobs-throughput: claim and finish planned while jobs held a few hundred rows went on scanning
 * the whole table as it grew (Postgres CPU 880 µs per job in one run; 93 with these settings).
 * A disabled path only costs more to the planner: a statement with no other way still runs.
 */
const plannerSettings = 'SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off';

/**
 * Everything the store sets on a new connection, as statements: the schema, the statement timeout
 * and the planner settings. None of it is a startup parameter (`options`, `statement_timeout`):
 * PgBouncer refuses those by default ("unsupported startup parameter"), and an `options` in the
 * user's URL would override ours — a schema given to the store would be silently ignored. Settings
 * in the URL still apply; these come after them.
 */
function sessionSettings(schema: string | null, statementTimeoutMs: number): string {
  const schemaSetting = schema === null ? '' : `SET search_path = ${quoteIdent(schema)}; `;
  return `${schemaSetting}SET statement_timeout = ${Math.max(0, Math.ceil(statementTimeoutMs))}; ${plannerSettings}`;
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

const statementNames = new Map<string, string>();

/** A stable prepared-statement name for a SQL text. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `pitboss_${statementNames.size}`;
    statementNames.set(text, name);
  }
  return name;
}

export class PostgresClient implements SqlClient {
  readonly backend = 'postgres' as const;
  readonly schema: string | null;
  readonly #pool: pg.Pool;
  readonly #config: pg.ClientConfig;
  readonly #listener: ListenConnection;

  constructor(url: string, options: SqlClientOptions) {
    this.schema = options.schema ?? null;
    this.#config = {
      connectionString: url,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      keepAlive: true,
      application_name: options.applicationName ?? 'pitboss',
    };
    const settings = sessionSettings(this.schema, options.statementTimeoutMs ?? 30_000);
    this.#pool = new pg.Pool({
      ...this.#config,
      max: options.poolSize ?? 10,
      idleTimeoutMillis: 30_000,
      // Awaited before the pool hands the new connection out; if it fails, the connection is closed
      // and the query that asked for it gets the error.
      onConnect: async (client) => {
        await client.query(settings);
      },
    });
    // An idle connection the server dropped: the pool discards it and the next query opens a new one.
    // Without a listener this 'error' would crash the process.
    this.#pool.on('error', () => {});
    this.#listener = new ListenConnection(this.#config);
  }

  async query<R extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]): Promise<R[]> {
    // Parameterised statements are prepared once per connection (a name per SQL text): the store's
    // hot statements then skip parse/plan, which cut Postgres CPU per job from ~340 to ~260 µs in
    // bench/jobs-throughput.
    if (params === undefined || params.length === 0) return (await this.#pool.query<R>(text)).rows;
    const result = await this.#pool.query<R>({ name: statementName(text), text, values: params as unknown[] });
    return result.rows;
  }

  async exec(text: string): Promise<void> {
    await this.#pool.query(text);
  }

  async transaction<T>(work: (tx: SqlQueryable) => Promise<T>, options: { statementTimeoutMs?: number } = {}): Promise<T> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      if (options.statementTimeoutMs !== undefined) await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.ceil(options.statementTimeoutMs))}`);
      const tx: SqlQueryable = {
        query: async <R extends SqlRow>(text: string, params?: readonly unknown[]) => (await client.query<R>(text, params as unknown[] | undefined)).rows,
        exec: async (text: string) => { await client.query(text); },
      };
      const result = await work(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A connection that failed mid-transaction is destroyed rather than returned to the pool.
      await client.query('ROLLBACK').catch((rollbackError: unknown) => { broken = rollbackError as Error; });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  listen(channel: string, listener: NotificationListener): Promise<() => Promise<void>> {
    return this.#listener.add(channel, listener);
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.#pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  async close(): Promise<void> {
    await this.#listener.close();
    await this.#pool.end();
  }
}

/** The one LISTEN connection of a client: connects on first use, re-LISTENs after every reconnect. */
class ListenConnection {
  readonly #config: pg.ClientConfig;
  readonly #channels = new Map<string, Set<NotificationListener>>();
  #client: pg.Client | null = null;
  #connecting: Promise<void> | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #retryDelay = LISTEN_RETRY_MIN_MS;
  #closed = false;

  constructor(config: pg.ClientConfig) {
    this.#config = config;
  }

  async add(channel: string, listener: NotificationListener): Promise<() => Promise<void>> {
    let set = this.#channels.get(channel);
    const fresh = set === undefined;
    if (set === undefined) this.#channels.set(channel, (set = new Set()));
    set.add(listener);
    if (this.#client === null && this.#retryTimer === null) {
      try {
        await (this.#connecting ??= this.#connect());
      } catch (error) {
        // Down right now: keep the subscription and let the reconnect loop LISTEN once it can.
        listener.onConnectionLost?.(error);
        this.#scheduleReconnect();
      }
    }
    // LISTEN is idempotent; this covers a channel added while a connect was already under way.
    if (fresh) await this.#client?.query(`LISTEN ${quoteIdent(channel)}`).catch(() => {});
    return async () => {
      const current = this.#channels.get(channel);
      if (current === undefined || !current.delete(listener) || current.size > 0) return;
      this.#channels.delete(channel);
      await this.#client?.query(`UNLISTEN ${quoteIdent(channel)}`).catch(() => {});
    };
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#config);
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('Connection terminated')));
    client.on('notification', (message) => {
      for (const listener of this.#channels.get(message.channel) ?? []) listener.onNotify(message.payload ?? '');
    });
    try {
      await client.connect();
      for (const channel of this.#channels.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw error;
    } finally {
      this.#connecting = null;
    }
    if (this.#closed) return void (await client.end().catch(() => {}));
    this.#client = client;
    this.#retryDelay = LISTEN_RETRY_MIN_MS;
  }

  #lost(client: pg.Client, error: unknown): void {
    if (this.#client !== client || this.#closed) return;
    this.#client = null;
    client.removeAllListeners('end');
    void client.end().catch(() => {});
    this.#each((listener) => listener.onConnectionLost?.(error));
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retryTimer !== null) return;
    const delay = this.#retryDelay * (1 + Math.random());
    this.#retryDelay = Math.min(this.#retryDelay * 2, LISTEN_RETRY_MAX_MS);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      (this.#connecting ??= this.#connect()).then(
        () => this.#each((listener) => listener.onResubscribed?.()),
        () => this.#scheduleReconnect(),
      );
    }, delay);
    this.#retryTimer.unref();
  }

  #each(fn: (listener: NotificationListener) => void): void {
    for (const set of this.#channels.values()) for (const listener of set) fn(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    await this.#connecting?.catch(() => {});
    const client = this.#client;
    this.#client = null;
    if (client !== null) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
    }
  }
}
