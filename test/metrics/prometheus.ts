/**
 * Test helpers for Prometheus text: a small parser (enough for the exposition the OTel serializer
 * writes) and `promtool check metrics`, which must be installed (Debian: `apt-get install prometheus`).
 */
import { spawnSync } from 'node:child_process';

/** One sample line. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A parsed exposition: samples, and the `# TYPE` of each family. */
export interface Exposition {
  readonly samples: readonly Sample[];
  readonly types: ReadonlyMap<string, string>;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text exposition; scope labels (`otel_scope_*`) are dropped so assertions stay readable. */
export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , family, type] = line.split(' ');
      types.set(family!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const match = sampleLine.exec(line);
    if (match === null) throw new Error(`unparsable sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(labelPair)) {
      if (!key!.startsWith('otel_scope_')) labels[key!] = value!.replace(/\\(.)/g, '$1');
    }
    const raw = match[3]!;
    samples.push({ name: match[1]!, labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return { samples, types };
}

/** Samples of `name` whose labels include `labels`. */
export function samplesOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exposition.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of exactly one matching sample; throws naming what was found otherwise. */
export function valueOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = samplesOf(exposition, name, labels);
  if (found.length !== 1) throw new Error(`expected one ${name}${JSON.stringify(labels)}, found ${found.length}: ${JSON.stringify(found)}`);
  return found[0]!.value;
}

/** Cumulative bucket counts of one histogram series, keyed by `le`. */
export function bucketsOf(exposition: Exposition, family: string, labels: Record<string, string>): Record<string, number> {
  return Object.fromEntries(samplesOf(exposition, `${family}_bucket`, labels).map((s) => [s.labels.le!, s.value]));
}

/** Label keys per family as Prometheus shows them (`le` and the `_bucket`/`_sum`/`_count` suffixes folded in). */
export function labelSets(exposition: Exposition): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const family of exposition.types.keys()) {
    const sample = exposition.samples.find((s) => s.name === family || s.name === `${family}_count`);
    if (sample !== undefined) out.set(family, Object.keys(sample.labels).sort());
  }
  return out;
}

/** Runs `promtool check metrics` on `text`; throws with its output on findings, or a clear message when it is missing. */
export function promtoolCheck(text: string): string {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  if (run.error !== undefined) {
    const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing
      ? 'promtool is not installed: this test pipes a live scrape to `promtool check metrics`. Install it with `apt-get install -y prometheus` (Debian) and run again.'
      : `promtool failed to run: ${run.error.message}`);
  }
  const output = `${run.stdout}${run.stderr}`.trim();
  if (run.status !== 0) throw new Error(`promtool check metrics found problems (exit ${run.status}):\n${output}`);
  return output;
}
