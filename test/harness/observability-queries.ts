import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * The Grafana dashboard and the Prometheus rules in deploy/, read as data, and
 * every PromQL query they hold with where it is, so tests can check each one
 * against what the services export.
 */
export const DASHBOARD_FILE = join(__dirname, '../../deploy/grafana/tandem.json');
export const ALERTS_FILE = join(__dirname, '../../deploy/prometheus/alerts.yml');

/** Series that Tandem does not export but the queries may use: Prometheus's own scrape health. */
export const NON_TANDEM_SERIES = new Set(['up']);

export interface GridPos { h: number; w: number; x: number; y: number }
export interface PanelTarget { refId?: string; expr?: string; legendFormat?: string }
export interface Panel { id: number; type: string; title: string; gridPos?: GridPos; targets?: PanelTarget[]; panels?: Panel[] }
export interface TemplateVariable { name: string; type: string; query?: string | { query?: string }; definition?: string; multi?: boolean; includeAll?: boolean }
export interface Dashboard { uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: TemplateVariable[] } }

export interface AlertRule {
  alert?: string;
  record?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleFile { groups: { name: string; rules: AlertRule[] }[] }

export function readDashboard(file = DASHBOARD_FILE): Dashboard {
  return JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
}

export function readRules(file = ALERTS_FILE): RuleFile {
  return parse(readFileSync(file, 'utf8')) as RuleFile;
}

/** Every panel, those inside collapsed rows included. */
export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export interface Query { where: string; expr: string }

/** `label_values(metric, label)` of a template variable: the metric is a selector too. */
function variableQuery(v: TemplateVariable): string | undefined {
  const q = typeof v.query === 'string' ? v.query : v.query?.query;
  const m = /^\s*label_values\(\s*(.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/.exec(q ?? '');
  return m?.[1];
}

/** Every PromQL expression of the dashboard (panel targets, variable queries) and of the rules. */
export function allQueries(d = readDashboard(), r = readRules()): Query[] {
  const queries: Query[] = [];
  for (const p of allPanels(d)) {
    for (const t of p.targets ?? []) queries.push({ where: `panel ${p.id} "${p.title}" ${t.refId ?? ''}`, expr: t.expr ?? '' });
  }
  for (const v of d.templating.list) {
    const expr = variableQuery(v);
    if (expr !== undefined) queries.push({ where: `variable $${v.name}`, expr });
  }
  for (const g of r.groups) {
    for (const rule of g.rules) queries.push({ where: `rule ${rule.alert ?? rule.record}`, expr: rule.expr ?? '' });
  }
  return queries;
}

/**
 * The metric family a selected name belongs to, given each family's type
 * (from `# TYPE name type` lines, or a registry): a histogram `x` exports
 * `x_bucket`, `x_sum` and `x_count`, a summary `x_sum` and `x_count`.
 * Undefined when no family exports the name.
 */
export function familyOf(name: string, types: ReadonlyMap<string, string>): string | undefined {
  if (types.has(name)) return name;
  const m = /^(.+)_(bucket|sum|count)$/.exec(name);
  if (!m) return undefined;
  const type = types.get(m[1]);
  if (type === 'histogram' || (type === 'summary' && m[2] !== 'bucket')) return m[1];
  return undefined;
}

/** `# TYPE name type` lines of a Prometheus text exposition, as a map. */
export function scrapedTypes(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}
