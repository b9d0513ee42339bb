import type { LoadResult } from './e2e-load';
import type { TandemDetail } from './tandem-metrics';

/**
 * The e2e benchmark's markdown tables: one row per load, Tandem beside
 * RedisShake when it ran, with the ratio Tandem / RedisShake of replicated
 * writes/s (below 1: Tandem is slower); lag and RSS as both values.
 */
const fmt = (n: number | null | undefined, digits = 0): string => (n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));
const visible = (r: LoadResult | undefined) => (r === undefined ? '–' : r.visibleS === null ? 'not all' : fmt(r.visibleS, 2));
const lag = (r: LoadResult | undefined, q: 'p50' | 'p99' | 'max') => (r === undefined || r.probes === 0 ? '–' : fmt(r[q], 1));
const probes = (r: LoadResult | undefined) => (r === undefined || r.probes === 0 ? '–' : `${r.probes}${r.lost ? ` (${r.lost} never seen)` : ''}`);
const rss = (r: LoadResult | undefined, role: string) => fmt(r?.rss[role]);

function target(r: LoadResult): string {
  return r.targetRate === null ? 'max (redis-cli --pipe)' : String(r.targetRate);
}

export function e2eTable(results: LoadResult[]): string {
  const loads = [...new Set(results.map((r) => r.load))];
  const get = (load: string, who: LoadResult['replicator']) => results.find((r) => r.load === load && r.replicator === who);
  const withShake = results.some((r) => r.replicator === 'RedisShake');
  if (!withShake) {
    const head = '| load | target writes/s | writes | writes/s into a | all in b after (s) | replicated /s | probes | p50 lag (ms) | p99 lag (ms) | max lag (ms) | peak RSS source / sink (MiB) |';
    const sep = '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|';
    const rows = results.map(
      (r) =>
        `| ${r.load} | ${target(r)} | ${r.writes} | ${r.writeRate} | ${visible(r)} | ${fmt(r.replicatedRate)} | ${probes(r)} | ${lag(r, 'p50')} | ${lag(r, 'p99')} | ${lag(r, 'max')} | ${rss(r, 'source')} / ${rss(r, 'sink')} |`,
    );
    return [head, sep, ...rows].join('\n');
  }
  const head =
    '| load | target writes/s | writes | writes/s into a: Tandem / RedisShake | all in b after (s): Tandem / RedisShake | replicated /s: Tandem | replicated /s: RedisShake | **ratio Tandem / RedisShake** | p50 lag (ms): Tandem / RedisShake | p99 lag (ms): Tandem / RedisShake | max lag (ms): Tandem / RedisShake | probes: Tandem / RedisShake | peak RSS (MiB): source + sink / redis-shake |';
  const sep = '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|';
  const rows = loads.map((load) => {
    const t = get(load, 'Tandem');
    const s = get(load, 'RedisShake');
    const any = (t ?? s) as LoadResult;
    const ratio = t && s && t.visibleS !== null && s.visibleS !== null ? fmt(t.replicatedRate / s.replicatedRate, 3) : '–';
    return [
      load,
      target(any),
      `${t?.writes ?? '–'} / ${s?.writes ?? '–'}`,
      `${fmt(t?.writeRate)} / ${fmt(s?.writeRate)}`,
      `${visible(t)} / ${visible(s)}`,
      fmt(t?.replicatedRate),
      fmt(s?.replicatedRate),
      `**${ratio}**`,
      `${lag(t, 'p50')} / ${lag(s, 'p50')}`,
      `${lag(t, 'p99')} / ${lag(s, 'p99')}`,
      `${lag(t, 'max')} / ${lag(s, 'max')}`,
      `${probes(t)} / ${probes(s)}`,
      `${rss(t, 'source')} + ${rss(t, 'sink')} / ${rss(s, 'redis-shake')}`,
    ]
      .join(' | ')
      .replace(/^/, '| ')
      .concat(' |');
  });
  return [head, sep, ...rows].join('\n');
}

export function tandemDetailTable(details: TandemDetail[]): string {
  const head = '| load | at write end: committed by source / applied by sink, of writes | source Kafka transactions: count, mean commit ms | sink capturedAt→EXEC p50 / p99 (ms, bucket bound) | sink events per MULTI block |';
  const sep = '|---|---|---|---|---:|';
  const rows = details.map((d) => `| ${d.load} | ${d.publishedAtEnd} / ${d.appliedAtEnd} of ${d.writes} | ${d.sourceCommits}, ${fmt(d.sourceCommitMeanMs)} | ≤ ${fmt(d.sinkP50)} / ≤ ${fmt(d.sinkP99)} | ${fmt(d.eventsPerBlock, 1)} |`);
  return [head, sep, ...rows].join('\n');
}
