/**
 * The provisioned Grafana dashboard as the tests see it: every panel query, and the substitutions
 * Grafana makes before sending one to its datasource — the Postgres macros (`$__timeFilter(col)`,
 * `$__timeGroupAlias(col, '1m')`, …), template variables with the SQL datasource's quoting, and
 * PromQL's `$__rate_interval`. A macro or variable this file does not know is left in place, and
 * `leftovers()` reports it, so a new one in the dashboard fails the tests until it is taught here.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const dashboardFile = `${repoRoot}supervisors/deploy/grafana/dashboards/pitboss.json`;

export const datasourceUids = { prometheus: 'pitboss-prometheus', postgres: 'pitboss-postgres' } as const;

interface Target { refId: string; datasource?: { uid?: string }; rawSql?: string; format?: string; expr?: string }
interface Panel { id: number; type: string; title: string; datasource?: { type?: string; uid?: string }; targets?: Target[]; panels?: Panel[]; gridPos: { x: number; y: number; w: number; h: number } }
interface Variable { name: string; type: string; query: unknown; datasource?: { uid?: string }; current?: { value?: unknown }; includeAll?: boolean; multi?: boolean }
export interface Dashboard { uid: string; title: string; panels: Panel[]; templating: { list: Variable[] } }

export interface PanelQuery {
  readonly panel: string;
  readonly refId: string;
  readonly language: 'sql' | 'promql';
  readonly text: string;
  /** SQL only: `table` or `time_series` (Grafana then needs a `time` column). */
  readonly format: string | null;
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(dashboardFile, 'utf8')) as Dashboard;
}

/** Panels in layout order, rows flattened (a collapsed row keeps its panels inside). */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every query of every panel, classified by the datasource it goes to. */
export function panelQueries(dashboard: Dashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      const uid = target.datasource?.uid ?? panel.datasource?.uid;
      if (uid === datasourceUids.postgres) out.push({ panel: panel.title, refId: target.refId, language: 'sql', text: target.rawSql ?? '', format: target.format ?? 'time_series' });
      else if (uid === datasourceUids.prometheus) out.push({ panel: panel.title, refId: target.refId, language: 'promql', text: target.expr ?? '', format: null });
      else throw new Error(`panel "${panel.title}" ${target.refId} uses datasource ${String(uid)}, which is not provisioned`);
    }
  }
  return out;
}

/** Variable values: an array for a multi-value or All selection, a string for a single plain value. */
export type VariableValues = Readonly<Record<string, string | readonly string[]>>;

const seconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
function intervalSeconds(text: string): number {
  const match = /^'?(\d+)([smhd])'?$/.exec(text.trim());
  if (match === null) throw new Error(`cannot read interval ${text}`);
  return Number(match[1]) * seconds[match[2]!]!;
}

/** What Grafana's SQL datasources do to a multi-value variable: each value a quoted literal, `'` doubled. */
const sqlLiteral = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** The Postgres datasource's macros and variables, for the time range `from`..`to`. */
export function interpolateSql(sql: string, range: { from: Date; to: Date }, variables: VariableValues): string {
  const from = `'${range.from.toISOString()}'`;
  const to = `'${range.to.toISOString()}'`;
  const withMacros = sql.replace(/\$__(\w+)\(([^)]*)\)/g, (whole, macro: string, rawArgs: string) => {
    const args = rawArgs.split(',').map((a) => a.trim());
    const column = args[0]!;
    switch (macro) {
      case 'time': return `${column} AS "time"`;
      case 'timeFilter': return `${column} BETWEEN ${from} AND ${to}`;
      case 'timeFrom': return from;
      case 'timeTo': return to;
      case 'timeGroup': return `floor(extract(epoch from ${column})/${intervalSeconds(args[1]!)})*${intervalSeconds(args[1]!)}`;
      case 'timeGroupAlias': return `floor(extract(epoch from ${column})/${intervalSeconds(args[1]!)})*${intervalSeconds(args[1]!)} AS "time"`;
      case 'unixEpochFilter': return `${column} >= ${Math.floor(range.from.getTime() / 1000)} AND ${column} <= ${Math.floor(range.to.getTime() / 1000)}`;
      default: return whole;
    }
  });
  return substituteVariables(withMacros, (name) => {
    const value = variables[name];
    if (value === undefined) return null;
    return typeof value === 'string' ? value : value.map(sqlLiteral).join(',');
  }, { __interval: '30s', __interval_ms: '30000' });
}

/** PromQL after Grafana's substitutions; a multi-value selection becomes an escaped regex alternation. */
export function interpolatePromql(expr: string, variables: VariableValues, rateInterval = '15s'): string {
  return substituteVariables(expr, (name) => {
    const value = variables[name];
    if (value === undefined) return null;
    if (typeof value === 'string') return value;
    return value.length === 1 ? escapeRegex(value[0]!) : `(${value.map(escapeRegex).join('|')})`;
  }, { __rate_interval: rateInterval, __interval: '5s', __range: '1h' });
}

const escapeRegex = (value: string): string => value.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');

function substituteVariables(text: string, value: (name: string) => string | null, builtins: Record<string, string>): string {
  return text.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    if (name in builtins) return builtins[name]!;
    return value(name) ?? whole;
  });
}

/** Macros or variables still in a query after substitution. */
export function leftovers(text: string): string[] {
  return [...text.matchAll(/\$\{?[A-Za-z_]\w*/g)].map((m) => m[0]);
}
