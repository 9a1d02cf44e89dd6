/**
 * Renders the event table as Markdown. docs/telemetry.md's catalog section is this output verbatim, and a
 * test fails when they drift (`UPDATE_DOCS=1 npx vitest run test/docs` rewrites the section).
 */
import type { EventTable } from './types.ts';

const code = (items: readonly string[]): string => (items.length === 0 ? '—' : items.map((i) => `\`${i}\``).join(', '));

/** A Markdown table of an event table: event, measurements, metadata (label-safe keys in bold), description. */
export function renderEventTable(events: EventTable): string {
  const lines = ['| event | measurements | metadata (**label-safe**) | description |', '|---|---|---|---|'];
  for (const [name, spec] of Object.entries(events)) {
    const labels = new Set(spec.labels);
    const metadata = spec.metadata.length === 0 ? '—' : spec.metadata.map((k) => (labels.has(k) ? `**\`${k}\`**` : `\`${k}\``)).join(', ');
    lines.push(`| \`${name}\` | ${code(spec.measurements)} | ${metadata} | ${spec.description} |`);
  }
  return lines.join('\n');
}

/** One row per metric name: kind, Prometheus name, unit, labels, source events, description. */
export function renderMetricTable(definitions: readonly {
  name: string; kind: string; events: readonly string[]; tags: readonly string[]; constantTags: Readonly<Record<string, string>>;
  unit: string; description: string; monotonic: boolean;
}[]): string {
  const byName = new Map<string, { kind: string; events: Set<string>; labels: Set<string>; unit: string; description: string; prometheus: string }>();
  for (const d of definitions) {
    const suffix = d.kind === 'counter' || (d.kind === 'sum' && d.monotonic) ? '_total' : '';
    const row = byName.get(d.name) ?? { kind: d.kind, events: new Set<string>(), labels: new Set<string>(), unit: d.unit, description: d.description, prometheus: `${d.name.replaceAll('.', '_')}${suffix}` };
    for (const e of d.events) row.events.add(e);
    for (const t of [...d.tags, ...Object.keys(d.constantTags)]) row.labels.add(t);
    byName.set(d.name, row);
  }
  const lines = ['| metric (Prometheus) | kind | unit | labels | from events | description |', '|---|---|---|---|---|---|'];
  for (const [name, row] of byName) {
    lines.push(`| \`${name}\` (\`${row.prometheus}\`) | ${row.kind} | ${row.unit === '' ? '—' : `\`${row.unit}\``} | ${code([...row.labels])} | ${code([...row.events])} | ${row.description} |`);
  }
  return lines.join('\n');
}

/** The stable log event names: event → category, level, line name. */
export function renderLogTable(lines: Readonly<Record<string, { category: string; level: string; name: unknown; names?: readonly string[] }>>): string {
  const out = ['| telemetry event | log `event` | category | level |', '|---|---|---|---|'];
  for (const [event, spec] of Object.entries(lines)) {
    const names = typeof spec.name === 'string' ? [spec.name] : (spec.names ?? []);
    out.push(`| \`${event}\` | ${code(names)} | ${spec.category} | ${spec.level}${typeof spec.name === 'string' ? '' : ' or by outcome'} |`);
  }
  return out.join('\n');
}

/** The environment variables table. */
export function renderConfigTable(variables: Readonly<Record<string, { default: string; description: string }>>): string {
  return ['| variable | default | meaning |', '|---|---|---|', ...Object.entries(variables).map(([name, v]) => `| \`${name}\` | ${v.default} | ${v.description} |`)].join('\n');
}
