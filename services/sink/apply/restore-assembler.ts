import type { ChangeEvent } from '../../shared/change-event';
import { payloadKeyOf, payloadPartOf, payloadTagOf, type PayloadTag } from '../../shared/payload-sequence';

/**
 * Reassembles big snapshot keys. The source sends a RESTORE payload larger
 * than one Kafka message as a *sequence* of consecutive snapshot events of
 * the key's slot: `payload-chunk` events (each with one command
 * `[key, bytes]`), then the RESTORE event flagged `payload-last` whose
 * payload argument (argv[3]) is empty (services/source/snapshot-sink.ts).
 * Each element names the RDB transfer it came from and its index
 * (`rdb-transfer:<id>`, `chunk:<i>`, shared/payload-sequence.ts). The sink,
 * `tandem replay` and `tandem audit` concatenate the chunks of one sequence,
 * in order, and substitute them.
 *
 * A full sync can break inside a big key (link failure, SIGKILL): its chunks
 * are committed and its payload-last never comes; the retry is a new transfer.
 * An open sequence is therefore discarded, never concatenated with another:
 *
 * - `superseded`: a chunk or payload-last of the same key from another
 *   transfer arrives (the retry re-sends the key);
 * - `transfer-ended`: any other event of the same source node arrives in the
 *   partition. A link publishes a key's chunks back to back, and a
 *   partition keeps a link's order, so its next event means the sequence
 *   will never be finished (the retried RDB lacks the key, or holds it in
 *   another partition's future);
 * - `incomplete`: an element of the same transfer out of order (a gap), a
 *   payload-last whose index is not the chunk count, or a sequence whose
 *   first chunk the reader never saw (it started reading inside it).
 *
 * Events without transfer and index (written by older sources) form one
 * sequence per key, as before; the rules above still end them.
 *
 * A reader calls `observe` for every decoded event of a partition, in order,
 * before any filter, so that events it will not apply still end the
 * sequences they prove abandoned; then `addChunk` / `complete` for the
 * sequence's elements it does apply.
 *
 * Memory is bounded by `maxBytes` per key: past it the chunks are dropped as
 * they come and the RESTORE is answered with `overflow`, which the sink sends
 * to the DLQ (with the chunks' offsets, so an operator can replay them).
 *
 * While a sequence is open, the Kafka offset of its first chunk must not be
 * committed (a restart must see the chunks again): `holdBack` says where the
 * commit of a partition has to stop. A discarded sequence holds nothing.
 */
export interface Address {
  /** the record's offset */
  offset: bigint;
  /** the event's index in its record */
  index: number;
}

interface OpenSequence {
  partition: number;
  key: Buffer;
  nodeId: string;
  transfer: string | undefined;
  /** the index the next element must carry */
  next: number;
  /** chunks taken */
  count: number;
  firstOffset: bigint;
  last: Address;
  chunks: Buffer[];
  bytes: number;
  overflow: boolean;
  /** an element is missing (its first chunk was never seen, or a gap): it can only be discarded */
  broken: boolean;
}

export type DiscardReason = 'superseded' | 'transfer-ended' | 'incomplete';

export interface DiscardedSequence {
  reason: DiscardReason;
  partition: number;
  key: Buffer;
  nodeId: string;
  transfer: string | undefined;
  firstOffset: bigint;
  lastOffset: bigint;
  chunks: number;
  bytes: number;
  /** the event that ended it */
  endedBy: Address & { nodeId: string; kind: string; transfer: string | undefined };
}

export type Completion =
  | { status: 'ok'; argv: Buffer[]; bytes: number; chunks: number; firstOffset: bigint }
  | { status: 'overflow'; bytes: number; firstOffset: bigint; lastOffset: bigint }
  | { status: 'missing-chunks' };

export class RestoreAssembler {
  /** open sequences per partition, by key */
  private readonly open = new Map<number, Map<string, OpenSequence>>();

  constructor(
    readonly maxBytes: number,
    private readonly onDiscard: (d: DiscardedSequence) => void = () => {},
  ) {}

  /** Every decoded event of `partition`, in order, before any filter: ends the open sequences it proves abandoned. */
  observe(partition: number, at: Address, event: ChangeEvent): void {
    const open = this.open.get(partition);
    if (open === undefined || open.size === 0) return;
    const part = payloadPartOf(event);
    if (part === undefined) this.settle(open, at, event, undefined, undefined);
    else this.settle(open, at, event, payloadKeyOf(event, part), payloadTagOf(event.flags));
  }

