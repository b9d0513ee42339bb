import { matchCheckpoint, parseReplIds, type CheckpointRecord } from '../../shared/checkpoint';
import type { OpenTarget } from '../redis-url';
import type { Sample } from './prometheus';

/**
 * One row per replica link of a DC's source, from what the services expose:
 * the committed checkpoints (always), each master's INFO replication (with
 * --redis: the byte gap between the master and what is committed to Kafka),
 * and the source's /metrics (with --source-metrics: live state and offset).
 */
export interface LinkRow {
  /** The master's address from the checkpoint (or from the cluster, when it has no checkpoint). */
  address: string;
  nodeId?: string;
  replid?: string;
  /** Committed checkpoint offset (master_repl_offset consumed and committed). */
  offset?: number;
  updatedAt?: number;
  lastFullResync?: { at: number; reason: string };
  master?: {
    address: string;
    replid: string;
    masterReplOffset: number;
    /** master_repl_offset - checkpoint offset: bytes not yet committed to Kafka. */
    gap?: number;
  };
  live?: { link: string; state: string; offset?: number };
  /** No master of the cluster continues from this checkpoint (an old replid): kept until compaction. */
  stale?: boolean;
}

export async function readMasters(t: OpenTarget): Promise<{ address: string; info: string }[]> {
  return Promise.all(
    t.masters().map(async (node) => ({ address: `${node.options.host}:${node.options.port}`, info: await node.info('replication') })),
  );
}

export function linkRows(
  checkpoints: Map<string, CheckpointRecord>,
  masters: { address: string; info: string }[] | undefined,
  sourceSamples: Sample[] | undefined,
): LinkRow[] {
  const rows = new Map<string, LinkRow>();
  for (const c of checkpoints.values()) {
    rows.set(c.replid, {
      address: c.address,
      nodeId: c.nodeId || undefined,
      replid: c.replid,
      offset: c.offset,
      updatedAt: c.updatedAt || undefined,
      lastFullResync: c.lastFullResync && { at: c.lastFullResync.at, reason: c.lastFullResync.reason },
    });
  }
  if (masters) {
    const matched = new Set<string>();
    for (const m of masters) {
      const ids = parseReplIds(m.info);
      const c = matchCheckpoint(ids, checkpoints);
      const master = { address: m.address, replid: ids.replid, masterReplOffset: ids.masterReplOffset };
      if (c) {
        matched.add(c.replid);
        rows.get(c.replid)!.master = { ...master, gap: ids.masterReplOffset - c.offset };
      } else {
        rows.set(`master:${m.address}`, { address: m.address, master });
      }
    }
    for (const [key, r] of rows) if (r.replid && !matched.has(key)) r.stale = true;
  }
  if (sourceSamples) {
    const state = new Map<string, string>();
    const offset = new Map<string, number>();
    for (const s of sourceSamples) {
      if (s.name === 'tandem_source_link_state' && s.value === 1) state.set(s.labels.link, s.labels.state);
      if (s.name === 'tandem_source_repl_offset') offset.set(s.labels.link, s.value);
    }
    for (const link of new Set([...state.keys(), ...offset.keys()])) {
      const live = { link, state: state.get(link) ?? '?', offset: offset.get(link) };
      const row = [...rows.values()].find((r) => r.address === link && !r.stale) ?? [...rows.values()].find((r) => r.master?.address === link);
      if (row) row.live = live;
      else rows.set(`live:${link}`, { address: link, live });
    }
  }
  return [...rows.values()].sort((x, y) => Number(x.stale ?? false) - Number(y.stale ?? false) || x.address.localeCompare(y.address));
}
