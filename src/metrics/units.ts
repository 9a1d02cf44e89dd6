/**
 * Units of metric definitions: conversion between the catalog's units (durations in nanoseconds)
 * and the units metrics are exported in (OTel and Prometheus want base units: seconds), and the
 * default histogram buckets for each.
 */

/** Catalog measurements in nanoseconds (see the catalog's header); host events follow the same names. */
export const nanosecondMeasurements: ReadonlySet<string> = new Set(['duration', 'wait', 'lifetime', 'downtime', 'queue_time']);

/** Time units a measurement can be converted between. */
export type TimeUnit = 'ns' | 'us' | 'ms' | 's';

/**
 * A metric's unit: a UCUM string exported as-is (`'By'`, `'1'`, `'{job}'`), or a time conversion
 * applied to every measurement (`{ from: 'ns', to: 's' }`, the usual one for catalog durations).
 */
export type MetricUnit = string | { readonly from: TimeUnit; readonly to: TimeUnit };

/** Powers of ten of each time unit, so conversions are exact powers rather than products of rounded factors. */
const exponent: Readonly<Record<TimeUnit, number>> = { ns: -9, us: -6, ms: -3, s: 0 };

/**
 * What a `MetricUnit` resolves to: the exported unit, and `value * multiply / divide` (one of them 1).
 * Going to a larger unit divides: `700_000_000 * 1e-9` is 0.7000000000000001 but `700_000_000 / 1e9`
 * is 0.7, and an inexact product can land a value on the wrong side of a bucket boundary.
 */
export interface ResolvedUnit {
  readonly unit: string;
  readonly multiply: number;
  readonly divide: number;
}

/** Resolves a unit; returns a reason string instead when it cannot be used. */
export function resolveUnit(unit: MetricUnit | undefined): ResolvedUnit | string {
  if (unit === undefined) return { unit: '', multiply: 1, divide: 1 };
  if (typeof unit === 'string') {
    return unit.length <= 63 && /^[\x21-\x7e]*$/.test(unit)
      ? { unit, multiply: 1, divide: 1 }
      : `unit ${JSON.stringify(unit)} is not a printable ASCII string of at most 63 characters`;
  }
  if (typeof unit !== 'object' || unit === null) return 'unit must be a string or { from, to }';
  const from = exponent[unit.from];
  const to = exponent[unit.to];
  if (from === undefined || to === undefined) {
    return `unit conversion ${JSON.stringify(unit)} is not supported (time units: ${Object.keys(exponent).join(', ')})`;
  }
  return from >= to
    ? { unit: unit.to, multiply: 10 ** (from - to), divide: 1 }
    : { unit: unit.to, multiply: 1, divide: 10 ** (to - from) };
}

/**
 * Default buckets for durations in seconds: OTel's HTTP-duration advice (5 ms … 10 s) stretched to
 * 10 minutes, because jobs and worker calls run far longer than requests.
 */
export const secondsBuckets: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
]);

/** OTel's default explicit buckets, for any unit other than seconds. */
const otelDefaultBuckets: readonly number[] = Object.freeze([
  0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000,
]);

/** Default buckets for a distribution exported in `unit`. */
export function defaultBuckets(unit: string): readonly number[] {
  return unit === 's' ? secondsBuckets : otelDefaultBuckets;
}

/** Checks explicit bucket boundaries: finite and strictly increasing. Returns a reason, or null. */
export function checkBuckets(buckets: unknown): string | null {
  if (!Array.isArray(buckets)) return 'buckets must be an array of numbers';
  for (let i = 0; i < buckets.length; i++) {
    const b: unknown = buckets[i];
    if (typeof b !== 'number' || !Number.isFinite(b)) return `bucket ${i} (${String(b)}) is not a finite number`;
    if (i > 0 && b <= (buckets[i - 1] as number)) return `buckets must be strictly increasing (${String(buckets[i - 1])} then ${b})`;
  }
  return null;
}
