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
import { effectOf, localWins, repairBytes, repairableOf, sameEffect, type Effect, type Repairable } from './lww';
import { RepairBook, type Repair } from './repair-book';

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
  /** sink.conflicts: lww, a local write: what it left in this target and the command that re-makes it (lww.ts) */
  lww?: Repairable;
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

/**
 * sink.conflicts: lww, what became of one conflict of overwrites
 * (docs/sink.md "Last write wins"): repaired (the local winner re-made),
 * peer-won (the peer's write wins: arrival order was right), same-value
 * (both left the same), superseded (a later write of the target came first:
 * nothing to repair), redone (a repair overwrote a later local write of the
 * same value; that write is re-made), and the conflicts not repaired:
 * unsupported (not two overwrites of one target describable exactly: mixed
 * key/field writes, RESTORE as the loser, KEEPTTL, other commands),
 * too-large (the local command is past maxRepairBytes), uncertain (what
 * happened to the target since could not be followed: tailing restarted, a
 * pending peer write was dropped), failed (Redis refused, or too many
 * repairs at once).
 */
export type RepairResult = 'repaired' | 'peer-won' | 'same-value' | 'superseded' | 'redone' | 'unsupported' | 'too-large' | 'uncertain' | 'failed';

export const REPAIR_RESULTS: readonly RepairResult[] = ['repaired', 'peer-won', 'same-value', 'superseded', 'redone', 'unsupported', 'too-large', 'uncertain', 'failed'];

/** What the repairer runs (apply/lww-repairer.ts). */
export interface RepairRequest {
  id: number;
  slot: number;
  peer: string;
  key: Buffer;
  field?: Buffer;
  /** what the target must hold for the repair to run */
  expected: Effect;
  argv: Buffer[];
  /** the peer's marker may not be past this address: a later write of the peer would be overwritten */
  bound: { offset: bigint; index: number };
}

export interface LwwOptions {
  /** a local overwrite whose repair command is larger is not kept whole: its conflicts are too-large */
  maxRepairBytes: number;
  /** repairs decided and not ended, at most */
  maxRepairs: number;
  /** a pending peer write not judged within this time is dropped (its marker sat before where tailing restarted) */
  maxPendingAgeMs: number;
  /** a repair was decided (or redone): the repairer calls prepareRepair(id) and then repairDone */
  onRepair: (id: number) => void;
  onResult: (peer: string, result: RepairResult, detail?: Record<string, unknown>) => void;
}

interface Entry {
  last?: WriteRecord;
  lastNonCommutative?: WriteRecord;
  bytes: number;
}

interface PendingTarget {
  key: Buffer;
  field?: Buffer;
  record: WriteRecord;
  /** lww: what the peer's write left in the target (undefined: not describable) */
  effect?: Effect;
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
  /** when it was expected (lww: one never judged within maxPendingAgeMs is dropped, so it holds no commit forever) */
  at: number;
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
  /** sink.conflicts: lww: repair the conflicts the local write wins */
  lww?: LwwOptions;
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
  /** lww: decided repairs until they end */
  private readonly repairs: RepairBook | undefined;
  /** lww: `${slot}/${origin}` -> the last marker value read in the own topic */
  private readonly markerRead = new Map<string, MarkerValue>();
  /** lww: pending events by `${origin}/${peer partition}`, in expect order (commit hold) */
  private readonly pendingByPartition = new Map<string, Set<Pending>>();
  /** lww: `${origin}/${address}` of every pending event: an event is expected once */
  private readonly pendingAddresses = new Set<string>();
  /** lww: `${slot}/${origin}` -> pending events dropped unjudged so far */
  private readonly drops = new Map<string, number>();
  /** own partition -> the last marker event read there: the other events of its transaction follow it */
  private readonly lastMarker = new Map<number, { nodeId: string; replOffset: number; origin: string; value: MarkerValue }>();

