/**
 * `store.settings`: the persisted telemetry settings — sampling/filter rules and log levels, which
 * operators change at runtime (the `control_rules` table, versioned as a whole in `control_state`).
 * A save replaces the table in one transaction, bumps the version and NOTIFYs `pitboss_control`;
 * every store LISTENing (each supervisor of a fleet) reloads and hands the new settings to its
 * subscribers. A notification missed while the listening connection was down is made up by
 * reloading when it is back. Statements are in sql/settings.ts.
 */
import { JobError } from '../../errors/classes.ts';
import { normalizeRule, type ControlRule } from '../../telemetry/rules.ts';
import { settle, type StoreEngine } from './engine.ts';
import { settingsChannel, settingsSql } from './sql/settings.ts';
import type { LogLevelInput, LogLevelName, LogLevelSetting, SqlClient, SqlRow, TelemetrySettings, TelemetrySettingsInput } from './types.ts';

const levels: readonly LogLevelName[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const categoryShape = /^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$/;

const invalid = (field: string, message: string): JobError => new JobError('PITBOSS_INVALID_CONTROL', `${field} ${message}`, { field });

function normalizeLogLevel(input: LogLevelInput, field: string): LogLevelSetting {
  if (typeof input !== 'object' || input === null) throw invalid(field, 'must be { category?, level, scope? }');
  const category = input.category ?? '*';
  if (typeof category !== 'string' || !categoryShape.test(category)) throw invalid(`${field}.category`, `must be a logger category or '*', got ${JSON.stringify(category)}`);
  if (!levels.includes(input.level)) throw invalid(`${field}.level`, `must be one of ${levels.join(', ')}, got ${JSON.stringify(input.level)}`);
  const pool = input.scope?.pool ?? null;
  const worker = input.scope?.worker === undefined || input.scope.worker === null ? null : String(input.scope.worker);
  if (pool !== null && (typeof pool !== 'string' || pool === '')) throw invalid(`${field}.scope.pool`, 'must be a non-empty string');
  if (worker !== null && pool === null) throw invalid(`${field}.scope.worker`, 'needs scope.pool: worker ids are slots within one pool');
  return { category, level: input.level, scope: { pool, worker } };
}

/** Validates a whole table before anything is written; later duplicates of one key replace earlier ones. */
function normalizeSettings(input: TelemetrySettingsInput): { rules: ControlRule[]; logLevels: LogLevelSetting[] } {
  if (typeof input !== 'object' || input === null || !Array.isArray(input.rules)) throw invalid('control.rules', 'must be an array of rules');
  if (input.logLevels !== undefined && !Array.isArray(input.logLevels)) throw invalid('control.logLevels', 'must be an array');
  const rules = new Map<string, ControlRule>();
  for (const rule of input.rules.map((r) => normalizeRule(r))) rules.set(`${rule.pattern}\u0000${rule.scope.pool ?? ''}\u0000${rule.scope.worker ?? ''}`, rule);
  const logLevels = new Map<string, LogLevelSetting>();
  (input.logLevels ?? []).forEach((entry, i) => {
    const setting = normalizeLogLevel(entry, `control.logLevels[${i}]`);
    logLevels.set(`${setting.category}\u0000${setting.scope.pool ?? ''}\u0000${setting.scope.worker ?? ''}`, setting);
  });
  return { rules: [...rules.values()], logLevels: [...logLevels.values()] };
}

function toState(rows: readonly SqlRow[]): TelemetrySettings {
  const rules: ControlRule[] = [];
  const logLevels: LogLevelSetting[] = [];
  for (const row of rows) {
    if (row.kind === null || row.kind === undefined) continue;
    const scope = { pool: row.pool === '' ? null : String(row.pool), worker: row.worker === '' ? null : String(row.worker) };
    if (row.kind === 'telemetry') rules.push({ pattern: String(row.pattern), rate: Number(row.rate), enabled: row.enabled === true, scope });
    else logLevels.push({ category: String(row.pattern), level: row.level as LogLevelName, scope });
  }
  return { version: Number(rows[0]?.version ?? 0), rules, logLevels };
}

async function loadSettings(client: SqlClient): Promise<TelemetrySettings> {
  return toState(await client.query(settingsSql.load));
}

async function saveSettings(client: SqlClient, input: TelemetrySettingsInput): Promise<TelemetrySettings> {
  const { rules, logLevels } = normalizeSettings(input);
  const expected = input.expectedVersion;
  return client.transaction(async (tx) => {
    const [bumped] = await tx.query<{ version: number }>(settingsSql.bump);
    const version = Number(bumped?.version ?? 0);
    if (expected !== undefined && expected !== version - 1) {
      throw new JobError('PITBOSS_CONTROL_CONFLICT', `control version is ${version - 1}, not the expected ${expected}; reload and apply the change again`);
    }
    await tx.query(settingsSql.clear);
    const entries = [
      ...rules.map((r) => ['telemetry', r.pattern, r.scope.pool ?? '', r.scope.worker ?? '', r.rate, r.enabled, null] as const),
      ...logLevels.map((l) => ['log_level', l.category, l.scope.pool ?? '', l.scope.worker ?? '', 1, true, l.level] as const),
    ];
    if (entries.length > 0) await tx.query(settingsSql.insert, [...[0, 1, 2, 3, 4, 5, 6].map((c) => entries.map((e) => e[c])), version]);
    await tx.query(settingsSql.notify, [settingsChannel, version]);
    return { version, rules, logLevels };
  });
}

/**
 * Calls `listener` with the stored settings whenever another save (from any store on this database
 * and schema) committed, and after the listening connection recovered. Versions only move forward.
 */
async function watchSettings(
  client: SqlClient, schema: string, listener: (state: TelemetrySettings) => void, onError: (error: unknown) => void,
): Promise<() => Promise<void>> {
  let delivered = -1;
  let loading: Promise<void> | null = null;
  let again = false;
  const reload = (): void => {
    if (loading !== null) return void (again = true);
    loading = loadSettings(client).then((state) => {
      if (state.version <= delivered) return;
      delivered = state.version;
      listener(state);
    }).catch(onError).finally(() => {
      loading = null;
      if (again) {
        again = false;
        reload();
      }
    });
  };
  return client.listen(settingsChannel, {
    onNotify: (payload) => {
      try {
        const { schema: from } = JSON.parse(payload) as { schema?: unknown };
        if (from === schema) reload();
      } catch {
        // Not ours (someone else NOTIFYing on the channel): ignore.
      }
    },
    onResubscribed: reload,
  });
}

/** `store.settings`: the persisted telemetry settings (rules and log levels) the fleet shares, with change notifications. */
export class SettingsFacet {
  readonly #engine: StoreEngine;

  /** @internal Built by JobStore.open. */
  constructor(engine: StoreEngine) {
    this.#engine = engine;
  }

  /** The persisted telemetry settings (rules and log levels) and their version. */
  load(): Promise<TelemetrySettings> {
    return settle(() => this.#engine.open('settings.load') && this.#engine.health.once('settings.load', () => loadSettings(this.#engine.client)));
  }

  /**
   * Replaces the settings, bumps their version and notifies every store on this database. Rejects
   * with `PITBOSS_INVALID_CONTROL` naming the field, or `PITBOSS_CONTROL_CONFLICT` when
   * `expectedVersion` is no longer current. Not retried: a save whose reply was lost may have
   * committed, and bumping twice would be a surprise.
   */
  save(input: TelemetrySettingsInput): Promise<TelemetrySettings> {
    return settle(() => this.#engine.open('settings.save') && this.#engine.health.write('settings.save', () => saveSettings(this.#engine.client, input)));
  }

  /** Calls `listener` with each newer version saved by any store here; resolves to an unsubscribe. */
  onChange(listener: (settings: TelemetrySettings) => void, onError: (error: unknown) => void = () => {}): Promise<() => Promise<void>> {
    return settle(async () => {
      this.#engine.open('settings.onChange');
      if (typeof listener !== 'function') throw new JobError('PITBOSS_INVALID_CONTROL', 'listener must be a function', { field: 'listener' });
      return this.#engine.track(await watchSettings(this.#engine.client, this.#engine.schema, listener, onError));
    });
  }
}
