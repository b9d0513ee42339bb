import type { ChangeEvent, SlotStamp } from '../../../../services/shared/change-event';
import { decodeChangeRecord, encodeChangeRecord } from '../../../../services/shared/change-record';
import { markerKey } from '../../../../services/shared/marker';
import { keySlot } from '../../../../services/shared/slot';
import { ConflictDetector, type CheckResult, type RepairResult } from '../../../../services/sink/conflicts/conflict-detector';
import { effectOf, localWins, repairCommandOf, sha1Hex } from '../../../../services/sink/conflicts/lww';
import { writeTargets } from '../../../../services/sink/conflicts/write-class';

/**
 * sink.conflicts: lww (docs/sink.md "Last write wins"): which write wins,
 * what each left in its target, the repair command, and the detector's
 * decisions over the own topic, with every event going through the real
 * record encoding (the bytes the sink reads from Kafka).
 */
const b = (s: string): Buffer => Buffer.from(s);
const argv = (...a: string[]): Buffer[] => a.map(b);
const slot = keySlot('{k}');
const text = (a: Buffer[] | undefined) => a?.map(String);

/** The event as the sink gets it: encoded into a change record and decoded back. */
function viaRecord(e: ChangeEvent): ChangeEvent {
  return decodeChangeRecord(encodeChangeRecord([e]))[0];
}

function event(origin: string, commands: string[][], over: Partial<ChangeEvent> = {}): ChangeEvent {
  return viaRecord({
    origin, source: origin, kind: commands.length > 1 ? 'transaction' : 'command', slot, db: 0, commands: commands.map((c) => argv(...c)),
    replId: 'r', replOffset: 1, nodeId: 'n', capturedAt: 1000, seq: 0, flags: [], dedupeKey: null, stamp: null, ...over,
  });
}

/** DC x's sink with lww; peer y. Capture times: local writes and peer writes say theirs. */
function setup() {
  const results: RepairResult[] = [];
  const checks: CheckResult[] = [];
  const repairs: number[] = [];
  const d = new ConflictDetector({
    localDc: 'x', maxWindowBytes: 1 << 30, maxPendingBytes: 1 << 30, maxValueBytes: 1024,
    onConflict: () => undefined, onCheck: (_o, r) => checks.push(r),
    lww: { maxRepairBytes: 64, maxRepairs: 100, maxPendingAgeMs: 60_000, onRepair: (id) => repairs.push(id), onResult: (_p, r) => results.push(r) },
  });
  d.startPartition(0, 0n);
  let ownOffset = 0n;
  let replOffset = 100;
  const own = (e: ChangeEvent) => d.onOwnEvent(e, { partition: 0, offset: ownOffset++, index: 0 });
  const local = (at: number, ...commands: string[][]) => own(event('x', commands, { capturedAt: at, replOffset: replOffset++ }));
  const marker = (value: string, ro: number) => own(event('y', [['SET', markerKey(slot, 'y'), value]], { kind: 'marker', source: 'x', replOffset: ro }));
  /** y's event at y-topic offset `at` (captured at `t`), expected and applied here: its marker and its write follow in x's topic */
  const applyPeer = (at: number, t: number, stamp: SlotStamp | null, ...commands: string[][]) => {
    const e = event('y', commands, { stamp, capturedAt: t });
    d.expect(e, { partition: 3, offset: BigInt(at), index: 0 });
    const ro = replOffset++;
    marker(`3:${at}:0`, ro);
    own(event('y', commands, { source: 'x', replOffset: ro, capturedAt: 5 }));
  };
  return { d, results, checks, repairs, local, marker, applyPeer, own, nextReplOffset: () => replOffset++ };
}