  constructor(private readonly o: DetectorOptions) {
    this.repairs = o.lww === undefined ? undefined : new RepairBook(o.lww.maxRepairs);
  }

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
   *
   * With lww, pending events that `keep` accepts stay: the next tailing
   * starts only once they are all expected again (the sink's gate), from
   * `lookbackMs` back, so their markers are read again after them. Repairs
   * not ended are forgotten (uncertain); their peer writes, held from commit,
   * are judged again after a restart.
   */
  reset(keep: (origin: string, peerPartition: number) => boolean = () => false): void {
    for (const p of [...this.pendingBySeq.values()]) {
      if (this.o.lww !== undefined && keep(p.origin, p.address.partition)) continue;
      this.removePending(p);
      this.o.onCheck(p.origin, 'dropped');
    }
    for (const r of this.repairs?.clear() ?? []) if (r.state !== 'ran') this.o.lww?.onResult(r.peer, 'uncertain', { key: r.key, reason: 'conflict detection restarted before the repair ran' });
    this.window.clear();
    this.windowBytes = 0;
    this.horizon.clear();
    this.markerRead.clear();
    this.lastMarker.clear();
  }

  /**
   * lww: the earliest offset of `origin`'s topic partition whose judgment
   * or repair is not settled: the sink commits nothing past it, so that a
   * crash leaves it to be applied (skipped as applied), expected and judged
   * again.
   */
  holdBack(origin: string, partition: number): bigint | undefined {
    if (this.repairs === undefined) return undefined;
    const set = this.pendingByPartition.get(`${origin}/${partition}`);
    const old = Date.now() - (this.o.lww?.maxPendingAgeMs ?? Number.POSITIVE_INFINITY);
    // In expect order, so the oldest first; deleting the entry being visited is safe for a Set.
    for (const p of set ?? []) {
      // Its marker was never read (it sat before where tailing restarted): it cannot be judged any more.
      if (p.at >= old) break;
      this.dropPending(p);
    }
    let min: bigint | undefined;
    for (const p of set ?? []) if (min === undefined || p.address.offset < min) min = p.address.offset;
    const r = this.repairs.oldestUnsettled(origin, partition);
    return r !== undefined && (min === undefined || r < min) ? r : min;
  }

  /** Tailing of an own partition starts at `from`: what came before is past the window. */
  startPartition(partition: number, from: bigint): void {
    if (from > 0n) this.raiseHorizon({ partition, offset: from - 1n, index: Number.MAX_SAFE_INTEGER });
  }

  /**
   * A peer event this sink is about to apply (call before its MULTI is
   * sent). With lww also one it skips as applied already (a restart): its
   * marker is read again, unless tailing has read it already (then it is
   * dropped, never judged twice), and an event already pending is not
   * expected twice.
   */
  expect(event: ChangeEvent, address: EventAddress, commands: Buffer[][] = event.commands): void {
    const lww = this.o.lww !== undefined;
    const id = `${event.slot}/${event.origin}`;
    const addressId = `${event.origin}/${address.partition}:${address.offset}:${address.index}`;
    if (lww) {
      if (this.pendingAddresses.has(addressId)) return;
      const read = this.markerRead.get(id);
      if (read !== undefined && isCoveredBy(read, address.offset, address.index)) {
        this.o.onCheck(event.origin, 'dropped');
        return;
      }
    }
    const stampValue = event.stamp === null || event.stamp === undefined ? null : event.stamp[this.o.localDc] || undefined;
    const p: Pending = { seq: this.seq++, slot: event.slot, origin: event.origin, address, stamp: stampValue, targets: [], bytes: RECORD_OVERHEAD, at: Date.now() };
    // An unknown stamp is never judged against the window; lww still needs its targets (a later write of them supersedes a repair).
    if (stampValue !== null || lww) {
      for (const argv of commands) {
        const targets = writeTargets(argv);
        if (targets.length === 0) continue;
        const record = this.record(event, address, argv, targets[0].cls, commands.length);
        for (const t of targets) {
          const key = Buffer.from(t.key);
          const field = t.field === undefined ? undefined : Buffer.from(t.field);
          const effect = lww ? effectOf(argv, t) : undefined;
          p.targets.push({ key, field, record: t.cls === record.cls ? record : { ...record, cls: t.cls }, effect });
          p.bytes += RECORD_OVERHEAD + key.length + (field?.length ?? 0);
        }
        p.bytes += argBytes(record.argv);
      }
    }
    let list = this.pending.get(id);
    if (list === undefined) this.pending.set(id, (list = []));
    list.push(p);
    this.pendingBySeq.set(p.seq, p);
    this.pendingBytesHeld += p.bytes;
    if (lww) {
      this.pendingAddresses.add(addressId);
      const part = `${p.origin}/${p.address.partition}`;
      let set = this.pendingByPartition.get(part);
      if (set === undefined) this.pendingByPartition.set(part, (set = new Set()));
      set.add(p);
    }
    while (this.pendingBytesHeld > this.o.maxPendingBytes && this.pendingBySeq.size > 1) this.dropPending(this.pendingBySeq.values().next().value as Pending);
  }

  /** A pending event that will never be judged: counted; with lww, repairs of its slot decided since become uncertain. */
  private dropPending(p: Pending): void {
    this.removePending(p);
    if (this.o.lww !== undefined) this.drops.set(`${p.slot}/${p.origin}`, (this.drops.get(`${p.slot}/${p.origin}`) ?? 0) + 1);
    this.o.onCheck(p.origin, 'dropped');
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
      if (marker !== undefined) {
        this.lastMarker.set(address.partition, { nodeId: event.nodeId, replOffset: event.replOffset, origin: event.origin, value: marker });
        this.judge(event.slot, event.origin, marker, address);
      }
      return;
    }
    if (event.kind !== 'command' && event.kind !== 'transaction') return;
    if (event.origin !== this.o.localDc) {
      if (this.repairs !== undefined) this.readBackRepairs(event, address);
      return;
    }
    const maxRepairBytes = this.o.lww?.maxRepairBytes;
    for (const argv of event.commands) {
      const targets = writeTargets(argv);
      if (targets.length === 0) continue;
      const record = this.record(event, address, argv, targets[0].cls, event.commands.length);
      for (const t of targets) {
        let w = t.cls === record.cls ? record : { ...record, cls: t.cls };
        if (maxRepairBytes !== undefined) {
          w = { ...w, lww: repairableOf(argv, t, maxRepairBytes) };
          this.localWriteOf(t.key, t.field, w);
        }
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
    entry.bytes = RECORD_OVERHEAD + id.length + (entry.last ? RECORD_OVERHEAD + argBytes(entry.last.argv) + repairBytes(entry.last.lww) : 0);
    if (entry.lastNonCommutative !== undefined && entry.lastNonCommutative !== entry.last) {
      entry.bytes += RECORD_OVERHEAD + argBytes(entry.lastNonCommutative.argv) + repairBytes(entry.lastNonCommutative.lww);
    }
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
    if (this.o.lww !== undefined) {
      this.pendingAddresses.delete(`${p.origin}/${p.address.partition}:${p.address.offset}:${p.address.index}`);
      const part = `${p.origin}/${p.address.partition}`;
      const set = this.pendingByPartition.get(part);
      set?.delete(p);
      if (set?.size === 0) this.pendingByPartition.delete(part);
    }
  }

  private judge(slot: number, origin: string, marker: MarkerValue, own: EventAddress): void {
    const id = `${slot}/${origin}`;
    if (this.o.lww !== undefined) this.markerRead.set(id, marker);
    const list = this.pending.get(id);
    if (list === undefined) return;
    let n = 0;
    while (n < list.length && isCoveredBy(marker, list[n].address.offset, list[n].address.index)) n++;
    if (n === 0) return;
    for (const p of list.slice(0, n)) {
      this.removePending(p);
      this.o.onCheck(origin, this.check(p, own));
    }
  }

  private check(p: Pending, own: EventAddress): CheckResult {
    const ownPartition = own.partition;
    // A peer write applied here after a repair was decided: it is the later write of its target.
    if (this.repairs !== undefined) for (const t of p.targets) for (const r of this.repairs.touching(t.key, t.field)) r.superseded = true;
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
    if (found && this.o.lww !== undefined) {
      // One decision per target, on the event's last write of it (what the event left there).
      const last = new Map<string, PendingTarget>();
      for (const t of p.targets) last.set(targetId(t.key, t.field), t);
      for (const t of last.values()) this.decide(p, t, own, after);
    }
    if (found) return 'concurrent';
    if (p.targets.length === 0) return 'not-judged';
    const h = this.horizon.get(ownPartition);
    // The stamp saw less than what the window forgot: a forgotten local write may have been after it.
    if (h !== undefined && (seen === undefined || !isCoveredBy(seen, h.offset, h.index))) return 'past-window';
    return 'causal';
  }

  /**
   * lww: a conflict of the peer write `t` (of `p`) judged at `own`. The
   * local write that decides is the target's last one: what the DC held
   * before the peer write was applied, and what the peer DC ends with of
   * this DC's writes. When it wins, the peer write was applied last here and
   * left the target wrong: a repair re-makes the local write.
   */
  private decide(p: Pending, t: PendingTarget, own: EventAddress, after: (w: WriteRecord | undefined) => w is WriteRecord): void {
    const lww = this.o.lww!;
    const same = this.window.get(targetId(t.key, t.field))?.last;
    const other = t.field === undefined ? this.window.get(fieldsOf(t.key))?.last : this.window.get(targetId(t.key))?.last;
    const mixed = after(other) && conflicting(other.cls, t.record.cls);
    const concurrent = after(same) && conflicting(same.cls, t.record.cls);
    if (!concurrent && !mixed) return;
    const detail = { key: t.key, field: t.field, slot: p.slot };
    if (mixed || !concurrent) return lww.onResult(p.origin, 'unsupported', { ...detail, reason: 'a whole-key write and a hash-field write of one key' });
    if (!localWins(same, t.record)) return lww.onResult(p.origin, 'peer-won');
    const rep = same.lww;
    if (rep === undefined || rep === 'unsupported' || t.effect === undefined) {
      return lww.onResult(p.origin, 'unsupported', { ...detail, reason: 'not two overwrites whose result can be said exactly', local: same.argv[0]?.toString('latin1'), peerCommand: t.record.argv[0]?.toString('latin1') });
    }
    if (rep === 'too-large') return lww.onResult(p.origin, 'too-large', { ...detail, maxRepairBytes: lww.maxRepairBytes });
    if (rep.effect !== undefined && sameEffect(rep.effect, t.effect)) return lww.onResult(p.origin, 'same-value');
    this.startRepair({ slot: p.slot, peer: p.origin, key: t.key, field: t.field, judgedAt: own, peerAddress: p.address, expected: t.effect, winner: same, argv: rep.argv, effect: rep.effect, dropsAt: 0 });
  }

  private startRepair(r: Omit<Repair, 'id' | 'state' | 'superseded'>): void {
    const lww = this.o.lww!;
    const added = this.repairs!.add({ ...r, state: 'deciding', superseded: false, dropsAt: this.drops.get(`${r.slot}/${r.peer}`) ?? 0 });
    if (added === undefined) return lww.onResult(r.peer, 'failed', { key: r.key, reason: `more than ${lww.maxRepairs} repairs at once` });
    lww.onRepair(added.id);
  }

  /** lww: a local write of a target, read in the own topic: a repair not sent yet is superseded; one sent may have overwritten it. */
  private localWriteOf(key: Buffer, field: Buffer | undefined, w: WriteRecord): void {
    for (const r of this.repairs!.touching(key, field)) {
      if (r.state === 'deciding') r.superseded = true;
      else r.overtaken = sameTarget(r, key, field) ? w : 'other';
    }
  }

  /**
   * lww: a write of peer origin in the own topic: an apply, or a repair's
   * own write. A repair's write carries the peer's marker at a value not
   * past its bound; an apply of the peer that writes the target after the
   * judgment carries a later one (the bound excluded it) or superseded the
   * repair before it was sent. A repair that a local write overtook (read
   * between the judgment and here) overwrote it: that write is re-made.
   */
  private readBackRepairs(event: ChangeEvent, address: EventAddress): void {
    const m = this.lastMarker.get(address.partition);
    if (m === undefined || m.nodeId !== event.nodeId || m.replOffset !== event.replOffset || m.origin !== event.origin) return;
    for (const argv of event.commands) {
      for (const t of writeTargets(argv)) {
        for (const r of this.repairs!.touching(t.key, t.field)) {
          if (r.peer !== event.origin || r.bound === undefined || r.state === 'deciding') continue;
          if (!sameTarget(r, t.key, t.field) || !coversBound(m.value, r.bound)) continue;
          this.repairs!.delete(r);
          const w = r.overtaken;
          if (w === undefined) continue;
          const rep = w === 'other' ? undefined : w.lww;
          if (w === 'other' || r.effect === undefined || rep === undefined || typeof rep === 'string') {
            this.o.lww!.onResult(r.peer, 'failed', { key: r.key, reason: 'a repair overwrote a later local write of the same value that cannot be re-made' });
            continue;
          }
          this.o.lww!.onResult(r.peer, 'redone', { key: r.key });
          this.startRepair({ slot: r.slot, peer: r.peer, key: r.key, field: r.field, judgedAt: address, peerAddress: r.peerAddress, expected: r.effect, winner: w, argv: rep.argv, effect: rep.effect, dropsAt: 0 });
        }
      }
    }
  }

  /**
   * lww, the repairer before each attempt: the repair to run, with the bound
   * on the peer's marker (the last marker of the peer read here, or the
   * last peer event expected in the slot: none of them writes the target),
   * or why it ends without running.
   */
  prepareRepair(id: number): { request: RepairRequest } | { result: RepairResult; peer: string } | { gone: true } {
    const r = this.repairs?.get(id);
    // Forgotten by a reset, which counted it.
    if (r === undefined) return { gone: true };
    const end = (result: RepairResult) => {
      this.repairs!.delete(r);
      return { result, peer: r.peer };
    };
    if (r.superseded) return end('superseded');
    const slotId = `${r.slot}/${r.peer}`;
    if ((this.drops.get(slotId) ?? 0) !== r.dropsAt) return end('uncertain');
    let bound: { offset: bigint; index: number } | undefined;
    const read = this.markerRead.get(slotId);
    if (read !== undefined) bound = { offset: read.offset, index: read.index ?? Number.MAX_SAFE_INTEGER };
    for (const p of this.pending.get(slotId) ?? []) {
      if (p.targets.some((t) => t.key.equals(r.key) && (t.field === undefined || r.field === undefined || t.field.equals(r.field)))) return end('superseded');
      if (bound === undefined || p.address.offset > bound.offset || (p.address.offset === bound.offset && p.address.index > bound.index)) bound = { offset: p.address.offset, index: p.address.index };
    }
    if (bound === undefined) return end('uncertain');
    r.bound = bound;
    r.state = 'sent';
    return { request: { id, slot: r.slot, peer: r.peer, key: r.key, field: r.field, expected: r.expected, argv: r.argv, bound } };
  }

  /** lww: the repair script answered: it ran (then it waits to be read back), or not (it ends). */
  repairDone(id: number, ran: boolean): void {
    const r = this.repairs?.get(id);
    if (r === undefined) return;
    if (ran) r.state = 'ran';
    else this.repairs!.delete(r);
  }

  /** lww: repairs decided and not ended */
  get repairsOpen(): number {
    return this.repairs?.size ?? 0;
  }

  private raiseHorizon(a: EventAddress): void {
    const h = this.horizon.get(a.partition);
    if (h === undefined || a.offset > h.offset || (a.offset === h.offset && a.index > h.index)) this.horizon.set(a.partition, a);
  }
}

function sameTarget(r: { key: Buffer; field?: Buffer }, key: Buffer, field: Buffer | undefined): boolean {
  return r.key.equals(key) && (r.field === undefined ? field === undefined : field !== undefined && r.field.equals(field));
}

/** Whether a marker value is at or before `bound` (a repair's own write, not a later apply). */
function coversBound(value: MarkerValue, bound: { offset: bigint; index: number }): boolean {
  if (value.offset !== bound.offset) return value.offset < bound.offset;
  return (value.index ?? Number.MAX_SAFE_INTEGER) <= bound.index;
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
