/**
 * Renders the event table as Markdown. The README's catalog section is this output verbatim, and a
 * test fails when they drift (`UPDATE_DOCS=1 npm test` rewrites the README section).
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

/** A Markdown table of error codes and their meanings. */
export function renderCodeTable(codes: Readonly<Record<string, string>>): string {
  return ['| code | meaning |', '|---|---|', ...Object.entries(codes).map(([c, meaning]) => `| \`${c}\` | ${meaning} |`)].join('\n');
}