describe('lww: which write wins, what it left, how it is re-made', () => {
  test('the later capture time wins; a tie goes to the greater DC name', () => {
    expect(localWins({ capturedAt: 10, origin: 'x' }, { capturedAt: 9, origin: 'y' })).toBe(true);
    expect(localWins({ capturedAt: 9, origin: 'x' }, { capturedAt: 10, origin: 'y' })).toBe(false);
    expect(localWins({ capturedAt: 10, origin: 'x' }, { capturedAt: 10, origin: 'y' })).toBe(false);
    expect(localWins({ capturedAt: 10, origin: 'y' }, { capturedAt: 10, origin: 'x' })).toBe(true);
  });

  test('effects and repair commands of the overwrites', () => {
    const of = (...a: string[]) => {
      const c = argv(...a);
      return writeTargets(c).map((t) => [effectOf(c, t), text(repairCommandOf(c, t))]);
    };
    expect(of('SET', 'k', 'v', 'PXAT', '99', 'GET')).toEqual([[{ kind: 'value', sha1: sha1Hex(b('v')) }, ['SET', 'k', 'v', 'PXAT', '99']]]);
    // Conditional writes reach the peer with their condition (Redis rewrites only EX/PX/EXAT to PXAT, dropping NX):
    // the peer may not have made them, so they are neither described nor re-made.
    expect(of('SET', 'k', 'v', 'NX', 'PXAT', '99')).toEqual([[undefined, undefined]]);
    expect(of('SET', 'k', 'v', 'XX')).toEqual([[undefined, undefined]]);
    expect(of('SETNX', 'k', 'v')).toEqual([[undefined, undefined]]);
    expect(of('MSETNX', 'a', '1', 'b', '2')).toEqual([[undefined, undefined], [undefined, undefined]]);
    expect(of('HSETNX', 'h', 'f', '1')).toEqual([[undefined, undefined]]);
    expect(of('SET', 'k', 'v', 'KEEPTTL')).toEqual([[undefined, undefined]]);
    expect(of('SETEX', 'k', '10', 'v')).toEqual([[{ kind: 'value', sha1: sha1Hex(b('v')) }, ['SET', 'k', 'v', 'EX', '10']]]);
    expect(of('GETSET', 'k', 'v')).toEqual([[{ kind: 'value', sha1: sha1Hex(b('v')) }, ['SET', 'k', 'v']]]);
    expect(of('MSET', 'a', '1', 'b', '2')).toEqual([[{ kind: 'value', sha1: sha1Hex(b('1')) }, ['SET', 'a', '1']], [{ kind: 'value', sha1: sha1Hex(b('2')) }, ['SET', 'b', '2']]]);
    expect(of('UNLINK', 'a', 'b')).toEqual([[{ kind: 'absent' }, ['DEL', 'a']], [{ kind: 'absent' }, ['DEL', 'b']]]);
    expect(of('GETDEL', 'a')).toEqual([[{ kind: 'absent' }, ['DEL', 'a']]]);
    expect(of('HSET', 'h', 'f', '1', 'g', '2')).toEqual([[{ kind: 'field', sha1: sha1Hex(b('1')) }, ['HSET', 'h', 'f', '1']], [{ kind: 'field', sha1: sha1Hex(b('2')) }, ['HSET', 'h', 'g', '2']]]);
    expect(of('HDEL', 'h', 'f')).toEqual([[{ kind: 'field-absent' }, ['HDEL', 'h', 'f']]]);
    // RESTORE: re-made with REPLACE, but what it left is no value the sink can compare.
    expect(of('RESTORE', 'k', '0', 'payload')).toEqual([[undefined, ['RESTORE', 'k', '0', 'payload', 'REPLACE']]]);
    expect(of('APPEND', 'k', 'v')).toEqual([[undefined, undefined]]);
  });
});

