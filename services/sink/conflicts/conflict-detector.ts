/**
 * Conflict detection in the sink of DC X (docs/sink.md "Conflicts", issue
 * 13). Pure: the sink feeds it its own DC's changes topic, in order per
 * partition (kafka/own-topic-tail.ts), and the peer events it applies.
 *
 * A peer event E of Y for key k carries a stamp: Y had applied X up to
 * address A in k's slot. It is concurrent with a local write L of X to k
 * when L is after A (Y had not seen L) and L is before the point where X
 * applied E (X had not seen E). That point is exact in X's own topic: the
 * marker `SET __tandem:{slot}:o:Y <address>` of the MULTI that applied E is
 * in X's stream, and so in X's topic, at the very place where E changed X.
 * So the detector judges E when it reads that marker, against the window
 * as it stands there: the local writes read before it.
 *
 * Memory is bounded by bytes, never by the size of the events:
 * - the window keeps, per target (key, or key and hash field), the last
 *   local write and the last one that does not commute, each as a
 *   WriteRecord (the command with every argument cut at `maxValueBytes`, and
 *   the event's address and capture time); at most `maxWindowBytes` (an
 *   estimate: arguments kept plus a fixed overhead per record and target),
 *   the least recently written target dropped first;
 * - pending peer events (applied, their marker not read yet) keep only their
 *   write targets, cut the same way; at most `maxPendingBytes`, the oldest
 *   dropped first (counted as `dropped`, never judged).
 * A dropped write, and everything before the point where tailing started,
 * is past the window: a stamp older than that is judged `past-window`, never
 * `causal` nor `concurrent`.
 */
import type { ChangeEvent, EventKind } from '../../shared/change-event';
import { isCoveredBy, parseMarkerValue, type MarkerValue } from '../../shared/marker';
import { conflicting, writeTargets, type WriteClass } from './write-class';

export interface EventAddress {
  partition: number;
  offset: bigint;
  index: number;
}

/** One write of a conflict, as the window or the pending list keeps it. */
export interface WriteRecord {
  origin: string;
  source: string;
  kind: EventKind;
  address: EventAddress;
  capturedAt: number;
  cls: WriteClass;
  /** the command that wrote the target, every argument cut at maxValueBytes */
  argv: Buffer[];
  /** some argument was cut */
  truncated: boolean;
  /** commands of the event (a transaction's others are at its address) */
  commands: number;
}

export interface Conflict {
  slot: number;
  key: Buffer;
  field?: Buffer;
  /** the peer's write; `stamp` is what its stamp said of this DC (undefined: nothing applied in the slot) */
  peer: WriteRecord & { stamp: string | undefined };
  local: WriteRecord;
}

/**
 * What one applied peer event was judged: causal (it saw every local write
 * of its targets), concurrent (a conflict was reported), unknown-stamp (its
 * source did not know the slot's vector), past-window (its stamp is older
 * than what the window still holds), not-judged (it wrote no target), or
 * dropped (the pending list was full, or tailing restarted, before its marker).
 */
export type CheckResult = 'causal' | 'concurrent' | 'unknown-stamp' | 'past-window' | 'not-judged' | 'dropped';

export const CHECK_RESULTS: readonly CheckResult[] = ['causal', 'concurrent', 'unknown-stamp', 'past-window', 'not-judged', 'dropped'];

interface Entry {
  last?: WriteRecord;
  lastNonCommutative?: WriteRecord;
  bytes: number;
}

interface PendingTarget {
  key: Buffer;
  field?: Buffer;
  record: WriteRecord;
}

interface Pending {
  seq: number;
  slot: number;
  origin: string;
  address: EventAddress;
  /** null: unknown stamp; undefined: nothing of this DC applied in the slot */
  stamp: string | undefined | null;
  targets: PendingTarget[];
  bytes: number;
}

export interface DetectorOptions {
  localDc: string;
  /** estimated bytes of the window of local writes */
  maxWindowBytes: number;
  /** estimated bytes of the applied peer events waiting for their marker */
  maxPendingBytes: number;
  /** each argument of a kept command is cut to this many bytes */
  maxValueBytes: number;
  /** an extra bound on the window's targets (tests) */
  maxTargets?: number;
  onConflict: (c: Conflict) => void;
  onCheck: (origin: string, result: CheckResult) => void;
}

/** Fixed cost assumed per kept record, map entry and target id, on top of the bytes of the arguments and key. */
const RECORD_OVERHEAD = 160;

export class ConflictDetector {
  /** target id -> entry; Map order is insertion order, re-inserted on write: the first is the oldest */
  private readonly window = new Map<string, Entry>();
  private windowBytes = 0;
  /** own partition -> the latest address the window may have forgotten (tailing began after it, or it was dropped) */
  private readonly horizon = new Map<number, EventAddress>();
  /** `${slot}/${origin}` -> applied peer events waiting for their marker in the own topic, in apply order */
  private readonly pending = new Map<string, Pending[]>();
  /** every pending event by its sequence: the first is the oldest */
  private readonly pendingBySeq = new Map<number, Pending>();
  private pendingBytesHeld = 0;
  private seq = 0;

