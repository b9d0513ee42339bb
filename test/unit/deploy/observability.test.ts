import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { sinkMetrics } from '../../../services/sink/metrics';
import { sourceMetrics } from '../../../services/source/metrics';
import {
  NON_TANDEM_SERIES,
  allPanels,
  allQueries,
  familyOf,
  readDashboard,
  readRules,
  type AlertRule,
  type Panel,
} from '../../harness/observability-queries';
import { labelNames, labelsAdded, metricNames, promqlProblems } from '../../harness/promql-names';

/**
 * deploy/grafana/tandem.json and deploy/prometheus/alerts.yml: well-formed,
 * complete, and every query names metrics and labels the services register
 * (the integration test test/integration/deploy/metrics-scrape.test.ts checks
 * the same names against a real scrape).
 */
const dashboard = readDashboard();
const rules = readRules();
const alerts: AlertRule[] = rules.groups.flatMap((g) => g.rules);
const queries = allQueries(dashboard, rules);

/** What a source and a sink process register: their metrics and prom-client's defaults, prefixed tandem_. */
function registeredFamilies(): Map<string, { type: string; labels: string[] }> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tandem_' });
  sourceMetrics(registry);
  sinkMetrics(registry);
  return new Map(
    registry.getMetricsAsArray().map((m) => {
      const raw = m as unknown as { name: string; type?: string; labelNames?: string[] };
      return [raw.name, { type: String(raw.type), labels: raw.labelNames ?? [] }];
    }),
  );
}
const families = registeredFamilies();
const types = new Map([...families].map(([name, f]) => [name, f.type]));

/** Labels every series has without being declared: the process's DC, the scrape's target, a histogram's bucket. */
const IMPLICIT_LABELS = new Set(['dc', 'job', 'instance', 'le']);

describe('deploy/grafana/tandem.json', () => {
  const panels = allPanels(dashboard);
  const dataPanels = panels.filter((p) => p.type !== 'row');

  test('is an importable dashboard with uid tandem', () => {
    expect(dashboard.uid).toBe('tandem');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dataPanels.length).toBeGreaterThan(20);
  });

  test('has a Prometheus datasource variable and a multi-value dc variable', () => {
    const ds = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const dc = dashboard.templating.list.find((v) => v.name === 'dc');
    expect(dc).toMatchObject({ type: 'query', multi: true, includeAll: true });
    expect(queries.filter((q) => q.where === 'variable $dc')).toHaveLength(1);
    // Every query variable is read by allQueries, so its metric is checked too.
    const queryVariables = dashboard.templating.list.filter((v) => v.type === 'query').map((v) => `variable $${v.name}`);
    expect(queryVariables.filter((w) => !queries.some((q) => q.where === w))).toEqual([]);
  });

  test('panel ids are unique and every panel has a position inside the 24-column grid', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const misplaced = panels.filter((p) => {
      const g = p.gridPos;
      return !g || ![g.h, g.w, g.x, g.y].every((n) => Number.isInteger(n) && n >= 0) || g.w < 1 || g.h < 1 || g.x + g.w > 24;
    });
    expect(misplaced.map((p) => p.title)).toEqual([]);
  });

  test('no two panels overlap', () => {
    const overlaps: string[] = [];
    const box = (p: Panel) => p.gridPos!;
    for (let i = 0; i < panels.length; i++) {
      for (let j = i + 1; j < panels.length; j++) {
        const a = box(panels[i]);
        const b = box(panels[j]);
        if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) overlaps.push(`${panels[i].title} / ${panels[j].title}`);
      }
    }
    expect(overlaps).toEqual([]);
  });

  test('every panel (rows aside) has targets with a non-empty expr, on the $datasource variable', () => {
    const empty = dataPanels.filter((p) => !p.targets?.length || p.targets.some((t) => !t.expr?.trim()));
    expect(empty.map((p) => p.title)).toEqual([]);
    const fixedSource = dataPanels.filter((p) => (p as unknown as { datasource?: { uid?: string } }).datasource?.uid !== '${datasource}');
    expect(fixedSource.map((p) => p.title)).toEqual([]);
  });

  test('every tandem query filters on the selected DCs', () => {
    const unfiltered = queries
      .filter((q) => q.where.startsWith('panel') && metricNames(q.expr).some((n) => n.startsWith('tandem_')))
      .filter((q) => {
        const selectors = metricNames(q.expr).length;
        return (q.expr.match(/dc=~"\$dc"/g) ?? []).length < selectors;
      });
    expect(unfiltered.map((q) => q.where)).toEqual([]);
  });
});

