import type { LinkRow } from './links';
import type { PartitionRow } from './partitions';

/** The sink's view, from one sink's /metrics. */
export interface SinkView {
  url: string;
  error?: string;
  /** Mean capture → applied latency since the sink started. */
  applyLatencyAvgMs?: number;
  applied?: number;
  /** topic/partition → the sink's own lag gauge */
  lag: Record<string, number>;
}

export interface StatusReport {
  dc: string;
  group: string;
  peers: string[];
  links: LinkRow[];
  partitions: (PartitionRow & { applyLatencyAvgMs?: number; sinkLag?: number })[];
  sinks: SinkView[];
  source?: { url: string; error?: string };
  totalLag: number;
}

/** Left-aligned text columns, right-aligned numbers. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^[~\d,.\-+ms]*$/.test(r[i])));
  const line = (cells: string[]) => cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

const ago = (t: number | undefined, now: number) => (t === undefined ? '-' : `${new Date(t).toISOString()} (${fmtAge(now - t)} ago)`);

function fmtAge(ms: number): string {
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)}h`;
  return `${(ms / 86_400_000).toFixed(1)}d`;
}

export function renderStatus(r: StatusReport, now = Date.now()): string {
  const out: string[] = [];
  out.push(`links of DC ${r.dc} (checkpoints in tandem.${r.dc}.checkpoints)`);
  if (r.links.length === 0) out.push('  no checkpoints: the source has not committed yet');
  else {
    out.push(
      ...table(
        ['master', 'state', 'replid', 'checkpoint', 'master offset', 'gap bytes', 'checkpoint age', 'last full resync'],
        r.links.map((l) => [
          l.address,
          l.stale ? 'stale' : (l.live?.state ?? (l.replid ? '-' : 'no checkpoint')),
          l.replid ?? '-',
          l.offset === undefined ? '-' : String(l.offset),
          l.master ? String(l.master.masterReplOffset) : '-',
          l.master?.gap === undefined ? '-' : String(l.master.gap),
          l.updatedAt === undefined ? '-' : fmtAge(now - l.updatedAt),
          l.lastFullResync ? `${ago(l.lastFullResync.at, now)} ${l.lastFullResync.reason}` : '-',
        ]),
      ).map((s) => `  ${s}`),
    );
  }
  if (r.source?.error) out.push(`  source metrics: ${r.source.error}`);
  out.push('');
  out.push(`sink partitions of group ${r.group} (peers: ${r.peers.join(', ') || 'none'})`);
  if (r.partitions.length === 0) out.push('  no peer changes topics');
  else {
    out.push(
      ...table(
        ['topic', 'partition', 'committed', 'log end', 'lag records', 'lag events', 'apply latency'],
        r.partitions.map((p) => [
          p.topic,
          String(p.partition),
          p.committed ?? '-',
          p.logEnd,
          `${p.lagExact ? '' : '~'}${p.lag}`,
          p.lagEvents === undefined ? '?' : String(p.lagEvents),
          p.applyLatencyAvgMs === undefined ? '-' : `${p.applyLatencyAvgMs.toFixed(1)}ms`,
        ]),
      ).map((s) => `  ${s}`),
    );
  }
  const events = r.partitions.every((p) => p.lagEvents !== undefined) ? `, ${r.partitions.reduce((n, p) => n + (p.lagEvents ?? 0), 0)} events` : '';
  out.push(`  total lag ${r.totalLag} record${r.totalLag === 1 ? '' : 's'}${events}`);
  for (const s of r.sinks) {
    out.push(s.error ? `  sink metrics ${s.url}: ${s.error}` : `  sink metrics ${s.url}: apply latency avg ${s.applyLatencyAvgMs === undefined ? '-' : `${s.applyLatencyAvgMs.toFixed(1)} ms`} over ${s.applied ?? 0} applied events`);
  }
  return `${out.join('\n')}\n`;
}
