import Redis, { type Cluster } from 'ioredis';
import { topicsOf } from '../../services/shared/kafka-client';
import { readTopicToEnd } from '../../services/shared/topic-reader';
import { runCli } from './cli-run';
import { startSink, type SinkProcess } from './sink-process';
import { createDcTopics, kafka, sleep, startSource, type SourceProcess } from './source-process';
import { readCounters, type DcLoadResult, type TopologyCluster } from './topology-stack';

/**
 * The end checks of every topology scenario (issue 11): `tandem verify`
 * finds the clusters identical, every INCR counter holds exactly the count
 * issued, and the DLQ is empty.
 */
export interface VerifyReport {
  ok: boolean;
  scanned: { a: number; b: number };
  compared: number;
  rounds: { round: number; checked: number; differing: number }[];
  byKind: Record<string, number>;
  diffs: { key: string; kind: string; detail: string }[];
}

/** `tandem verify --json` over keys matching `match`; throws with its output when it cannot run. */
export async function verifyClusters(aUrl: string, bUrl: string, match: string, rounds = 5): Promise<VerifyReport> {
  const r = await runCli(['verify', '--a', aUrl, '--b', bUrl, '--match', match, '--rounds', String(rounds), '--pause', '2s', '--json'], { timeoutMs: 300_000 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`tandem verify exited ${r.status}:\n${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`);
  return JSON.parse(r.stdout) as VerifyReport;
}

/** Every record in `tandem.<dc>.dlq`, with its headers as text. */
export async function dlqRecords(dc: string): Promise<Record<string, string>[]> {
  const out: Record<string, string>[] = [];
  await readTopicToEnd(kafka(), { topic: topicsOf(dc).dlq, timeoutMs: 60_000 }, (m) => {
    out.push(Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(Array.isArray(v) ? v[0] : v)])));
  });
  return out;
}

/**
 * Waits until every counter of `load` holds its issued count in `cluster`
 * (or the time is up), then returns the values, read once more after a pause
 * so that a late duplicate shows.
 */
export async function waitCounters(cluster: Cluster, load: DcLoadResult, timeoutMs: number, watch: SourceProcess[] = []): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let values = await readCounters(cluster, load);
  while (Date.now() < deadline && values.some((v, i) => v < load.issued[i])) {
    for (const p of watch) {
      if (p.proc.exitCode !== null) throw new Error(`${p.logFile} exited with ${p.proc.exitCode}:\n${p.log().slice(-3000)}`);
    }
    await sleep(1000);
    values = await readCounters(cluster, load);
  }
  await sleep(2000);
  return readCounters(cluster, load);
}

/** Counters whose value differs from the issued count, as `key: value != issued` lines. */
export function counterDiffs(load: DcLoadResult, values: number[]): string[] {
  return values.flatMap((v, i) => (v === load.issued[i] ? [] : [`${load.counterKeys[i]}: ${v} != ${load.issued[i]} issued`]));
}

/** Polls `f` every `pollMs` until it is true; throws naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, f: () => Promise<boolean>, timeoutMs = 30_000, pollMs = 250, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await sleep(pollMs);
  }
}

/**
 * Sources of DCs x (cluster a) and y (cluster b), their topics created first,
 * each waited for until it knows its slots' version vectors (every master's
 * markers read), so the events it publishes carry a stamp and conflicts can
 * be asserted on them.
 */
export async function startStampedPair(x: string, y: string, procs: SourceProcess[], timeoutMs = 30_000): Promise<{ sx: SourceProcess; sy: SourceProcess }> {
  await createDcTopics(x);
  await createDcTopics(y);
  const sx = await startSource({ dc: x, cluster: 'a' });
  const sy = await startSource({ dc: y, cluster: 'b' });
  procs.push(sx, sy);
  for (const s of [sx, sy]) await waitStampsKnown(s, timeoutMs);
  return { sx, sy };
}

/** startStampedPair, then each DC's sink with `sinkLines` (x's on cluster a reading y, y's on cluster b reading x), pushed onto `procs` too. */
export async function startStampedBothWays(x: string, y: string, procs: SourceProcess[], sinkLines: string[]): Promise<{ kx: SinkProcess; ky: SinkProcess }> {
  await startStampedPair(x, y, procs);
  const kx = await startSink({ dc: x, cluster: 'a', peers: [y], sinkLines });
  const ky = await startSink({ dc: y, cluster: 'b', peers: [x], sinkLines });
  procs.push(kx, ky);
  return { kx, ky };
}

/** Until the source stamps every slot (or has read the markers of all three masters). */
export async function waitStampsKnown(s: SourceProcess, timeoutMs = 30_000): Promise<void> {
  await waitUntil(
    'stamps known in every slot',
    async () => (await metricSum(s, 'tandem_source_stamp_known_slots')) === 16384 || (await metricSum(s, 'tandem_source_vector_primes_total', { result: 'ok' })) >= 3,
    timeoutMs,
    200,
    () => s.log().slice(-2000),
  );
}

