/**
 * Runtime control for a fleet: telemetry rules and log levels changed through the API are persisted
 * in Postgres (the truth, versioned) and applied here; every other supervisor sharing the database
 * hears the change (LISTEN/NOTIFY) and applies it too. Pools copy what the bus and the log levels
 * hold into their threads, so one PUT reaches every thread of every supervisor.
 */
import type { Telemetry } from '../telemetry/bus.ts';
import { normalizeRule, type ControlRule, type ControlRuleInput } from '../telemetry/control.ts';
import { LogLevels, type LogLevelsChange, type LogLevelsSnapshot } from '../log/levels.ts';

/** What is persisted: the whole rule table and level table, under one store version. */
export interface PersistedControl {
  readonly version: number;
  readonly rules: readonly ControlRule[];
  readonly logLevels: Omit<LogLevelsSnapshot, 'version'>;
}

/** The store's side (implemented by JobStore on Postgres and PGlite). */
export interface ControlStorePort {
  loadControl(): Promise<PersistedControl | null>;
  /** Writes both tables in one transaction, bumps and returns the version, and notifies listeners. */
  saveControl(control: Omit<PersistedControl, 'version'>): Promise<PersistedControl>;
  /** Calls `listener` when any supervisor saved a change; resolves to an unsubscribe. */
  onControlChange(listener: () => void): Promise<() => Promise<void>>;
}

/** Something whose threads apply rules: reports the version each thread applied. */
export interface RuleAppliers {
  readonly name: string;
  threads(): readonly { workerId: number; rulesVersion: number }[];
}

export interface FleetControlOptions {
  readonly bus: Telemetry;
  readonly levels: LogLevels;
  /** Without a store, changes apply to this process only. */
  readonly store: ControlStorePort | null;
  readonly pools: () => readonly RuleAppliers[];
}

export class FleetControl {
  readonly #o: FleetControlOptions;
  #storeVersion = 0;
  #unlisten: (() => Promise<void>) | null = null;

  constructor(options: FleetControlOptions) {
    this.#o = options;
  }

  /** Adopts the persisted tables and starts listening for changes made elsewhere. */
  async start(): Promise<void> {
    const { store } = this.#o;
    if (store === null) return;
    this.#unlisten = await store.onControlChange(() => { void this.#reload(); });
    await this.#reload();
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
    await this.#save({ rules, logLevels: withoutVersion(this.#o.levels.snapshot()) });
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
    await this.#save({ rules: this.#o.bus.control.rules().rules, logLevels: withoutVersion(next) });
    this.#applyLevels(next);
    return this.logLevels();
  }

  async #save(control: Omit<PersistedControl, 'version'>): Promise<void> {
    if (this.#o.store === null) return;
    const saved = await this.#o.store.saveControl(control);
    this.#storeVersion = Math.max(this.#storeVersion, saved.version);
  }

  async #reload(): Promise<void> {
    const persisted = await this.#o.store?.loadControl().catch(() => null);
    if (persisted === null || persisted === undefined || persisted.version <= this.#storeVersion) return;
    this.#storeVersion = persisted.version;
    this.#applyRules(persisted.rules);
    this.#applyLevels(persisted.logLevels);
  }

  #applyRules(rules: readonly ControlRule[]): void {
    const { control } = this.#o.bus;
    control.apply({ version: control.rules().version + 1, rules });
  }

  #applyLevels(levels: Omit<LogLevelsSnapshot, 'version'>): void {
    const current = this.#o.levels;
    current.apply({ ...levels, version: current.snapshot().version + 1 });
  }
}

function withoutVersion(snapshot: LogLevelsSnapshot): Omit<LogLevelsSnapshot, 'version'> {
  return { default: snapshot.default, categories: snapshot.categories, workers: snapshot.workers };
}