describe('deploy/prometheus/alerts.yml', () => {
  test('every rule has alert, expr, for, a severity and a summary', () => {
    expect(rules.groups.length).toBeGreaterThan(0);
    const bad = alerts.filter(
      (r) =>
        !r.alert ||
        !r.expr?.trim() ||
        !/^(\d+(ms|[smhdwy]))+$/.test(r.for ?? '') ||
        !['warning', 'critical'].includes(r.labels?.severity ?? '') ||
        !r.annotations?.summary?.trim() ||
        !r.annotations?.description?.trim(),
    );
    expect(bad.map((r) => r.alert ?? JSON.stringify(r))).toEqual([]);
  });

  test('alert names are unique', () => {
    const names = alerts.map((r) => r.alert);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  test('the required alerts are present', () => {
    const required = [
      'TandemSourceLinkDown',
      'TandemFullResync',
      'TandemReplicationLagHigh',
      'TandemConsumerLagHigh',
      'TandemDlqGrowing',
      'TandemSinkNotConsuming',
      'TandemSourceCommitsFailing',
      'TandemTargetDown',
    ];
    expect(required.filter((n) => !alerts.some((r) => r.alert === n))).toEqual([]);
  });

  test('the full-resync alert ignores the first start of a link', () => {
    const rule = alerts.find((r) => r.alert === 'TandemFullResync')!;
    const selectors = rule.expr!.match(/tandem_source_full_resyncs_total(\{[^}]*\})?(?! offset)/g) ?? [];
    expect(selectors.length).toBeGreaterThan(0);
    expect(selectors.filter((s) => !s.includes('reason!="no-checkpoint"'))).toEqual([]);
  });

  test('every runbook_url points to a section of docs/observability.md', () => {
    const doc = readFileSync(join(__dirname, '../../../docs/observability.md'), 'utf8');
    const anchors = new Set(
      [...doc.matchAll(/^#+ (.+)$/gm)].map((m) => m[1].trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')),
    );
    const broken = alerts.filter((r) => {
      const m = /^docs\/observability\.md#(.+)$/.exec(r.annotations?.runbook_url ?? '');
      return !m || !anchors.has(m[1]);
    });
    expect(broken.map((r) => `${r.alert}: ${r.annotations?.runbook_url}`)).toEqual([]);
  });

  test('annotations use only labels the expression keeps', () => {
    const wrong: string[] = [];
    for (const r of alerts) {
      const kept = new Set(labelNames(r.expr ?? ''));
      // Without aggregation the series keep the scrape's labels too.
      if (!/\b(sum|max|min|avg|count)\b/.test(r.expr ?? '')) ['job', 'instance'].forEach((l) => kept.add(l));
      const text = Object.values(r.annotations ?? {}).join(' ');
      for (const m of text.matchAll(/\$labels\.(\w+)/g)) if (!kept.has(m[1])) wrong.push(`${r.alert}: $labels.${m[1]}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('queries of the dashboard and the rules', () => {
  test('are well-formed (balanced brackets, a range for every rate and increase)', () => {
    const bad = queries.map((q) => ({ where: q.where, problems: promqlProblems(q.expr) })).filter((q) => q.problems.length > 0);
    expect(bad).toEqual([]);
  });

  test('select only metrics the source and the sink register (or Prometheus\'s own up)', () => {
    const unknown = queries.flatMap((q) =>
      metricNames(q.expr)
        .filter((n) => !NON_TANDEM_SERIES.has(n) && familyOf(n, types) === undefined)
        .map((n) => `${q.where}: ${n}`),
    );
    expect(unknown).toEqual([]);
    expect(queries.every((q) => metricNames(q.expr).length > 0)).toBe(true);
  });

  test('name only labels their metrics have', () => {
    const wrong: string[] = [];
    for (const q of queries) {
      const known = new Set([...IMPLICIT_LABELS, ...labelsAdded(q.expr)]);
      for (const n of metricNames(q.expr)) {
        const family = familyOf(n, types);
        if (family) families.get(family)!.labels.forEach((l) => known.add(l));
      }
      for (const l of labelNames(q.expr)) if (!known.has(l)) wrong.push(`${q.where}: ${l}`);
    }
    expect(wrong).toEqual([]);
  });

  test('every metric of the catalogue is on the dashboard', () => {
    const used = new Set(queries.flatMap((q) => metricNames(q.expr)).map((n) => familyOf(n, types)));
    const missing = [...families.keys()].filter((n) => /^tandem_(source|sink)_/.test(n) && !used.has(n));
    expect(missing).toEqual([]);
  });
});