/** Sum of a metric's series, optionally filtered by labels. */
export async function metricSum(p: SourceProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  return (await p.metric(name, labels)).reduce((x, y) => x + y, 0);
}

/** The metric's series as `labels value` lines, for a failure message or a report. */
export async function metricLines(p: SourceProcess, name: string): Promise<string[]> {
  return (await p.metrics()).split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

/** A source and a sink per DC on the topology stack, both directions, pushed onto `procs` as each starts. */
export async function startBothWaysOn(
  a: { dc: string; seeds: { host: string; port: number }[] },
  b: { dc: string; seeds: { host: string; port: number }[] },
  procs: SourceProcess[],
): Promise<{ sourceA: SourceProcess; sourceB: SourceProcess; sinkA: SourceProcess; sinkB: SourceProcess }> {
  await createDcTopics(a.dc);
  await createDcTopics(b.dc);
  const sourceA = await startSource({ dc: a.dc, cluster: a.seeds });
  procs.push(sourceA);
  const sourceB = await startSource({ dc: b.dc, cluster: b.seeds });
  procs.push(sourceB);
  const sinkA = await startSink({ dc: a.dc, cluster: a.seeds, peers: [b.dc] });
  procs.push(sinkA);
  const sinkB = await startSink({ dc: b.dc, cluster: b.seeds, peers: [a.dc] });
  procs.push(sinkB);
  return { sourceA, sourceB, sinkA, sinkB };
}

/** Keys RESTORE-ASKING wrote on the masters of a cluster since they started: the keys a reshard moved into them. */
export async function restoreAskingCalls(cluster: TopologyCluster): Promise<number> {
  let calls = 0;
  for (const m of await cluster.masters()) {
    const r = new Redis({ host: m.host, port: m.port });
    try {
      calls += Number(/cmdstat_restore-asking:calls=(\d+)/.exec(await r.info('commandstats'))?.[1] ?? 0);
    } finally {
      r.disconnect();
    }
  }
  return calls;
}

export interface TwoWayEnd {
  /** The load's results per DC. */
  a: DcLoadResult;
  b: DcLoadResult;
  clients: { a: Cluster; b: Cluster };
  urls: { a: string; b: string };
  dcs: { a: string; b: string };
  /** Key pattern covering both DCs' keys. */
  match: string;
  procs: SourceProcess[];
}

/**
 * The end of a two-way scenario: every counter of each DC holds its issued
 * count in the other DC (and its own), `tandem verify` finds the clusters
 * identical, and both DLQs are empty. Throws with the services' logs.
 */
export async function expectTwoWayConverged(e: TwoWayEnd, timeoutMs = 180_000): Promise<VerifyReport> {
  const logs = () => e.procs.map((p) => `--- ${p.logFile}\n${p.log().slice(-2500)}`).join('\n');
  for (const r of [e.a, e.b]) {
    if (r.errors.length > 0 || r.uncertain.size > 0) throw new Error(`load in ${r.name}: errors ${JSON.stringify(r.errors)}, uncertain counters ${r.uncertain.size}`);
  }
  const problems: string[] = [];
  for (const [load, own, peer, peerName] of [
    [e.a, e.clients.a, e.clients.b, e.dcs.b],
    [e.b, e.clients.b, e.clients.a, e.dcs.a],
  ] as const) {
    const inPeer = counterDiffs(load, await waitCounters(peer, load, timeoutMs, e.procs));
    const inOwn = counterDiffs(load, await waitCounters(own, load, 10_000));
    if (inPeer.length > 0) problems.push(`${inPeer.length} counters of ${load.name} differ in ${peerName}:\n${inPeer.slice(0, 15).join('\n')}`);
    if (inOwn.length > 0) problems.push(`${inOwn.length} counters of ${load.name} differ in its own cluster:\n${inOwn.slice(0, 15).join('\n')}`);
  }
  const report = await verifyClusters(e.urls.a, e.urls.b, e.match);
  if (!report.ok) problems.push(`tandem verify: ${report.diffs.length} keys differ (${JSON.stringify(report.byKind)}): ${JSON.stringify(report.diffs.slice(0, 10))}`);
  for (const dc of [e.dcs.a, e.dcs.b]) {
    const dlq = await dlqRecords(dc);
    if (dlq.length > 0) problems.push(`${dlq.length} records in tandem.${dc}.dlq, e.g. ${JSON.stringify(dlq.slice(0, 5))}`);
  }
  if (problems.length > 0) throw new Error(`${problems.join('\n\n')}\n\n${logs()}`);
  return report;
}