describe('lww: decisions of the detector', () => {
  test('the local write wins: a repair re-makes it while the key holds the peer value, bounded by the peer marker', () => {
    const { d, local, applyPeer, repairs, results, checks } = setup();
    local(20, ['SET', '{k}a', 'x1']);
    applyPeer(10, 15, {}, ['SET', '{k}a', 'y1']);
    expect(checks).toEqual(['concurrent']);
    expect(repairs).toHaveLength(1);
    const prepared = d.prepareRepair(repairs[0]);
    expect('request' in prepared).toBe(true);
    if (!('request' in prepared)) return;
    expect(text(prepared.request.argv)).toEqual(['SET', '{k}a', 'x1']);
    expect(prepared.request.expected).toEqual({ kind: 'value', sha1: sha1Hex(b('y1')) });
    expect(prepared.request).toMatchObject({ peer: 'y', slot, bound: { offset: 10n, index: 0 } });
    // Settled only once the script answered: until then the peer write's offset is held from commit.
    expect(d.holdBack('y', 3)).toBe(10n);
    d.repairDone(repairs[0], true);
    expect(d.holdBack('y', 3)).toBeUndefined();
    expect(results).toEqual([]);
  });

  test('the peer write wins (later, or a tie and the greater DC name): nothing to repair', () => {
    const { local, applyPeer, repairs, results } = setup();
    local(10, ['SET', '{k}a', 'x1']);
    applyPeer(10, 15, {}, ['SET', '{k}a', 'y1']);
    local(30, ['SET', '{k}b', 'x1']);
    applyPeer(11, 30, {}, ['SET', '{k}b', 'y1']);
    expect(repairs).toEqual([]);
    expect(results).toEqual(['peer-won', 'peer-won']);
  });

  test('both left the same: nothing to repair; a DEL of the peer is checked as absence', () => {
    const { d, local, applyPeer, repairs, results } = setup();
    local(20, ['SET', '{k}a', 'same']);
    applyPeer(10, 15, {}, ['SET', '{k}a', 'same']);
    expect(results).toEqual(['same-value']);
    local(40, ['HSET', '{k}h', 'f', '1']);
    applyPeer(11, 35, {}, ['DEL', '{k}h']);
    expect(results).toEqual(['same-value', 'unsupported']); // a whole-key DEL against a field write
    local(60, ['SET', '{k}c', 'v']);
    applyPeer(12, 55, {}, ['DEL', '{k}c']);
    const p = d.prepareRepair(repairs[0]);
    expect('request' in p && p.request.expected).toEqual({ kind: 'absent' });
  });

  test('a later local write read before the repair is sent supersedes it', () => {
    const { d, local, applyPeer, repairs } = setup();
    local(20, ['SET', '{k}a', 'x1']);
    applyPeer(10, 15, {}, ['SET', '{k}a', 'y1']);
    local(30, ['SET', '{k}a', 'x2']);
    expect(d.prepareRepair(repairs[0])).toEqual({ result: 'superseded', peer: 'y' });
  });

  test('a later peer write of the target already applied (pending) supersedes it; others only raise the bound', () => {
    const { d, local, applyPeer, repairs } = setup();
    local(20, ['SET', '{k}a', 'x1']);
    local(20, ['SET', '{k}b', 'x1']);
    applyPeer(10, 15, {}, ['SET', '{k}a', 'y1']);
    applyPeer(11, 15, {}, ['SET', '{k}b', 'y1']);
    d.expect(event('y', [['SET', '{k}other', 'z']], { stamp: {} }), { partition: 3, offset: 12n, index: 0 });
    d.expect(event('y', [['SET', '{k}a', 'y2']], { stamp: {} }), { partition: 3, offset: 13n, index: 0 });
    expect(d.prepareRepair(repairs[0])).toEqual({ result: 'superseded', peer: 'y' });
    const p = d.prepareRepair(repairs[1]);
    expect('request' in p && p.request.bound).toEqual({ offset: 13n, index: 0 });
  });

  test('a repair that overwrote a later local write of the same value is redone with that write', () => {
    const { d, local, applyPeer, repairs, results, own, marker, nextReplOffset } = setup();
    local(20, ['SET', '{k}a', 'x1']);
    applyPeer(10, 15, {}, ['SET', '{k}a', 'y1']);
    const p = d.prepareRepair(repairs[0]);
    if (!('request' in p)) throw new Error('no request');
    d.repairDone(repairs[0], true);
    // In x's stream: a client writes y1 again (the compare-and-set cannot tell), then the repair's MULTI.
    local(30, ['SET', '{k}a', 'y1']);
    const ro = nextReplOffset();
    marker('3:10:0', ro);
    own(event('y', [['SET', '{k}a', 'x1']], { source: 'x', replOffset: ro }));
    expect(results).toEqual(['redone']);
    expect(repairs).toHaveLength(2);
    const again = d.prepareRepair(repairs[1]);
    expect('request' in again && text(again.request.argv)).toEqual(['SET', '{k}a', 'y1']);
    expect('request' in again && again.request.expected).toEqual({ kind: 'value', sha1: sha1Hex(b('x1')) });
  });

  test('a repair read back with no local write between is done; a later apply of the peer is not taken for it', () => {
    const { d, local, applyPeer, repairs, results } = setup();
    local(20, ['SET', '{k}a', 'x1']);
    applyPeer(10, 15, {}, ['SET', '{k}a', 'y1']);
    d.prepareRepair(repairs[0]);
    d.repairDone(repairs[0], true);
    expect(d.repairsOpen).toBe(1);
    applyPeer(11, 40, {}, ['SET', '{k}b', 'y2']); // marker past the bound: not the repair
    expect(d.repairsOpen).toBe(1);
    local(50, ['SET', '{k}a', 'x3']); // read after the repair was sent: it stays open until its own write is read back
    expect(d.repairsOpen).toBe(1);
    expect(results).toEqual([]);
  });

  test('a local command past maxRepairBytes is too-large; an unknown stamp is judged neither way', () => {
    const { local, applyPeer, results, checks } = setup();
    local(20, ['SET', '{k}a', 'x'.repeat(100)]);
    applyPeer(10, 15, {}, ['SET', '{k}a', 'y1']);
    expect(results).toEqual(['too-large']);
    local(20, ['SET', '{k}b', 'x1']);
    applyPeer(11, 15, null, ['SET', '{k}b', 'y1']);
    expect(checks).toEqual(['concurrent', 'unknown-stamp']);
    expect(results).toEqual(['too-large']);
  });

  test('after a restart, an event skipped as applied is expected once, and dropped if its marker was read already', () => {
    const { d, marker, checks, nextReplOffset } = setup();
    const e = event('y', [['SET', '{k}a', 'y1']], { stamp: {} });
    d.expect(e, { partition: 3, offset: 10n, index: 0 });
    d.expect(e, { partition: 3, offset: 10n, index: 0 });
    expect(d.waiting).toBe(1);
    expect(d.holdBack('y', 3)).toBe(10n);
    marker('3:10:0', nextReplOffset());
    expect(checks).toEqual(['causal']);
    d.expect(e, { partition: 3, offset: 10n, index: 0 });
    expect(checks).toEqual(['causal', 'dropped']);
    expect(d.holdBack('y', 3)).toBeUndefined();
  });

  test('a reset keeps the pending writes of partitions still assigned, and forgets repairs not run (uncertain)', () => {
    const { d, local, applyPeer, repairs, results } = setup();
    local(20, ['SET', '{k}a', 'x1']);
    applyPeer(10, 15, {}, ['SET', '{k}a', 'y1']);
    d.expect(event('y', [['SET', '{k}z', 'y']], { stamp: {} }), { partition: 3, offset: 11n, index: 0 });
    d.expect(event('y', [['SET', '{k}z', 'y']], { stamp: {} }), { partition: 4, offset: 11n, index: 0 });
    d.reset((_origin, partition) => partition === 3);
    expect(d.waiting).toBe(1);
    expect(results).toEqual(['uncertain']);
    expect(d.prepareRepair(repairs[0])).toEqual({ gone: true });
  });
});
