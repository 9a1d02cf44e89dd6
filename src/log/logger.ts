/**
 * pino JSON logs by category, each at its own runtime-changeable level, with secrets redacted.
 * Worker code's `ctx.log` lines come through `workerLine`, at the level of the `worker` category or
 * of that one worker (`<pool>/<worker_id>`).
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { traceIdOf } from '../telemetry/correlation.ts';
import type { ThreadLogRecord } from './record.ts';
import { logCategories, LogLevels, parseLogLevel, type LogCategory } from './levels.ts';

/** Paths pino censors wherever they appear in a log object. */
const redactPaths = [
  'password', '*.password', 'token', '*.token', 'secret', '*.secret', 'authorization', '*.authorization',
  'headers.authorization', 'headers.cookie', 'databaseUrl', 'redisUrl', 'controlToken', '*.apiKey', 'apiKey',
];

export { redactUrl } from './redact-url.ts';

/** Where a `PitbossLogger` writes, its starting levels and the fields bound on every line. */
export interface PitbossLoggerOptions {
  /** Runtime levels (default: a new table at LOG_LEVEL or info). */
  levels?: LogLevels;
  /** Where lines go (default stdout). */
  destination?: DestinationStream;
  /** Bound on every line (e.g. supervisor id). */
  base?: Record<string, unknown>;
}

/** pino-backed logger with per-category levels changeable at runtime; also writes the lines threads send through `ctx.log`. */
export class PitbossLogger {
  readonly levels: LogLevels;
  readonly root: Logger;
  readonly #categories = new Map<LogCategory, Logger>();
  readonly #workers = new Map<string, Logger>();

  constructor(options: PitbossLoggerOptions = {}) {
    this.levels = options.levels ?? new LogLevels();
    // The root logs everything; each category child carries its own level (pino child levels).
    this.root = pino({
      level: 'trace',
      base: { ...options.base },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    }, options.destination ?? pino.destination({ dest: 1, sync: false }));
    for (const category of logCategories) this.#categories.set(category, this.root.child({ category }));
    this.#applyLevels();
    this.levels.subscribe(() => this.#applyLevels());
  }

  /** The logger of one category. */
  category(category: LogCategory): Logger {
    return this.#categories.get(category)!;
  }

  /** Writes a line from worker code (`ctx.log`), under its worker's level. */
  workerLine(record: ThreadLogRecord, origin: { pool: string; worker_id: number }): void {
    const key = `${origin.pool}/${origin.worker_id}`;
    let logger = this.#workers.get(key);
    if (logger === undefined) {
      logger = this.category('worker').child({ pool: origin.pool, worker_id: origin.worker_id });
      logger.level = this.levels.levelFor('worker', key);
      this.#workers.set(key, logger);
    }
    const fields = record.fields ?? {};
    const traceparent = typeof fields.traceparent === 'string' ? fields.traceparent : null;
    logger[record.level]({ event: 'worker_log', ...fields, trace_id: traceparent === null ? undefined : traceIdOf(traceparent), thread_time: record.time }, record.msg);
  }

  /** Flushes buffered lines (call before exit). */
  flush(): void {
    this.root.flush();
  }

  #applyLevels(): void {
    for (const [category, logger] of this.#categories) logger.level = this.levels.levelFor(category);
    for (const [key, logger] of this.#workers) logger.level = this.levels.levelFor('worker', key);
  }
}

let shared: PitbossLogger | null = null;

/** The process-wide logger (stdout, LOG_LEVEL), created on first use. */
export function defaultLogger(): PitbossLogger {
  shared ??= new PitbossLogger({ levels: new LogLevels(parseLogLevel('LOG_LEVEL', process.env.LOG_LEVEL ?? 'info')) });
  return shared;
}