  constructor(private readonly o: DetectorOptions) {}

  get targets(): number {
    return this.window.size;
  }

  get bytes(): number {
    return this.windowBytes;
  }

  get waiting(): number {
    return this.pendingBySeq.size;
  }

  get pendingBytes(): number {
    return this.pendingBytesHeld;
  }

  /**
   * Forget everything (tailing restarts, or the sink's partitions changed):
   * the pending events are counted as dropped, since their markers may sit
   * before the point the next tailing starts from.
   */
  reset(): void {
    for (const p of this.pendingBySeq.values()) this.o.onCheck(p.origin, 'dropped');
    this.window.clear();
    this.windowBytes = 0;
    this.horizon.clear();
    this.pending.clear();
    this.pendingBySeq.clear();
    this.pendingBytesHeld = 0;
  }

  /** Tailing of an own partition starts at `from`: what came before is past the window. */
  startPartition(partition: number, from: bigint): void {
    if (from > 0n) this.raiseHorizon({ partition, offset: from - 1n, index: Number.MAX_SAFE_INTEGER });
  }

  /** A peer event this sink is about to apply (call before its MULTI is sent). */
  expect(event: ChangeEvent, address: EventAddress, commands: Buffer[][] = event.commands): void {
    const stampValue = event.stamp === null || event.stamp === undefined ? null : event.stamp[this.o.localDc] || undefined;
    const p: Pending = { seq: this.seq++, slot: event.slot, origin: event.origin, address, stamp: stampValue, targets: [], bytes: RECORD_OVERHEAD };
    if (stampValue !== null) {
      // An unknown stamp is never judged against the window: its targets are not needed.
      for (const argv of commands) {
        const targets = writeTargets(argv);
        if (targets.length === 0) continue;
        const record = this.record(event, address, argv, targets[0].cls, commands.length);
        for (const t of targets) {
          const key = Buffer.from(t.key);
          const field = t.field === undefined ? undefined : Buffer.from(t.field);
          p.targets.push({ key, field, record: t.cls === record.cls ? record : { ...record, cls: t.cls } });
          p.bytes += RECORD_OVERHEAD + key.length + (field?.length ?? 0);
        }
        p.bytes += argBytes(record.argv);
      }
    }
    const id = `${event.slot}/${event.origin}`;
    let list = this.pending.get(id);
    if (list === undefined) this.pending.set(id, (list = []));
    list.push(p);
    this.pendingBySeq.set(p.seq, p);
    this.pendingBytesHeld += p.bytes;
    while (this.pendingBytesHeld > this.o.maxPendingBytes && this.pendingBySeq.size > 1) {
      const oldest = this.pendingBySeq.values().next().value as Pending;
      this.removePending(oldest);
      this.o.onCheck(oldest.origin, 'dropped');
    }
  }

  /** An expected event was not applied after all (at or below its marker already, or rejected): it has no marker of its own to wait for. */
  cancel(event: ChangeEvent, address: EventAddress): void {
    const list = this.pending.get(`${event.slot}/${event.origin}`);
    if (list === undefined) return;
    for (let i = list.length - 1; i >= 0; i--) {
      const a = list[i].address;
      if (a.partition === address.partition && a.offset === address.offset && a.index === address.index) {
        this.removePending(list[i]);
        return;
      }
    }
  }

  /** The next event of the own DC's topic, in order per partition. */
  onOwnEvent(event: ChangeEvent, address: EventAddress): void {
    if (event.kind === 'marker') {
      const value = event.commands[0]?.[2];
      const marker = value === undefined ? undefined : parseMarkerValue(value);
      if (marker !== undefined) this.judge(event.slot, event.origin, marker, address.partition);
      return;
    }
    if (event.origin !== this.o.localDc || (event.kind !== 'command' && event.kind !== 'transaction')) return;
    for (const argv of event.commands) {
      const targets = writeTargets(argv);
      if (targets.length === 0) continue;
      const record = this.record(event, address, argv, targets[0].cls, event.commands.length);
      for (const t of targets) {
        const w = t.cls === record.cls ? record : { ...record, cls: t.cls };
        const id = targetId(t.key, t.field);
        const entry = this.take(id);
        entry.last = w;
        if (t.cls !== 'commutative') entry.lastNonCommutative = w;
        this.put(id, entry);
        if (t.field !== undefined) {
          const fid = fieldsOf(t.key);
          const fields = this.take(fid);
          fields.last = w;
          this.put(fid, fields);
        }
      }
    }
    const maxTargets = this.o.maxTargets ?? Number.POSITIVE_INFINITY;
    while ((this.windowBytes > this.o.maxWindowBytes || this.window.size > maxTargets) && this.window.size > 0) {
      const [oldest, entry] = this.window.entries().next().value as [string, Entry];
      this.window.delete(oldest);
      this.windowBytes -= entry.bytes;
      if (entry.last) this.raiseHorizon(entry.last.address);
    }
  }

