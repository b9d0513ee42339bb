/**
 * Conflict detection in the sink of DC X (docs/sink.md "Conflicts", issue
 * 13). Pure: the sink feeds it its own DC's changes topic, in order per
 * partition, and the peer events it applies.
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
 * The window keeps, per target (key, or key and hash field), the last local
 * write and the last one that does not commute, with their address and
 * capture time; at most `maxTargets` targets, the oldest dropped first. A
 * dropped write, and everything before the point where tailing started, is
 * past the window: a stamp older than that is judged `past-window`, never
 * `causal` nor `concurrent`.
 */
import type { ChangeEvent } from '../../shared/change-event';
import { isCoveredBy, parseMarkerValue, type MarkerValue } from '../../shared/marker';
import { conflicting, writeTargets, type WriteClass } from './write-class';

export interface EventAddress {
  partition: number;
  offset: bigint;
  index: number;
}

export interface LocalWrite {
  address: EventAddress;
  capturedAt: number;
  cls: WriteClass;
  argv: Buffer[];
  event: ChangeEvent;
}

export interface Conflict {
  key: Buffer;
  field?: Buffer;
  peer: { event: ChangeEvent; address: EventAddress; argv: Buffer[]; stamp: string | undefined };
  local: LocalWrite;
}

export type CheckResult = 'causal' | 'concurrent' | 'unknown-stamp' | 'past-window' | 'not-judged';

interface Entry {
  last?: LocalWrite;
  lastNonCommutative?: LocalWrite;
}

interface Pending {
  event: ChangeEvent;
  address: EventAddress;
}

export interface DetectorOptions {
  localDc: string;
  maxTargets: number;
  onConflict: (c: Conflict) => void;
  onCheck: (origin: string, result: CheckResult) => void;
}

export class ConflictDetector {
  /** target id -> entry; Map order is insertion order, re-inserted on write: the first is the oldest */
  private readonly window = new Map<string, Entry>();
  /** own partition -> the latest address the window may have forgotten (tailing began after it, or it was dropped) */
  private readonly horizon = new Map<number, EventAddress>();
  /** `${slot}/${origin}` -> applied peer events waiting for their marker in the own topic */
  private readonly pending = new Map<string, Pending[]>();
  private pendingCount = 0;

  constructor(private readonly o: DetectorOptions) {}

  get targets(): number {
    return this.window.size;
  }

  get waiting(): number {
    return this.pendingCount;
  }

  /** Tailing of an own partition starts at `from`: what came before is past the window. */
  startPartition(partition: number, from: bigint): void {
    if (from > 0n) this.raiseHorizon({ partition, offset: from - 1n, index: Number.MAX_SAFE_INTEGER });
  }

  /** A peer event this sink applies (call before its MULTI is sent). */
  expect(event: ChangeEvent, address: EventAddress): void {
    const id = `${event.slot}/${event.origin}`;
    let list = this.pending.get(id);
    if (list === undefined) this.pending.set(id, (list = []));
    list.push({ event, address });
    this.pendingCount++;
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
      for (const t of writeTargets(argv)) {
        const id = targetId(t.key, t.field);
        const entry = this.window.get(id) ?? {};
        this.window.delete(id); // re-insert: newest last
        const w: LocalWrite = { address, capturedAt: event.capturedAt, cls: t.cls, argv, event };
        entry.last = w;
        if (t.cls !== 'commutative') entry.lastNonCommutative = w;
        this.window.set(id, entry);
        if (t.field !== undefined) this.window.set(fieldsOf(t.key), { ...this.window.get(fieldsOf(t.key)), last: w });
      }
    }
    while (this.window.size > this.o.maxTargets) {
      const [oldest, entry] = this.window.entries().next().value as [string, Entry];
      this.window.delete(oldest);
      if (entry.last) this.raiseHorizon(entry.last.address);
    }
  }

  private judge(slot: number, origin: string, marker: MarkerValue, ownPartition: number): void {
    const id = `${slot}/${origin}`;
    const list = this.pending.get(id);
    if (list === undefined) return;
    let n = 0;
    while (n < list.length && isCoveredBy(marker, list[n].address.offset, list[n].address.index)) n++;
    if (n === 0) return;
    for (const p of list.splice(0, n)) this.o.onCheck(origin, this.check(p, ownPartition));
    this.pendingCount -= n;
    if (list.length === 0) this.pending.delete(id);
  }

  private check(p: Pending, ownPartition: number): CheckResult {
    const stamp = p.event.stamp;
    if (stamp === null || stamp === undefined) return 'unknown-stamp';
    const seen = stamp[this.o.localDc] ? parseMarkerValue(stamp[this.o.localDc]) : undefined;
    const after = (w: LocalWrite | undefined): w is LocalWrite =>
      w !== undefined && (seen === undefined || !isCoveredBy(seen, w.address.offset, w.address.index));
    let found = false;
    let judged = false;
    for (const argv of p.event.commands) {
      for (const t of writeTargets(argv)) {
        judged = true;
        const candidates: (Entry | undefined)[] = [this.window.get(targetId(t.key, t.field))];
        // A whole-key write meets every field's writes, and a field write the whole key's.
        candidates.push(t.field === undefined ? this.window.get(fieldsOf(t.key)) : this.window.get(targetId(t.key)));
        for (const e of candidates) {
          const local = [e?.lastNonCommutative, e?.last].find((w) => after(w) && conflicting(w.cls, t.cls));
          if (local === undefined) continue;
          found = true;
          this.o.onConflict({ key: t.key, field: t.field, peer: { event: p.event, address: p.address, argv, stamp: stamp[this.o.localDc] }, local });
          break;
        }
      }
    }
    if (found) return 'concurrent';
    if (!judged) return 'not-judged';
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

function targetId(key: Buffer, field?: Buffer): string {
  const k = key.toString('latin1');
  return field === undefined ? `k${k.length}:${k}` : `f${k.length}:${k}${field.toString('latin1')}`;
}

/** the entry that holds the last field write of a hash, for whole-key writes to meet */
function fieldsOf(key: Buffer): string {
  const k = key.toString('latin1');
  return `F${k.length}:${k}`;
}
