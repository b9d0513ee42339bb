/**
 * The repairs of `sink.conflicts: lww` between their decision and their
 * end (docs/sink.md "Last write wins"). Pure bookkeeping, owned by the
 * detector: one entry per decided repair, found by key (writes read later
 * in the own topic touch it) and by the peer partition of the losing write
 * (the sink commits no offset past a repair not yet settled).
 *
 * A repair's life:
 * - `deciding`: decided at the judgment point J (the marker of the losing
 *   peer write in the own topic); a later write of its target read since
 *   (local, or a peer write judged) makes it superseded: it is not sent.
 * - `sent`: the repair script was sent with a bound on the peer's marker.
 * - `ran`: the script answered that it ran; it stays until its own write is
 *   read back in the own topic, where a local write read between J and it
 *   means the repair overwrote that later write (its value equal to the
 *   loser's, so the compare-and-set could not tell): it is redone.
 */
import type { EventAddress, WriteRecord } from './conflict-detector';
import type { Effect } from './lww';

export type RepairState = 'deciding' | 'sent' | 'ran';

export interface Repair {
  id: number;
  slot: number;
  /** the DC of the losing peer write */
  peer: string;
  key: Buffer;
  field?: Buffer;
  /** own-topic address where the losing write was judged */
  judgedAt: EventAddress;
  /** peer-topic address of the losing write (commit hold) */
  peerAddress: EventAddress;
  /** what the losing write left: the repair runs only while the target holds it */
  expected: Effect;
  /** the local winning write, and the command that re-makes it */
  winner: WriteRecord;
  argv: Buffer[];
  /** what the repair leaves (undefined: not describable, e.g. RESTORE) */
  effect: Effect | undefined;
  state: RepairState;
  superseded: boolean;
  /** the marker bound it was sent with: the peer's marker may not be past it */
  bound?: { offset: bigint; index: number };
  /** a local write of the target read after it was sent ('other': of the whole key for a field, or a field for the whole key) */
  overtaken?: WriteRecord | 'other';
  /** the peer's pending writes of the slot dropped unjudged when it was decided: more since, and what wrote the target is unknown */
  dropsAt: number;
}

export class RepairBook {
  private readonly byId = new Map<number, Repair>();
  private readonly byKey = new Map<string, Set<Repair>>();
  private readonly byPartition = new Map<string, Set<Repair>>();
  private next = 0;

  constructor(readonly max: number) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: number): Repair | undefined {
    return this.byId.get(id);
  }

  /** Adds a repair; when full, forgets the oldest that already ran (its read-back check is lost), else refuses (undefined). */
  add(r: Omit<Repair, 'id'>): Repair | undefined {
    if (this.byId.size >= this.max) {
      const ran = [...this.byId.values()].find((x) => x.state === 'ran');
      if (ran === undefined) return undefined;
      this.delete(ran);
    }
    const repair = { ...r, id: this.next++ };
    this.byId.set(repair.id, repair);
    setOf(this.byKey, keyId(repair.key)).add(repair);
    setOf(this.byPartition, `${repair.peer}/${repair.peerAddress.partition}`).add(repair);
    return repair;
  }

  delete(r: Repair): void {
    if (!this.byId.delete(r.id)) return;
    dropFrom(this.byKey, keyId(r.key), r);
    dropFrom(this.byPartition, `${r.peer}/${r.peerAddress.partition}`, r);
  }

  /** The repairs whose target a write of `key` (and `field`; undefined: the whole key) touches. */
  touching(key: Buffer, field: Buffer | undefined): Repair[] {
    const set = this.byKey.get(keyId(key));
    if (set === undefined) return [];
    return [...set].filter((r) => field === undefined || r.field === undefined || r.field.equals(field));
  }

  /** The earliest peer-topic offset of a repair of `peer` in `partition` not settled yet (deciding or sent). */
  oldestUnsettled(peer: string, partition: number): bigint | undefined {
    let min: bigint | undefined;
    for (const r of this.byPartition.get(`${peer}/${partition}`) ?? []) {
      if (r.state !== 'ran' && (min === undefined || r.peerAddress.offset < min)) min = r.peerAddress.offset;
    }
    return min;
  }

  clear(): Repair[] {
    const all = [...this.byId.values()];
    this.byId.clear();
    this.byKey.clear();
    this.byPartition.clear();
    return all;
  }
}

function keyId(key: Buffer): string {
  return key.toString('latin1');
}

function setOf<T>(m: Map<string, Set<T>>, id: string): Set<T> {
  let s = m.get(id);
  if (s === undefined) m.set(id, (s = new Set()));
  return s;
}

function dropFrom<T>(m: Map<string, Set<T>>, id: string, v: T): void {
  const s = m.get(id);
  if (s === undefined) return;
  s.delete(v);
  if (s.size === 0) m.delete(id);
}
