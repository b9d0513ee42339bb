import type { Cluster } from 'ioredis';
import { clusterClient } from '../../harness/endpoints';
import { NON_TANDEM_SERIES, allQueries, familyOf, scrapedTypes } from '../../harness/observability-queries';
import { metricNames } from '../../harness/promql-names';
import { type SinkProcess, startOneWay } from '../../harness/sink-process';
import { sleep, type SourceProcess } from '../../harness/source-process';

/**
 * The dashboard (deploy/grafana/tandem.json) and the alert rules
 * (deploy/prometheus/alerts.yml) against what real processes export: a source
 * of DC ma on cluster a and a sink of DC mb on cluster b (the direction
 * ma → mb), after some writes went through. Every metric a query selects must
 * have a `# TYPE` line in a scrape (a histogram `x` covers x_bucket, x_sum and
 * x_count), and every series must carry the process's dc.
 */
const SRC = 'ma';
const DST = 'mb';
const KEYS = 200;

/** `name{labels} value` lines of a scrape: the series. */
function series(text: string): { name: string; labels: string; line: string }[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? \S+$/.exec(line);
      return { name: m?.[1] ?? '', labels: m?.[2] ?? '', line };
    });
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('deploy: the dashboard and the alerts read metrics the services export', () => {
  let source: SourceProcess | undefined;
  let sink: SinkProcess | undefined;
  let ca: Cluster | undefined;
  let sourceScrape = '';
  let sinkScrape = '';

  beforeAll(async () => {
    ({ source, sink } = await startOneWay(SRC, DST));
    ca = clusterClient('a');
    const prefix = `ms-${Date.now()}`;
    for (let i = 0; i < KEYS; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => ca!.set(`${prefix}:${i + j}`, `v${i + j}`)));
    }
    // The pipeline moved: every write of ma was applied in mb.
    const deadline = Date.now() + 60_000;
    while (sum(await sink.metric('tandem_sink_events_applied_total', { origin: SRC })) < KEYS) {
      if (Date.now() > deadline) throw new Error(`the sink applied too little within 60 s:\n${sink.log().slice(-3000)}`);
      await sleep(250);
    }
    sourceScrape = await source.metrics();
    sinkScrape = await sink.metrics();
  });

  afterAll(async () => {
    await Promise.all([source?.kill('SIGTERM'), sink?.kill('SIGTERM')]);
    ca?.disconnect();
  });

  test('every metric a dashboard or alert query selects has a # TYPE line in the scrape of its process', () => {
    const sourceTypes = scrapedTypes(sourceScrape);
    const sinkTypes = scrapedTypes(sinkScrape);
    const missing: string[] = [];
    for (const q of allQueries()) {
      for (const name of metricNames(q.expr)) {
        if (NON_TANDEM_SERIES.has(name)) continue;
        // A source metric must come from the source, a sink metric from the sink, process metrics from both.
        const scrapes = name.startsWith('tandem_source_') ? [sourceTypes] : name.startsWith('tandem_sink_') ? [sinkTypes] : [sourceTypes, sinkTypes];
        if (scrapes.some((types) => familyOf(name, types) === undefined)) missing.push(`${q.where}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('every series of the source and of the sink carries the process\'s dc', () => {
    for (const [dc, text] of [[SRC, sourceScrape], [DST, sinkScrape]]) {
      const all = series(text);
      expect(all.filter((s) => !s.name)).toEqual([]);
      expect(all.filter((s) => !s.labels.includes(`dc="${dc}"`)).map((s) => s.line)).toEqual([]);
    }
    expect(series(sourceScrape).some((s) => s.name.startsWith('tandem_source_'))).toBe(true);
    expect(series(sinkScrape).some((s) => s.name.startsWith('tandem_sink_'))).toBe(true);
  });

  test('the direction panels have series: apply latency labelled source ma, dc mb; links streaming in ma', async () => {
    const latency = series(sinkScrape).filter((s) => s.name === 'tandem_sink_apply_latency_seconds_count');
    expect(latency.length).toBeGreaterThan(0);
    expect(latency.filter((s) => !s.labels.includes(`source="${SRC}"`) || !s.labels.includes(`dc="${DST}"`))).toEqual([]);
    const up = await source!.metric('tandem_source_link_up', { dc: SRC });
    expect(up.length).toBeGreaterThan(0);
    expect(up.every((v) => v === 1)).toBe(true);
    expect(sum(await source!.metric('tandem_source_events_published_total', { dc: SRC }))).toBeGreaterThanOrEqual(KEYS);
  });

  test('a sink that has read everything shows no consumer lag (TandemSinkNotConsuming relies on it)', async () => {
    // Nothing more is written to tandem.ma.changes; give the last fetch a moment.
    let lag: number[] = [];
    const deadline = Date.now() + 15_000;
    do {
      lag = await sink!.metric('tandem_sink_consumer_lag', { topic: `tandem.${SRC}.changes` });
      if (lag.length > 0 && sum(lag) === 0) break;
      await sleep(500);
    } while (Date.now() < deadline);
    expect(lag.length).toBeGreaterThan(0);
    expect(sum(lag)).toBe(0);
  });
});
