/**
 * Validation of supervisor options and child specs. Everything is checked once, in the constructor,
 * so a typo (`'one-for-one'`, a negative timeout, a duplicate id) fails at startup with a message
 * naming the key instead of surfacing at the first crash, hours later.
 */
import { SupervisorError } from '../errors/classes.ts';
import type { Telemetry } from '../telemetry/bus.ts';
import { telemetry as sharedTelemetry } from '../telemetry/default.ts';
import type { ChildHandle, RestartType, StartContext, Strategy, SupervisorOptions } from './types.ts';

/** Node clamps longer timers to 1 ms (with a warning); anything longer is treated as "for ever". */
export const MAX_TIMER_MS = 2_147_483_647;

/** Backoff with its default applied. */
export interface NormalizedBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly resetAfterMs: number;
}

/** A validated child spec. */
export interface NormalizedChildSpec {
  readonly id: string;
  readonly start: (context: StartContext) => Promise<ChildHandle> | ChildHandle;
  readonly restart: RestartType;
  readonly shutdownMs: number;
  readonly backoff: NormalizedBackoff | null;
}

/** Validated supervisor options. */
export interface NormalizedOptions {
  readonly id: string;
  readonly strategy: Strategy;
  readonly maxRestarts: number;
  readonly periodMs: number;
  readonly children: readonly NormalizedChildSpec[];
  readonly telemetry: Telemetry;
}

const strategies: readonly Strategy[] = ['one_for_one', 'one_for_all', 'rest_for_one'];
const restartTypes: readonly RestartType[] = ['permanent', 'transient', 'temporary'];
/** pm2 multiplies its exp_backoff_restart_delay by 1.5 per consecutive crash. */
const DEFAULT_FACTOR = 1.5;

function invalid(where: string, why: string): never {
  throw new SupervisorError('PITBOSS_INVALID_SUPERVISOR_SPEC', `${where}: ${why}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function nonEmptyString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') invalid(where, 'must be a non-empty string');
  return value;
}

/** A number of milliseconds in [min, MAX_TIMER_MS], or Infinity when allowed. */
function milliseconds(value: unknown, where: string, options: { min?: number; infinite?: boolean } = {}): number {
  const min = options.min ?? 0;
  if (typeof value !== 'number' || Number.isNaN(value)) invalid(where, 'must be a number of milliseconds');
  if (value === Infinity && options.infinite === true) return value;
  if (!Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    invalid(where, `must be between ${min} and ${MAX_TIMER_MS}${options.infinite === true ? ', or Infinity' : ''} (got ${value})`);
  }
  return value;
}

function normalizeBackoff(value: unknown, where: string): NormalizedBackoff | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) invalid(where, 'must be an object { initialMs, maxMs, factor?, resetAfterMs }');
  const initialMs = milliseconds(value.initialMs, `${where}.initialMs`);
  const maxMs = milliseconds(value.maxMs, `${where}.maxMs`, { min: initialMs });
  const resetAfterMs = milliseconds(value.resetAfterMs, `${where}.resetAfterMs`);
  const factor = value.factor ?? DEFAULT_FACTOR;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) invalid(`${where}.factor`, 'must be a finite number ≥ 1');
  return { initialMs, maxMs, factor, resetAfterMs };
}

/** Validates one child spec; `where` names it in messages. */
function normalizeChildSpec(value: unknown, where: string): NormalizedChildSpec {
  if (!isObject(value)) invalid(where, 'must be a child spec object');
  const id = nonEmptyString(value.id, `${where}.id`);
  const at = `child ${JSON.stringify(id)}`;
  if (typeof value.start !== 'function') invalid(`${at}.start`, 'must be a function returning a ChildHandle');
  if (!restartTypes.includes(value.restart as RestartType)) invalid(`${at}.restart`, `must be one of ${restartTypes.join(', ')}`);
  return {
    id,
    start: value.start as NormalizedChildSpec['start'],
    restart: value.restart as RestartType,
    shutdownMs: milliseconds(value.shutdownMs, `${at}.shutdownMs`, { infinite: true }),
    backoff: normalizeBackoff(value.backoff, `${at}.backoff`),
  };
}

/** Validates supervisor options, applying the shared bus as the default telemetry. */
export function normalizeOptions(options: SupervisorOptions): NormalizedOptions {
  if (!isObject(options)) invalid('supervisor options', 'must be an object');
  const id = nonEmptyString(options.id, 'supervisor id');
  const at = `supervisor ${JSON.stringify(id)}`;
  if (!strategies.includes(options.strategy)) invalid(`${at} strategy`, `must be one of ${strategies.join(', ')}`);
  const intensity: unknown = options.intensity;
  if (!isObject(intensity)) invalid(`${at} intensity`, 'must be an object { maxRestarts, periodMs }');
  const maxRestarts = intensity.maxRestarts;
  if (typeof maxRestarts !== 'number' || !Number.isInteger(maxRestarts) || maxRestarts < 0) {
    invalid(`${at} intensity.maxRestarts`, 'must be an integer ≥ 0');
  }
  const periodMs = milliseconds(intensity.periodMs, `${at} intensity.periodMs`, { min: 1 });
  if (!Array.isArray(options.children)) invalid(`${at} children`, 'must be an array of child specs');
  const children = options.children.map((child, i) => normalizeChildSpec(child, `${at} children[${i}]`));
  const seen = new Set<string>();
  for (const child of children) {
    if (seen.has(child.id)) invalid(`${at} children`, `duplicate child id ${JSON.stringify(child.id)}`);
    seen.add(child.id);
  }
  const bus = options.telemetry ?? sharedTelemetry;
  if (!isObject(bus) || typeof (bus as { execute?: unknown }).execute !== 'function') invalid(`${at} telemetry`, 'must be a Telemetry bus');
  return { id, strategy: options.strategy, maxRestarts, periodMs, children, telemetry: bus };
}
