/**
 * Log levels that change at runtime: a default, one per category, and one per worker
 * (`<pool>/<worker_id>`, which wins over the `worker` category for that thread's own logs).
 * Plain data with a version, so it can be persisted, sent between supervisors and copied into
 * worker threads like the telemetry rule table.
 */
import { PitbossError } from '../errors/classes.ts';

export const logCategories = ['pool', 'worker', 'job', 'supervisor', 'telemetry', 'store', 'dispatch', 'http'] as const;
/** A log category: the part of pitboss a line comes from (`pool`, `job`, `store`, …). */
export type LogCategory = (typeof logCategories)[number];

export const logLevelNames = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** A pino level name, or `silent`. */
export type LogLevel = (typeof logLevelNames)[number];

/** pino's numeric levels; `silent` is above everything. */
export const levelValue: Readonly<Record<LogLevel, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** The whole level table at one version. */
export interface LogLevelsSnapshot {
  readonly version: number;
  readonly default: LogLevel;
  readonly categories: Readonly<Partial<Record<LogCategory, LogLevel>>>;
  /** Keys `<pool>/<worker_id>`. */
  readonly workers: Readonly<Record<string, LogLevel>>;
}

/** A change: any subset; `null` removes a category or worker override. */
export interface LogLevelsChange {
  default?: LogLevel;
  categories?: Partial<Record<string, LogLevel | null>>;
  workers?: Record<string, LogLevel | null>;
}

const fail = (key: string, value: unknown): never => {
  throw new PitbossError('PITBOSS_INVALID_CONFIG', `${key} must be one of ${logLevelNames.join(', ')}, got ${JSON.stringify(value)}`);
};
const isLevel = (value: unknown): value is LogLevel => typeof value === 'string' && (logLevelNames as readonly string[]).includes(value);
const workerKeyShape = /^[A-Za-z0-9_.-]{1,64}\/\d{1,4}$/;

/** Validates a level name (for config parsing), naming `key` on error. */
export function parseLogLevel(key: string, value: unknown): LogLevel {
  return isLevel(value) ? value : fail(key, value);
}

/** Log levels changeable at runtime: a default, per category, and per worker (`<pool>/<worker_id>`); an unset one uses the default. */
export class LogLevels {
  #snapshot: LogLevelsSnapshot;
  #listeners: ((snapshot: LogLevelsSnapshot) => void)[] = [];

  constructor(defaultLevel: LogLevel = 'info') {
    this.#snapshot = { version: 0, default: defaultLevel, categories: {}, workers: {} };
  }

  snapshot(): LogLevelsSnapshot {
    return this.#snapshot;
  }

  /** Applies a change (validated as a whole before anything changes) and returns the new snapshot. */
  set(change: LogLevelsChange): LogLevelsSnapshot {
    const next = { default: this.#snapshot.default, categories: { ...this.#snapshot.categories }, workers: { ...this.#snapshot.workers } };
    if (change.default !== undefined) next.default = parseLogLevel('default', change.default);
    for (const [category, level] of Object.entries(change.categories ?? {})) {
      if (!(logCategories as readonly string[]).includes(category)) {
        throw new PitbossError('PITBOSS_INVALID_CONFIG', `categories.${category}: unknown category (one of ${logCategories.join(', ')})`);
      }
      if (level === null) delete next.categories[category as LogCategory];
      else next.categories[category as LogCategory] = parseLogLevel(`categories.${category}`, level);
    }
    for (const [worker, level] of Object.entries(change.workers ?? {})) {
      if (!workerKeyShape.test(worker)) throw new PitbossError('PITBOSS_INVALID_CONFIG', `workers.${worker}: keys are "<pool>/<worker_id>"`);
      if (level === null) delete next.workers[worker];
      else next.workers[worker] = parseLogLevel(`workers.${worker}`, level);
    }
    return this.#publish({ version: this.#snapshot.version + 1, ...next });
  }

  /** Adopts a newer table (from the store or another supervisor); false when not newer. */
  apply(snapshot: LogLevelsSnapshot): boolean {
    if (snapshot.version <= this.#snapshot.version) return false;
    const checked = new LogLevels(parseLogLevel('default', snapshot.default));
    checked.set({ categories: snapshot.categories, workers: snapshot.workers });
    this.#publish({ ...checked.snapshot(), version: snapshot.version });
    return true;
  }

  /** The level that applies to a category, or to one worker's own logs. */
  levelFor(category: LogCategory, worker?: string): LogLevel {
    const s = this.#snapshot;
    return (worker === undefined ? undefined : s.workers[worker]) ?? s.categories[category] ?? s.default;
  }

  subscribe(listener: (snapshot: LogLevelsSnapshot) => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  #publish(snapshot: LogLevelsSnapshot): LogLevelsSnapshot {
    this.#snapshot = snapshot;
    for (const listener of this.#listeners) listener(snapshot);
    return snapshot;
  }
}
