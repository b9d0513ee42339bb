/**
 * Reassembles big snapshot keys. The source sends a RESTORE payload larger
 * than one Kafka message as consecutive snapshot events of the key's slot
 * flagged `payload-chunk` (each with one command `[key, bytes]`), then the
 * RESTORE event flagged `payload-last` whose payload argument (argv[3]) is
 * empty (services/source/snapshot-sink.ts). The sink concatenates the chunks,
 * in order, per key, and substitutes them.
 *
 * Memory is bounded by `maxBytes` per key: past it the chunks are dropped as
 * they come and the RESTORE is answered with `overflow`, which the sink sends
 * to the DLQ (with the chunks' offsets, so an operator can replay them).
 *
 * While a key is open, the Kafka offset of its first chunk must not be
 * committed (a restart must see the chunks again): `holdBack` says where the
 * commit of a partition has to stop.
 */
export interface OpenKey {
  partition: number;
  key: Buffer;
  firstOffset: bigint;
  lastOffset: bigint;
  chunks: Buffer[];
  bytes: number;
  overflow: boolean;
}

export type Completion =
  | { status: 'ok'; argv: Buffer[]; bytes: number; chunks: number; firstOffset: bigint }
  | { status: 'overflow'; bytes: number; firstOffset: bigint; lastOffset: bigint }
  | { status: 'missing-chunks' };

export class RestoreAssembler {
  private readonly open = new Map<string, OpenKey>();

  constructor(readonly maxBytes: number) {}

  private id(partition: number, key: Buffer): string {
    return `${partition}/${key.toString('base64')}`;
  }

  /** Adds one chunk; returns true when the key just went over `maxBytes`. */
  addChunk(partition: number, offset: bigint, key: Buffer, bytes: Buffer): boolean {
    const id = this.id(partition, key);
    let open = this.open.get(id);
    if (open === undefined) {
      open = { partition, key: Buffer.from(key), firstOffset: offset, lastOffset: offset, chunks: [], bytes: 0, overflow: false };
      this.open.set(id, open);
    }
    open.lastOffset = offset;
    open.bytes += bytes.length;
    if (open.overflow) return false;
    if (open.bytes > this.maxBytes) {
      open.overflow = true;
      open.chunks = []; // free what we held: this key goes to the DLQ
      return true;
    }
    // Copy: the chunk is a slice of the Kafka batch buffer, which must not be kept alive.
    open.chunks.push(Buffer.from(bytes));
    return false;
  }

  /**
   * Completes the key of a `payload-last` RESTORE argv (RESTORE key ttl "" …):
   * returns the argv with the assembled payload in place of argv[3].
   */
  complete(partition: number, restoreArgv: Buffer[]): Completion {
    const key = restoreArgv[1];
    const id = this.id(partition, key);
    const open = this.open.get(id);
    if (open === undefined) return { status: 'missing-chunks' };
    this.open.delete(id);
    if (open.overflow) return { status: 'overflow', bytes: open.bytes, firstOffset: open.firstOffset, lastOffset: open.lastOffset };
    const argv = restoreArgv.slice();
    argv[3] = Buffer.concat(open.chunks, open.bytes);
    return { status: 'ok', argv, bytes: open.bytes, chunks: open.chunks.length, firstOffset: open.firstOffset };
  }

  /** Forgets a key whose RESTORE is not applied (skipped by policy, or already applied). */
  discard(partition: number, key: Buffer): void {
    this.open.delete(this.id(partition, key));
  }

  /** The first offset of the oldest open key of a partition: commit no further than this. */
  holdBack(partition: number): bigint | undefined {
    let min: bigint | undefined;
    for (const o of this.open.values()) if (o.partition === partition && (min === undefined || o.firstOffset < min)) min = o.firstOffset;
    return min;
  }

  /** Drops the open keys of partitions this sink no longer owns (their chunks are re-read by the next owner). */
  retainPartitions(owned: (partition: number) => boolean): number {
    let dropped = 0;
    for (const [id, o] of this.open) {
      if (!owned(o.partition)) {
        this.open.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  get openKeys(): number {
    return this.open.size;
  }

  get heldBytes(): number {
    let n = 0;
    for (const o of this.open.values()) if (!o.overflow) n += o.bytes;
    return n;
  }
}
