/**
 * What this DC had applied of each peer, slot by slot: the version vector
 * that stamps local events (docs/events.md "Stamps", issue 13). Pure: the
 * builder feeds it the markers it reads in the stream, the source feeds it
 * what it read of the markers in Redis (vector-primer.ts).
 *
 * The anti-loop marker `__tandem:{slot}:o:<peer>` holds the address of the
 * last event of <peer> applied in that slot, and a sink only ever moves it
 * forward. So at a point o of a master's stream the true value is
 * V(o) = the last marker SET at or before o. The source learns it two ways:
 *
 * - the stream: every marker SET it reads (monotonic, so a max-merge);
 * - a prime: GET of every marker of the master's slots for every peer,
 *   THEN the master's master_repl_offset Q. A value R read that way was
 *   written at or before Q. For any later stream point o > Q, V(o) is the
 *   larger of R and every marker SET read in the stream: either the stream
 *   showed a SET after the link's (re)start point, the latest of which is
 *   V(o), or there was none, and then R, older than that point, is V(o).
 *
 * A slot's vector is therefore *known* from the first item after Q of a
 * primed master, and until then *unknown*: a process start, or a full
 * resync (which may have skipped markers written in the gap), un-knows the
 * master's slots until its next prime lands. Unknown means a null stamp, on
 * which no sink asserts a conflict.
 */
import type { SlotStamp } from '../../shared/change-event';
import { formatMarkerValue, parseMarkerValue, type MarkerValue } from '../../shared/marker';

/** What a prime read from one master: its slots, the peers asked for, the markers found, and Q. */
export interface VectorPrime {
  nodeId: string;
  /** master_repl_offset read after the markers */
  offset: number;
  slots: readonly number[];
  peers: readonly string[];
  /** slot -> peer -> marker value read (absent: no marker, nothing applied) */
  markers: Map<number, Map<string, string>>;
}

export class SlotVectors {
  /** slot -> peer -> the latest marker value seen (stream or prime) */
  private readonly values = new Map<number, Map<string, MarkerValue>>();
  /** slots whose vector is known; the others are unknown */
  private readonly known = new Set<number>();
  /** slots each node's last landed prime made known */
  private readonly primedBy = new Map<string, number[]>();
  /** primes waiting for their node's stream to pass their offset */
  private readonly waiting = new Map<string, VectorPrime>();
  /** nodes a prime was asked for and not forgotten since */
  private readonly asked = new Set<string>();

  /** A marker SET read in the stream (or the RDB). */
  onMarker(slot: number, peer: string, value: string | Buffer): void {
    const v = parseMarkerValue(value);
    if (v === undefined) return; // a malformed marker is the sink's problem (it refuses it); it says nothing here
    let perPeer = this.values.get(slot);
    if (perPeer === undefined) this.values.set(slot, (perPeer = new Map()));
    const old = perPeer.get(peer);
    if (old === undefined || later(v, old)) perPeer.set(peer, v);
  }

  /** True once, per node, until forgotten: the caller then starts a prime of that node. */
  needsPrime(nodeId: string): boolean {
    if (this.asked.has(nodeId)) return false;
    this.asked.add(nodeId);
    return true;
  }

  /** A prime finished; it lands with the node's first stream item past its offset. */
  primed(prime: VectorPrime): void {
    this.waiting.set(prime.nodeId, prime);
  }

  /** A prime failed: ask again with the node's next item. */
  primeFailed(nodeId: string): void {
    this.asked.delete(nodeId);
  }

  /**
   * A full resync of the node (or a lost link whose continuation is not
   * exact): its slots are unknown until a new prime lands.
   */
  forgetNode(nodeId: string): void {
    for (const slot of this.primedBy.get(nodeId) ?? []) this.known.delete(slot);
    this.primedBy.delete(nodeId);
    this.waiting.delete(nodeId);
    this.asked.delete(nodeId);
  }

  /** Called for every stream item of a node before its events are stamped. */
  advance(nodeId: string, offset: number): void {
    const p = this.waiting.get(nodeId);
    if (p === undefined || offset <= p.offset) return;
    this.waiting.delete(nodeId);
    for (const slot of p.slots) {
      for (const [peer, value] of p.markers.get(slot) ?? []) this.onMarker(slot, peer, value);
      this.known.add(slot);
    }
    this.primedBy.set(nodeId, [...p.slots]);
  }

  /**
   * The stamp of a local event of `slot`: null while the slot is unknown;
   * else every peer with a marker in the slot, and a peer it does not name
   * had nothing applied there. That holds for peers the prime did not ask
   * about too: a DC whose changes topic did not exist at the prime had no
   * event applied anywhere before the link's stream began, and every marker
   * of it since is in the stream.
   */
  stamp(slot: number): SlotStamp | null {
    if (!this.known.has(slot)) return null;
    const out: SlotStamp = {};
    for (const [peer, v] of this.values.get(slot) ?? []) {
      out[peer] = v.index === undefined ? `${v.partition}:${v.offset}` : formatMarkerValue(v.partition, v.offset, v.index);
    }
    return out;
  }

  get knownSlots(): number {
    return this.known.size;
  }
}

/** a after b, in one partition (marker values of one (slot, peer) share it). */
function later(a: MarkerValue, b: MarkerValue): boolean {
  if (a.offset !== b.offset) return a.offset > b.offset;
  // A value without an index covers its whole record: later than any index in it.
  return (a.index ?? Number.MAX_SAFE_INTEGER) > (b.index ?? Number.MAX_SAFE_INTEGER);
}
