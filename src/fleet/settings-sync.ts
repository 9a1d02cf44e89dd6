/**
 * Telemetry settings kept in step across a fleet: telemetry rules (sampling, filters) and log levels
 * changed through the API are persisted in Postgres (the truth, versioned) and applied here; every
 * other supervisor sharing the database hears the change (LISTEN/NOTIFY) and applies it too. Pools copy what the bus and the log levels
 * hold into their threads, so one PUT reaches every thread of every supervisor.
 */
import type { Telemetry } from '../telemetry/bus.ts';
import { normalizeRule, type ControlRule, type ControlRuleInput } from '../telemetry/rules.ts';
import { LogLevels, type LogCategory, type LogLevel, type LogLevelsChange, type LogLevelsSnapshot } from '../log/levels.ts';
import type { LogLevelInput, LogLevelSetting, TelemetrySettings, TelemetrySettingsInput } from '../jobs/store/types.ts';

/** The store's side (`JobStore.settings` on Postgres and PGlite): one versioned table, NOTIFY on change. */
interface SettingsStorePort {
  load(): Promise<TelemetrySettings>;
  save(input: TelemetrySettingsInput): Promise<TelemetrySettings>;
  onChange(listener: (state: TelemetrySettings) => void, onError?: (error: unknown) => void): Promise<() => Promise<void>>;
}

type Levels = Omit<LogLevelsSnapshot, 'version'>;

/** The level table as the store's rows: `*` is the default, `worker` rows scoped to a pool/slot are per-worker. */
function levelsToRows(levels: Levels): LogLevelInput[] {
  return [
    { category: '*', level: levels.default },
    ...Object.entries(levels.categories).map(([category, level]) => ({ category, level: level! })),
    ...Object.entries(levels.workers).map(([key, level]) => {
      const [pool, worker] = key.split('/') as [string, string];
      return { category: 'worker', level, scope: { pool, worker } };
    }),
  ];
}

function rowsToLevels(rows: readonly LogLevelSetting[]): Levels {
  const levels: { default: LogLevel; categories: Partial<Record<LogCategory, LogLevel>>; workers: Record<string, LogLevel> } = { default: 'info', categories: {}, workers: {} };
  for (const row of rows) {
    if (row.category === '*') levels.default = row.level;
    else if (row.scope.pool !== null && row.scope.worker !== null) levels.workers[`${row.scope.pool}/${row.scope.worker}`] = row.level;
    else levels.categories[row.category as LogCategory] = row.level;
  }
  return levels;
}

/** Something whose threads apply rules: reports the version each thread applied. */
interface RuleAppliers {
  readonly name: string;
  threads(): readonly { workerId: number; rulesVersion: number }[];
}

export interface FleetSettingsSyncOptions {
  readonly bus: Telemetry;
  readonly levels: LogLevels;
  /** Without a store, changes apply to this process only. */
  readonly store: SettingsStorePort | null;
  readonly pools: () => readonly RuleAppliers[];
}

export class FleetSettingsSync {
  readonly #o: FleetSettingsSyncOptions;
  #storeVersion = 0;
  #unlisten: (() => Promise<void>) | null = null;

  constructor(options: FleetSettingsSyncOptions) {
    this.#o = options;
  }

  /** Adopts the persisted tables and starts listening for changes made elsewhere. */
  async start(): Promise<void> {
    const { store } = this.#o;
    if (store === null) return;
    this.#unlisten = await store.onChange((state) => this.#adopt(state));
    this.#adopt(await store.load());
  }

  async stop(): Promise<void> {
    await this.#unlisten?.();
    this.#unlisten = null;
  }

  /** Rules, their local version, the store version, and the version each pool thread applied. */
  telemetry() {
    const { version, rules } = this.#o.bus.control.rules();
    const applied = Object.fromEntries(this.#o.pools().map((pool) => [pool.name, pool.threads().map((t) => ({ workerId: t.workerId, rulesVersion: t.rulesVersion }))]));
    return { version, storeVersion: this.#storeVersion, rules, applied };
  }

  /** Replaces the whole rule table (validated first: a bad rule changes nothing). */
  async setTelemetryRules(inputs: readonly ControlRuleInput[]) {
    const rules = inputs.map((input) => normalizeRule(input));
    await this.#save(rules, this.#o.levels.snapshot());
    this.#applyRules(rules);
    return this.telemetry();
  }

  logLevels(): LogLevelsSnapshot & { storeVersion: number } {
    return { ...this.#o.levels.snapshot(), storeVersion: this.#storeVersion };
  }

  /** Changes log levels (validated as a whole on a scratch copy before anything is saved). */
  async setLogLevels(change: LogLevelsChange): Promise<LogLevelsSnapshot & { storeVersion: number }> {
    const scratch = new LogLevels();
    scratch.apply({ ...this.#o.levels.snapshot(), version: 1 });
    const next = scratch.set(change);
    await this.#save(this.#o.bus.control.rules().rules, next);
    this.#applyLevels(next);
    return this.logLevels();
  }

  async #save(rules: readonly ControlRule[], levels: Levels): Promise<void> {
    if (this.#o.store === null) return;
    const saved = await this.#o.store.save({ rules, logLevels: levelsToRows(levels) });
    this.#storeVersion = Math.max(this.#storeVersion, saved.version);
  }

  /** Applies a persisted table newer than the last one seen (our own saves come back too: skipped). */
  #adopt(state: TelemetrySettings): void {
    if (state.version <= this.#storeVersion) return;
    this.#storeVersion = state.version;
    this.#applyRules(state.rules);
    this.#applyLevels(rowsToLevels(state.logLevels));
  }

  #applyRules(rules: readonly ControlRule[]): void {
    const { control } = this.#o.bus;
    control.apply({ version: control.rules().version + 1, rules });
  }

  #applyLevels(levels: Levels): void {
    const current = this.#o.levels;
    current.apply({ ...levels, version: current.snapshot().version + 1 });
  }
}
