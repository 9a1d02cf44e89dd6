/**
 * Turning samples into rows, printing them as tables, and writing the results file. Kept apart from
 * the timing code so a scenario that measures something other than tight loops (jobs/s, restart
 * latency) can still report through the same table and JSON shape.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { median, quantile, type CaseSamples } from './measure.ts';
import { judgeTargets, type ResultFile, type Row, type RowStats, type ScenarioResult, type Target, type TargetVerdict } from './scenario.ts';

/** Rows (median ns/op) and their spread, in the order the cases were declared. */
export function summarize(samples: ReadonlyMap<string, CaseSamples>, unit = 'ns/op'): { rows: Row[]; stats: Record<string, RowStats> } {
  const rows: Row[] = [];
  const stats: Record<string, RowStats> = {};
  for (const { name, nsPerOp, opsPerRound } of samples.values()) {
    const mid = median(nsPerOp);
    rows.push({ name, value: round(mid), unit });
    stats[name] = {
      median: round(mid),
      min: round(Math.min(...nsPerOp)),
      max: round(Math.max(...nsPerOp)),
      iqr: round((quantile(nsPerOp, 0.75) - quantile(nsPerOp, 0.25)) / mid),
      rounds: nsPerOp.length,
      opsPerRound,
    };
  }
  return { rows, stats };
}

/** Three significant decimals is more than any of these measurements can support. */
export function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (Math.abs(value) >= 100) return value.toFixed(1);
  if (Math.abs(value) >= 10) return value.toFixed(2);
  return value.toFixed(3);
}

/** A plain-text table with right-aligned numbers, readable in CI logs. */
function formatTable(header: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = header.map((h, col) => Math.max(h.length, ...body.map((row) => (row[col] ?? '').length)));
  const numeric = (cell: string): boolean => /^[-+0-9.—×%]+$/.test(cell);
  const line = (cells: readonly string[]): string =>
    cells.map((cell, col) => (numeric(cell) && col > 0 ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function verdictText(verdict: TargetVerdict | undefined, quick: boolean): string {
  if (verdict === undefined) return '';
  if (verdict.skipped) return `target ${verdict.op} ${verdict.value}: skipped (not measured in this run)`;
  const status = verdict.met ? 'MET' : quick ? 'missed (quick: not enforced)' : 'MISSED';
  const goal = verdict.goal === undefined ? '' : `, goal ${verdict.op} ${verdict.goal} ${verdict.goalMet ? 'met' : 'not met'}`;
  return `target ${verdict.op} ${verdict.value}: ${status}${goal}`;
}

/** Prints the rows, their spread, the ratios and the target verdicts of one scenario. */
export function printResult(file: ResultFile): void {
  const rowBody = file.rows.map((row) => {
    const s = file.stats[row.name];
    const spread = s === undefined ? '—' : `${(s.iqr * 100).toFixed(1)}%`;
    return [row.name, formatNumber(row.value), row.unit, formatNumber(s?.min), formatNumber(s?.max), spread, s === undefined ? '—' : String(s.opsPerRound)];
  });
  console.log(formatTable(['case', 'median', 'unit', 'min', 'max', 'iqr', 'ops/round'], rowBody));
  const verdicts = new Map(file.targets.map((t) => [t.key, t]));
  const ratioBody = Object.entries(file.ratios).map(([key, value]) => [key, `${formatNumber(value)}×`, verdictText(verdicts.get(key), file.quick)]);
  for (const missing of file.targets.filter((t) => !(t.key in file.ratios))) ratioBody.push([missing.key, '—', verdictText(missing, file.quick)]);
  if (ratioBody.length > 0) console.log(`\n${formatTable(['ratio', 'value', 'target'], ratioBody)}`);
  for (const note of file.notes) console.log(`  note: ${note}`);
}

/**
 * Builds the results file for one run. `node` and `date` are taken here so every scenario reports
 * them alike, and targets are judged on the rounded ratios so the verdict matches the printed value.
 */
export function toResultFile(scenario: string, result: ScenarioResult, declared: readonly Target[], quick: boolean): ResultFile {
  const cpus = os.cpus();
  const ratios = Object.fromEntries(Object.entries(result.ratios).map(([k, v]) => [k, round(v)]));
  return {
    scenario,
    node: process.version,
    rows: result.rows,
    ratios,
    targets: judgeTargets(declared, ratios),
    quick,
    date: new Date().toISOString(),
    platform: { os: `${os.platform()} ${os.release()}`, arch: os.arch(), cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown' },
    stats: result.stats ?? {},
    notes: result.notes ?? [],
  };
}

/** Writes `<dir>/<scenario>.json`, creating the (git-ignored) directory on first use. */
export function writeResultFile(dir: string, file: ResultFile): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${file.scenario}.json`);
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
  return path;
}