  private take(id: string): Entry {
    const entry = this.window.get(id);
    if (entry === undefined) return { bytes: 0 };
    this.window.delete(id); // re-inserted by put: newest last
    this.windowBytes -= entry.bytes;
    return entry;
  }

  private put(id: string, entry: Entry): void {
    entry.bytes = RECORD_OVERHEAD + id.length + (entry.last ? RECORD_OVERHEAD + argBytes(entry.last.argv) : 0);
    if (entry.lastNonCommutative !== undefined && entry.lastNonCommutative !== entry.last) entry.bytes += RECORD_OVERHEAD + argBytes(entry.lastNonCommutative.argv);
    this.window.set(id, entry);
    this.windowBytes += entry.bytes;
  }

  private record(event: ChangeEvent, address: EventAddress, argv: Buffer[], cls: WriteClass, commands: number): WriteRecord {
    const max = this.o.maxValueBytes;
    let truncated = false;
    // Copies: a slice would keep the whole Kafka record it was decoded from alive.
    const kept = argv.map((a) => {
      if (a.length > max) truncated = true;
      return Buffer.from(a.subarray(0, max));
    });
    return { origin: event.origin, source: event.source, kind: event.kind, address, capturedAt: event.capturedAt, cls, argv: kept, truncated, commands };
  }

  private removePending(p: Pending): void {
    const id = `${p.slot}/${p.origin}`;
    const list = this.pending.get(id);
    if (list !== undefined) {
      const i = list.indexOf(p);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.pending.delete(id);
    }
    if (this.pendingBySeq.delete(p.seq)) this.pendingBytesHeld -= p.bytes;
  }

  private judge(slot: number, origin: string, marker: MarkerValue, ownPartition: number): void {
    const list = this.pending.get(`${slot}/${origin}`);
    if (list === undefined) return;
    let n = 0;
    while (n < list.length && isCoveredBy(marker, list[n].address.offset, list[n].address.index)) n++;
    if (n === 0) return;
    for (const p of list.slice(0, n)) {
      this.removePending(p);
      this.o.onCheck(origin, this.check(p, ownPartition));
    }
  }

  private check(p: Pending, ownPartition: number): CheckResult {
    if (p.stamp === null) return 'unknown-stamp';
    const seen = p.stamp === undefined ? undefined : parseMarkerValue(p.stamp);
    const after = (w: WriteRecord | undefined): w is WriteRecord =>
      w !== undefined && (seen === undefined || !isCoveredBy(seen, w.address.offset, w.address.index));
    let found = false;
    for (const t of p.targets) {
      const candidates: (Entry | undefined)[] = [this.window.get(targetId(t.key, t.field))];
      // A whole-key write meets every field's writes, and a field write the whole key's.
      candidates.push(t.field === undefined ? this.window.get(fieldsOf(t.key)) : this.window.get(targetId(t.key)));
      for (const e of candidates) {
        const local = [e?.lastNonCommutative, e?.last].find((w) => after(w) && conflicting(w.cls, t.record.cls));
        if (local === undefined) continue;
        found = true;
        this.o.onConflict({ slot: p.slot, key: t.key, field: t.field, peer: { ...t.record, stamp: p.stamp }, local });
        break;
      }
    }
    if (found) return 'concurrent';
    if (p.targets.length === 0) return 'not-judged';
    const h = this.horizon.get(ownPartition);
    // The stamp saw less than what the window forgot: a forgotten local write may have been after it.
    if (h !== undefined && (seen === undefined || !isCoveredBy(seen, h.offset, h.index))) return 'past-window';
    return 'causal';
  }

  private raiseHorizon(a: EventAddress): void {
    const h = this.horizon.get(a.partition);
    if (h === undefined || a.offset > h.offset || (a.offset === h.offset && a.index > h.index)) this.horizon.set(a.partition, a);
  }
}

function argBytes(argv: Buffer[]): number {
  let n = 0;
  for (const a of argv) n += a.length;
  return n;
}

function targetId(key: Buffer, field?: Buffer): string {
  const k = key.toString('latin1');
  return field === undefined ? `k${k.length}:${k}` : `f${k.length}:${k}${field.toString('latin1')}`;
}

/** the entry that holds the last field write of a hash, for whole-key writes to meet */
function fieldsOf(key: Buffer): string {
  const k = key.toString('latin1');
  return `F${k.length}:${k}`;
}
