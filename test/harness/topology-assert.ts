import type { Cluster } from 'ioredis';
import { topicsOf } from '../../services/shared/kafka-client';
import { readTopicToEnd } from '../../services/shared/topic-reader';
import { runCli } from './cli-run';
import { kafka, sleep, type SourceProcess } from './source-process';
import { readCounters, type DcLoadResult } from './topology-stack';

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

/** Sum of a metric's series, optionally filtered by labels. */
export async function metricSum(p: SourceProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  return (await p.metric(name, labels)).reduce((x, y) => x + y, 0);
}

/** The metric's series as `labels value` lines, for a failure message or a report. */
export async function metricLines(p: SourceProcess, name: string): Promise<string[]> {
  return (await p.metrics()).split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}
