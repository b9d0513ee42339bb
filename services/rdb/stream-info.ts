import { RDB_TYPE_STREAM_LISTPACKS_3 } from './opcodes';
import type { StreamId, StreamValue } from './types/stream';

/**
 * XINFO STREAM <key> FULL (default COUNT 10), laid out as the server replies,
 * computed from the RDB alone (t_stream.c xinfoReplyWithStreamInfo). Strings
 * in this reply are shown as text, not base64, as in the fixtures.
 *
 * radix-tree-nodes is the node count of a rax built by inserting the listpack
 * master IDs in order, which is what a server loading this RDB builds; a live
 * server whose stream saw trims may report a different, historical count.
 */

const XINFO_DEFAULT_COUNT = 10;
const SCG_INVALID_ENTRIES_READ = -1n;

export function idText(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

function cmp(a: StreamId, b: StreamId): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

const isZero = (id: StreamId): boolean => id.ms === 0n && id.seq === 0n;

/** Node count of a rax holding `keys` (sorted, equal length), each maximal chain being one node. */
export function raxNodeCount(keys: Buffer[]): number {
  const count = (set: Buffer[], depth: number): number => {
    if (set.length === 0) return 1;
    const len = set[0].length;
    if (depth >= len) return 1; // the key's own (leaf) node
    // Longest common prefix from depth.
    let p = depth;
    while (p < len && set.every((k) => k[p] === set[0][p])) p++;
    if (p > depth) return 1 + count(set, p);
    // Branch node holding one char per child, then each child's subtree.
    let total = 1;
    let start = 0;
    for (let i = 1; i <= set.length; i++) {
      if (i === set.length || set[i][depth] !== set[start][depth]) {
        total += count(set.slice(start, i), depth + 1);
        start = i;
      }
    }
    return total;
  };
  return count(keys, 0);
}

/** streamEstimateDistanceFromFirstEverEntry (t_stream.c). */
function estimateEntriesRead(s: StreamValue, id: StreamId): bigint {
  if (s.entriesAdded === 0n) return 0n;
  if (s.length === 0 && cmp(id, s.lastId) < 1) return s.entriesAdded;
  const cmpLast = cmp(id, s.lastId);
  if (cmpLast === 0) return s.entriesAdded;
  if (cmpLast > 0) return SCG_INVALID_ENTRIES_READ;
  const cmpFirst = cmp(id, s.firstId);
  if (isZero(s.maxDeletedId) || cmp(s.maxDeletedId, s.firstId) < 0) {
    if (cmpFirst < 0) return s.entriesAdded - BigInt(s.length);
    if (cmpFirst === 0) return s.entriesAdded - BigInt(s.length) + 1n;
  }
  return SCG_INVALID_ENTRIES_READ;
}

/** streamRangeHasTombstones(s, start, NULL). */
function hasTombstonesAfter(s: StreamValue, start: StreamId): boolean {
  if (s.length === 0 || isZero(s.maxDeletedId)) return false;
  if (cmp(s.firstId, s.maxDeletedId) > 0) return false;
  return cmp(start, s.maxDeletedId) <= 0;
}

/** streamReplyWithCGLag. */
function groupLag(s: StreamValue, lastId: StreamId, entriesRead: bigint): number | null {
  if (s.entriesAdded === 0n) return 0;
  if (entriesRead !== SCG_INVALID_ENTRIES_READ && !hasTombstonesAfter(s, lastId)) return Number(s.entriesAdded - entriesRead);
  const estimate = estimateEntriesRead(s, lastId);
  return estimate === SCG_INVALID_ENTRIES_READ ? null : Number(s.entriesAdded - estimate);
}

export function streamInfoFull(s: StreamValue, rdbType: number, text: (b: Buffer) => string): unknown[] {
  const withActiveTime = rdbType === RDB_TYPE_STREAM_LISTPACKS_3;
  const groups = s.groups.map((g) => {
    const consumers = g.consumers.map((c) => {
      const out: unknown[] = ['name', text(c.name), 'seen-time', c.seenTime];
      if (withActiveTime) out.push('active-time', c.activeTime ?? c.seenTime);
      out.push('pel-count', c.pending.length, 'pending');
      out.push(
        c.pending.slice(0, XINFO_DEFAULT_COUNT).map((id) => {
          const nack = g.pending.find((p) => cmp(p.id, id) === 0);
          return [idText(id), nack?.deliveryTime ?? 0, nack?.deliveryCount ?? 0];
        }),
      );
      return out;
    });
    return [
      'name',
      text(g.name),
      'last-delivered-id',
      idText(g.lastId),
      'entries-read',
      g.entriesRead === SCG_INVALID_ENTRIES_READ ? null : Number(g.entriesRead),
      'lag',
      groupLag(s, g.lastId, g.entriesRead),
      'pel-count',
      g.pending.length,
      'pending',
      g.pending
        .slice(0, XINFO_DEFAULT_COUNT)
        .map((p) => [idText(p.id), p.consumer ? text(p.consumer) : '', p.deliveryTime, p.deliveryCount]),
      'consumers',
      consumers,
    ];
  });
  return [
    'length',
    s.length,
    'radix-tree-keys',
    s.nodeKeys.length,
    'radix-tree-nodes',
    raxNodeCount(s.nodeKeys),
    'last-generated-id',
    idText(s.lastId),
    'max-deleted-entry-id',
    idText(s.maxDeletedId),
    'entries-added',
    Number(s.entriesAdded),
    'recorded-first-entry-id',
    idText(s.firstId),
    'entries',
    s.entries.slice(0, XINFO_DEFAULT_COUNT).map((e) => [idText(e.id), e.fields.map(text)]),
    'groups',
    groups,
  ];
}
