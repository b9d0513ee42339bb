import { metricSum } from './service-child';

/**
 * Tandem's own view of an e2e load, from the children's /metrics: where the
 * writes were when a stopped taking them (committed to Kafka by the source,
 * applied in b by the sink), the source's Kafka transactions, and the sink's
 * apply latency (capturedAt → EXEC reply, bucket bounds) and its MULTI
 * blocks (one per slot run: what the target pays per block, the marker guard
 * among it, is spread over the run's events). It splits the
 * end-to-end lag between the two halves; RedisShake has no equivalent.
 */
export interface TandemDetail {
  load: string;
  publishedAtEnd: number;
  appliedAtEnd: number;
  writes: number;
  sourceCommits: number;
  sourceCommitMeanMs: number;
  sinkP50: number;
  sinkP99: number;
  /** events applied per MULTI/EXEC block the sink sent, over the whole load */
  eventsPerBlock: number;
}

interface Scrape {
  source: string;
  sink: string;
}

async function text(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
}

/** Cumulative histogram buckets (le → count) of a Prometheus histogram. */
function buckets(body: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of body.split('\n')) {
    const m = new RegExp(`^${name}_bucket\\{.*le="([^"]+)".*\\} (\\d+)`).exec(line);
    if (!m) continue;
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    out.set(le, (out.get(le) ?? 0) + Number(m[2]));
  }
  return out;
}

/** The bucket bound at quantile q of the observations between two scrapes. */
function histogramQuantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const les = [...after.keys()].sort((x, y) => x - y);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return Number.NaN;
  for (const le of les) if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le;
  return Infinity;
}

export class TandemMetrics {
  private before: Scrape | undefined;
  private atEnd: Scrape | undefined;

  constructor(
    private readonly sourcePort: number,
    private readonly sinkPort: number,
    private readonly origin: string,
  ) {}

  private async scrape(): Promise<Scrape> {
    const [source, sink] = await Promise.all([text(this.sourcePort), text(this.sinkPort)]);
    return { source, sink };
  }

  async start(): Promise<void> {
    this.before = await this.scrape();
    this.atEnd = undefined;
  }

  /** At the moment a stopped taking writes. */
  async writesDone(): Promise<void> {
    this.atEnd = await this.scrape();
  }

  async finish(load: string, writes: number): Promise<TandemDetail> {
    const after = await this.scrape();
    const before = this.before ?? after;
    const atEnd = this.atEnd ?? after;
    const published = (s: Scrape) => metricSum(s.source, 'tandem_source_events_published_total');
    const applied = (s: Scrape) => metricSum(s.sink, 'tandem_sink_events_applied_total', { origin: this.origin });
    const commits = (s: Scrape) => metricSum(s.source, 'tandem_source_kafka_commit_seconds_count');
    const commitSeconds = (s: Scrape) => metricSum(s.source, 'tandem_source_kafka_commit_seconds_sum');
    const blocks = (s: Scrape) => metricSum(s.sink, 'tandem_sink_transactions_total');
    const n = commits(after) - commits(before);
    const blocksSent = blocks(after) - blocks(before);
    const hb = buckets(before.sink, 'tandem_sink_apply_latency_seconds');
    const ha = buckets(after.sink, 'tandem_sink_apply_latency_seconds');
    return {
      load,
      publishedAtEnd: published(atEnd) - published(before),
      appliedAtEnd: applied(atEnd) - applied(before),
      writes,
      sourceCommits: n,
      sourceCommitMeanMs: n > 0 ? Math.round(((commitSeconds(after) - commitSeconds(before)) / n) * 1000) : Number.NaN,
      sinkP50: histogramQuantile(hb, ha, 0.5) * 1000,
      sinkP99: histogramQuantile(hb, ha, 0.99) * 1000,
      eventsPerBlock: blocksSent > 0 ? Math.round(((applied(after) - applied(before)) / blocksSent) * 10) / 10 : Number.NaN,
    };
  }
}
