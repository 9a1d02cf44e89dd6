/**
 * Telemetry rules: the sampling and filter rules that decide, per event, whether it is emitted.
 *
 * A rule is `{ pattern, rate, enabled, scope: { pool?, worker? } }`. The most specific rule wins:
 * scope first (a pool+worker rule beats a pool rule beats an unscoped one, because a scope is an
 * operator aiming at one place), then pattern (an exact name beats a longer prefix beats a shorter
 * prefix beats `'*'`). The table is plain data with a version, so it can be copied into a worker
 * thread, stored in Postgres or sent over NOTIFY as-is; the bus compiles it into per-event rates.
 */
import { TelemetryError } from '../errors/classes.ts';

/** A rule as given by host code or the `/control/telemetry` API. */
export interface ControlRuleInput {
  /** An event name, `'<prefix>.*'`, or `'*'`. */
  pattern: string;
  /** Fraction of matching events to keep, 0..1 (default 1). */
  rate?: number;
  /** `false` drops every matching event (default true). */
  enabled?: boolean;
  /** Narrow the rule to one pool, or one worker slot of one pool. */
  scope?: { pool?: string | null; worker?: string | number | null };
}

/** A validated rule with every field present (fixed shape, cheap to copy). */
export interface ControlRule {
  readonly pattern: string;
  readonly rate: number;
  readonly enabled: boolean;
  readonly scope: { readonly pool: string | null; readonly worker: string | null };
}

/** The whole rule table at one version. */
export interface RuleSnapshot {
  readonly version: number;
  readonly rules: readonly ControlRule[];
}

export const patternShape = /^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$/;

/** Validates a rule, failing with the offending key named. */
export function normalizeRule(input: ControlRuleInput): ControlRule {
  const { pattern, rate = 1, enabled = true, scope = {} } = input;
  if (typeof pattern !== 'string' || !patternShape.test(pattern)) {
    throw new TelemetryError('PITBOSS_INVALID_RULE', `rule.pattern must be an event name, '<prefix>.*' or '*', got ${JSON.stringify(pattern)}`);
  }
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new TelemetryError('PITBOSS_INVALID_RULE', `rule.rate must be a number in 0..1, got ${JSON.stringify(rate)}`);
  }
  if (typeof enabled !== 'boolean') {
    throw new TelemetryError('PITBOSS_INVALID_RULE', `rule.enabled must be a boolean, got ${JSON.stringify(enabled)}`);
  }
  const pool = scope.pool ?? null;
  const worker = scope.worker === undefined || scope.worker === null ? null : String(scope.worker);
  if (pool !== null && (typeof pool !== 'string' || pool === '')) {
    throw new TelemetryError('PITBOSS_INVALID_RULE', `rule.scope.pool must be a non-empty string, got ${JSON.stringify(pool)}`);
  }
  if (worker !== null && pool === null) {
    throw new TelemetryError('PITBOSS_INVALID_RULE', 'rule.scope.worker needs rule.scope.pool: worker ids are slots within one pool');
  }
  return { pattern, rate, enabled, scope: { pool, worker } };
}

/** True when `pattern` selects `event`. */
export function patternMatches(pattern: string, event: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return event.startsWith(pattern.slice(0, -1));
  return pattern === event;
}

function specificity(rule: ControlRule): number {
  const scopeRank = rule.scope.worker !== null ? 2 : rule.scope.pool !== null ? 1 : 0;
  const { pattern } = rule;
  // An exact name outranks any prefix; a longer prefix outranks a shorter one.
  const patternRank = pattern === '*' ? 0 : pattern.endsWith('.*') ? pattern.split('.').length - 1 : 1000;
  return scopeRank * 10_000 + patternRank;
}

const ruleKey = (r: ControlRule): string => `${r.pattern}\u0000${r.scope.pool ?? ''}\u0000${r.scope.worker ?? ''}`;

/**
 * The keep-rate for an event emitted from `pool`/`worker` (null when the emitter has no such scope).
 * Returns 1 when no rule matches.
 */
export function resolveRate(rules: readonly ControlRule[], event: string, pool: string | null, worker: string | null): number {
  let best: ControlRule | null = null;
  let bestRank = -1;
  for (const rule of rules) {
    if (rule.scope.pool !== null && rule.scope.pool !== pool) continue;
    if (rule.scope.worker !== null && rule.scope.worker !== worker) continue;
    if (!patternMatches(rule.pattern, event)) continue;
    const rank = specificity(rule);
    if (rank > bestRank) {
      best = rule;
      bestRank = rank;
    }
  }
  if (best === null) return 1;
  return best.enabled ? best.rate : 0;
}

/** True when some scoped rule could apply to `event`, so the rate depends on the emitter's pool/worker. */
export function hasScopedRule(rules: readonly ControlRule[], event: string): boolean {
  return rules.some((r) => r.scope.pool !== null && patternMatches(r.pattern, event));
}

/**
 * The versioned rule table. Every change bumps the version and notifies the owner (the bus), which
 * recompiles its per-event rates and emits `telemetry.control.changed`.
 */
export class RuleTable {
  #rules = new Map<string, ControlRule>();
  /** Cached array view: scoped sampling reads it on the emit path, so it must not allocate. */
  #list: readonly ControlRule[] = [];
  #version = 0;
  readonly #onChange: (change: 'set' | 'removed' | 'replaced', pattern: string) => void;

  constructor(onChange: (change: 'set' | 'removed' | 'replaced', pattern: string) => void) {
    this.#onChange = onChange;
  }

  get version(): number {
    return this.#version;
  }

  list(): readonly ControlRule[] {
    return this.#list;
  }

  #changed(change: 'set' | 'removed' | 'replaced', pattern: string): void {
    this.#list = Object.freeze([...this.#rules.values()]);
    this.#onChange(change, pattern);
  }

  set(input: ControlRuleInput): ControlRule {
    const rule = normalizeRule(input);
    this.#rules.set(ruleKey(rule), rule);
    this.#version++;
    this.#changed('set', rule.pattern);
    return rule;
  }

  remove(pattern: string, scope: ControlRuleInput['scope'] = {}): boolean {
    const key = ruleKey(normalizeRule({ pattern, scope }));
    if (!this.#rules.delete(key)) return false;
    this.#version++;
    this.#changed('removed', pattern);
    return true;
  }

  /** Adopts a whole table (from another process or thread); ignored unless newer than ours. */
  replace(snapshot: RuleSnapshot): boolean {
    if (snapshot.version <= this.#version) return false;
    const next = new Map<string, ControlRule>();
    for (const input of snapshot.rules) {
      const rule = normalizeRule(input);
      next.set(ruleKey(rule), rule);
    }
    this.#rules = next;
    this.#version = snapshot.version;
    this.#changed('replaced', '*');
    return true;
  }

  snapshot(): RuleSnapshot {
    return { version: this.#version, rules: this.list() };
  }
}