  /**
   * Adds a `payload-chunk` event, whose command is `[key, bytes]` (the caller
   * checked it); returns true when its key just went over `maxBytes`.
   */
  addChunk(partition: number, at: Address, event: ChangeEvent): boolean {
    const [key, bytes] = event.commands[0];
    const tag = payloadTagOf(event.flags);
    const open = this.partition(partition);
    this.settle(open, at, event, key, tag);
    const id = key.toString('base64');
    let s = open.get(id);
    if (s === undefined) {
      s = {
        partition, key: Buffer.from(key), nodeId: event.nodeId, transfer: tag.transfer, next: 0, count: 0, firstOffset: at.offset, last: at,
        chunks: [], bytes: 0, overflow: false, broken: tag.index !== undefined && tag.index !== 0,
      };
      open.set(id, s);
    } else if (tag.index !== undefined && tag.index !== s.next && !s.broken) {
      s.broken = true; // a gap: nothing of it will be applied
      s.chunks = [];
    }
    s.next = (tag.index ?? s.next) + 1;
    s.count++;
    s.last = at;
    s.bytes += bytes.length;
    if (s.overflow || s.broken) return false;
    if (s.bytes > this.maxBytes) {
      s.overflow = true;
      s.chunks = []; // free what we held: this key goes to the DLQ
      return true;
    }
    // Copy: the chunk is a slice of the Kafka batch buffer, which must not be kept alive.
    s.chunks.push(Buffer.from(bytes));
    return false;
  }

  /**
   * Completes the sequence ended by a `payload-last` event, whose command is
   * `RESTORE key ttl "" …` (the caller checked it): returns the argv with the
   * assembled payload in place of argv[3].
   */
  complete(partition: number, at: Address, event: ChangeEvent): Completion {
    const restoreArgv = event.commands[0];
    const key = restoreArgv[1];
    const tag = payloadTagOf(event.flags);
    const open = this.partition(partition);
    this.settle(open, at, event, key, tag);
    const id = key.toString('base64');
    const s = open.get(id);
    if (s === undefined) return { status: 'missing-chunks' };
    if (s.broken || (tag.index !== undefined && tag.index !== s.next)) {
      this.discard(open, id, s, 'incomplete', at, event, tag);
      return { status: 'missing-chunks' };
    }
    open.delete(id);
    if (s.overflow) return { status: 'overflow', bytes: s.bytes, firstOffset: s.firstOffset, lastOffset: s.last.offset };
    const argv = restoreArgv.slice();
    argv[3] = Buffer.concat(s.chunks, s.bytes);
    return { status: 'ok', argv, bytes: s.bytes, chunks: s.chunks.length, firstOffset: s.firstOffset };
  }

  /** The first offset of the oldest open sequence of a partition: commit no further than this. */
  holdBack(partition: number): bigint | undefined {
    let min: bigint | undefined;
    for (const s of this.open.get(partition)?.values() ?? []) {
      if (!s.broken && (min === undefined || s.firstOffset < min)) min = s.firstOffset;
    }
    return min;
  }

  /** Drops the open sequences of partitions this reader no longer owns (their chunks are re-read by the next owner). */
  retainPartitions(owned: (partition: number) => boolean): number {
    let dropped = 0;
    for (const [partition, open] of this.open) {
      if (owned(partition)) continue;
      dropped += open.size;
      this.open.delete(partition);
    }
    return dropped;
  }

  get openKeys(): number {
    let n = 0;
    for (const open of this.open.values()) n += open.size;
    return n;
  }

  get heldBytes(): number {
    let n = 0;
    for (const open of this.open.values()) for (const s of open.values()) if (!s.overflow && !s.broken) n += s.bytes;
    return n;
  }

  private partition(partition: number): Map<string, OpenSequence> {
    let open = this.open.get(partition);
    if (open === undefined) {
      open = new Map();
      this.open.set(partition, open);
    }
    return open;
  }

  /** Ends the open sequences of a partition that the event at `at` shows will never be completed. */
  private settle(open: Map<string, OpenSequence>, at: Address, event: ChangeEvent, key: Buffer | undefined, tag: PayloadTag | undefined): void {
    for (const [id, s] of open) {
      if (!after(at, s.last)) {
        // The reader went back (a rebalance that kept the partition resumes from the
        // committed offset, at or before the first chunk): it reads the sequence again.
        open.delete(id);
        continue;
      }
      const sameKey = key !== undefined && key.equals(s.key);
      let reason: DiscardReason;
      if (sameKey && tag !== undefined) {
        if (tag.transfer === s.transfer) continue; // its own element: addChunk / complete check the index
        reason = 'superseded';
      } else if (event.nodeId === s.nodeId) {
        reason = 'transfer-ended';
      } else {
        continue; // another node's event: links interleave in a partition
      }
      this.discard(open, id, s, reason, at, event, tag);
    }
  }

  private discard(open: Map<string, OpenSequence>, id: string, s: OpenSequence, reason: DiscardReason, at: Address, event: ChangeEvent, tag: PayloadTag | undefined): void {
    open.delete(id);
    this.onDiscard({
      reason: s.broken ? 'incomplete' : reason,
      partition: s.partition,
      key: s.key,
      nodeId: s.nodeId,
      transfer: s.transfer,
      firstOffset: s.firstOffset,
      lastOffset: s.last.offset,
      chunks: s.count,
      bytes: s.bytes,
      endedBy: { offset: at.offset, index: at.index, nodeId: event.nodeId, kind: event.kind, transfer: tag?.transfer },
    });
  }
}

/** a > b in address order (record offset, then index in the record) */
function after(a: Address, b: Address): boolean {
  return a.offset > b.offset || (a.offset === b.offset && a.index > b.index);
}
