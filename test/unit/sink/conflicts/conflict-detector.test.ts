import type { ChangeEvent, SlotStamp } from '../../../../services/shared/change-event';
import { markerKey } from '../../../../services/shared/marker';
import { keySlot } from '../../../../services/shared/slot';
import { ConflictDetector, type CheckResult, type Conflict, type DetectorOptions } from '../../../../services/sink/conflicts/conflict-detector';
import { conflicting, writeTargets } from '../../../../services/sink/conflicts/write-class';

const b = (s: string): Buffer => Buffer.from(s);
const argv = (...a: string[]): Buffer[] => a.map(b);
const slot = keySlot('{k}');

function event(origin: string, commands: string[][], over: Partial<ChangeEvent> = {}): ChangeEvent {
  return {
    origin, source: origin, kind: commands.length > 1 ? 'transaction' : 'command', slot, db: 0, commands: commands.map((c) => argv(...c)),
    replId: 'r', replOffset: 1, nodeId: 'n', capturedAt: 1000, seq: 0, flags: [], dedupeKey: null, stamp: null, ...over,
  };
}

/** DC x's sink: peer y's events arrive on y's topic; x's own topic is tailed. */
function setup(maxTargets = 1000, over: Partial<DetectorOptions> = {}) {
  const conflicts: Conflict[] = [];
  const checks: CheckResult[] = [];
  const d = new ConflictDetector({
    localDc: 'x', maxTargets, maxWindowBytes: 1 << 30, maxPendingBytes: 1 << 30, maxValueBytes: 1024,
    onConflict: (c) => conflicts.push(c), onCheck: (_o, r) => checks.push(r), ...over,
  });
  d.startPartition(0, 0n);
  let ownOffset = 0n;
  const local = (...commands: string[][]) => d.onOwnEvent(event('x', commands, { source: 'x' }), { partition: 0, offset: ownOffset++, index: 0 });
  /** y's event at y-topic offset `at`, applied here now: its marker follows in x's topic after what was local so far */
  const applyPeer = (at: number, stamp: SlotStamp | null, ...commands: string[][]) => {
    d.expect(event('y', commands, { stamp }), { partition: 0, offset: BigInt(at), index: 0 });
    d.onOwnEvent(event('y', [['SET', markerKey(slot, 'y'), `0:${at}:0`]], { kind: 'marker', source: 'x' }), { partition: 0, offset: ownOffset++, index: 0 });
  };
  return { d, conflicts, checks, local, applyPeer, own: () => `0:${ownOffset - 1n}:0` };
}

describe('write classes: which writes conflict', () => {
  test('overwrites, commutative updates and others, per key or per hash field', () => {
    const cls = (...a: string[]) => writeTargets(argv(...a)).map((t) => [t.key.toString(), t.field?.toString(), t.cls]);
    expect(cls('SET', 'k', 'v', 'PX', '10')).toEqual([['k', undefined, 'overwrite']]);
    expect(cls('DEL', 'a', 'b')).toEqual([['a', undefined, 'overwrite'], ['b', undefined, 'overwrite']]);
    expect(cls('MSET', 'a', '1', 'b', '2')).toEqual([['a', undefined, 'overwrite'], ['b', undefined, 'overwrite']]);
    expect(cls('HSET', 'h', 'f', '1', 'g', '2')).toEqual([['h', 'f', 'overwrite'], ['h', 'g', 'overwrite']]);
    expect(cls('HINCRBY', 'h', 'f', '1')).toEqual([['h', 'f', 'commutative']]);
    expect(cls('INCRBY', 'c', '5')).toEqual([['c', undefined, 'commutative']]);
    expect(cls('SADD', 's', 'm')).toEqual([['s', undefined, 'commutative']]);
    expect(cls('LPUSH', 'l', 'x')).toEqual([['l', undefined, 'other']]);
    expect(conflicting('commutative', 'commutative')).toBe(false);
    expect(conflicting('commutative', 'overwrite')).toBe(true);
    expect(conflicting('other', 'other')).toBe(true);
  });
});

describe('conflict detector: concurrent means unseen by both', () => {
  test('a peer write whose stamp saw the local write is causal', () => {
    const { local, applyPeer, own, checks, conflicts } = setup();
    local(['SET', '{k}a', 'x1']);
    applyPeer(10, { x: own() }, ['SET', '{k}a', 'y1']);
    expect(checks).toEqual(['causal']);
    expect(conflicts).toEqual([]);
  });

  test('a local write after the stamp and before the apply is concurrent, reported with both writes', () => {
    const { local, applyPeer, checks, conflicts } = setup();
    applyPeer(5, {}, ['SET', '{k}other', '0']); // something, so the own topic has history
    local(['SET', '{k}a', 'x1']);
    applyPeer(10, {}, ['SET', '{k}a', 'y1']);
    expect(checks).toEqual(['causal', 'concurrent']);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0].key.toString()).toBe('{k}a');
    expect(conflicts[0].local.argv.map(String)).toEqual(['SET', '{k}a', 'x1']);
    expect(conflicts[0].peer.argv.map(String)).toEqual(['SET', '{k}a', 'y1']);
  });

  test('a local write after the apply is causal (it saw the peer write)', () => {
    const { local, applyPeer, checks } = setup();
    applyPeer(10, {}, ['SET', '{k}a', 'y1']);
    local(['SET', '{k}a', 'x1']);
    expect(checks).toEqual(['causal']);
  });

  test('commutative pairs never conflict; a commutative and an overwrite do', () => {
    const { local, applyPeer, checks } = setup();
    local(['INCRBY', '{k}c', '1']);
    applyPeer(10, {}, ['INCRBY', '{k}c', '2']);
    local(['SADD', '{k}s', 'm']);
    applyPeer(11, {}, ['SET', '{k}s', 'v']);
    expect(checks).toEqual(['causal', 'concurrent']);
  });

  test('hash fields: different fields do not conflict, the same field and a whole-key DEL do', () => {
    const { local, applyPeer, checks } = setup();
    local(['HSET', '{k}h', 'f', '1']);
    applyPeer(10, {}, ['HSET', '{k}h', 'g', '2']);
    applyPeer(11, {}, ['HSET', '{k}h', 'f', '3']);
    applyPeer(12, {}, ['DEL', '{k}h']);
    expect(checks).toEqual(['causal', 'concurrent', 'concurrent']);
  });

  test('no conflict is asserted on an unknown stamp', () => {
    const { local, applyPeer, checks, conflicts } = setup();
    local(['SET', '{k}a', 'x1']);
    applyPeer(10, null, ['SET', '{k}a', 'y1']);
    expect(checks).toEqual(['unknown-stamp']);
    expect(conflicts).toEqual([]);
  });

  test('a stamp older than what the window dropped is past-window, not causal', () => {
    const { local, applyPeer, checks, d } = setup(2);
    local(['SET', '{k}a', '1']);
    local(['SET', '{k}b', '1']);
    local(['SET', '{k}c', '1']); // drops {k}a
    expect(d.targets).toBe(2);
    applyPeer(10, {}, ['SET', '{k}a', 'y']);
    expect(checks).toEqual(['past-window']);
  });

  test('one marker covering a run of peer events judges each of them', () => {
    const { d, local, checks } = setup();
    local(['SET', '{k}a', 'x']);
    d.expect(event('y', [['SET', '{k}a', 'y1']], { stamp: {} }), { partition: 0, offset: 20n, index: 0 });
    d.expect(event('y', [['SET', '{k}z', 'y2']], { stamp: {} }), { partition: 0, offset: 20n, index: 1 });
    d.expect(event('y', [['SET', '{k}a', 'y3']], { stamp: {} }), { partition: 0, offset: 21n, index: 0 });
    d.onOwnEvent(event('y', [['SET', markerKey(slot, 'y'), '0:20:1']], { kind: 'marker' }), { partition: 0, offset: 50n, index: 0 });
    expect(checks).toEqual(['concurrent', 'causal']);
    expect(d.waiting).toBe(1);
  });

  test('the window is bounded in bytes: the least recently written targets go first, and the horizon rises past them', () => {
    const { local, applyPeer, checks, d } = setup(1000, { maxWindowBytes: 3000 });
    for (let i = 0; i < 100; i++) local(['SET', `{k}key${i}`, 'v'.repeat(100)]);
    expect(d.bytes).toBeLessThanOrEqual(3000);
    expect(d.targets).toBeGreaterThan(0);
    expect(d.targets).toBeLessThan(100);
    applyPeer(10, {}, ['SET', '{k}key0', 'y']); // dropped long ago: unknown whether it was after the stamp
    applyPeer(11, {}, ['SET', '{k}key99', 'y']); // still there, after the stamp
    expect(checks).toEqual(['past-window', 'concurrent']);
  });

  test('kept commands are copies cut at maxValueBytes, flagged truncated', () => {
    const { local, applyPeer, conflicts } = setup(1000, { maxValueBytes: 4 });
    applyPeer(5, {}, ['SET', '{k}other', '0']);
    local(['SET', '{k}a', 'local-value']);
    applyPeer(10, {}, ['SET', '{k}a', 'peer-value']);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0].local.argv.map(String)).toEqual(['SET', '{k}a', 'loca']);
    expect(conflicts[0].local.truncated).toBe(true);
    expect(conflicts[0].peer.argv.map(String)).toEqual(['SET', '{k}a', 'peer']);
    expect(conflicts[0].peer.stamp).toBeUndefined();
  });

  test('pending peer events are bounded in bytes: the oldest is dropped, counted, never judged at a later marker', () => {
    const { d, checks } = setup(1000, { maxPendingBytes: 2000 });
    for (let i = 0; i < 20; i++) d.expect(event('y', [['SET', `{k}p${i}`, 'v'.repeat(50)]], { stamp: {} }), { partition: 0, offset: BigInt(i), index: 0 });
    expect(d.pendingBytes).toBeLessThanOrEqual(2000);
    expect(d.waiting).toBeLessThan(20);
    expect(checks.every((c) => c === 'dropped')).toBe(true);
    expect(checks.length + d.waiting).toBe(20);
  });

  test('a cancelled event (skipped as already applied, or rejected) waits for no marker', () => {
    const { d, checks } = setup();
    const e = event('y', [['SET', '{k}a', 'y']], { stamp: {} });
    d.expect(e, { partition: 0, offset: 7n, index: 0 });
    d.cancel(e, { partition: 0, offset: 7n, index: 0 });
    expect(d.waiting).toBe(0);
    d.onOwnEvent(event('y', [['SET', markerKey(slot, 'y'), '0:9:0']], { kind: 'marker' }), { partition: 0, offset: 3n, index: 0 });
    expect(checks).toEqual([]);
  });

  test('reset counts what was pending as dropped and forgets the window', () => {
    const { d, local, checks } = setup();
    local(['SET', '{k}a', 'x']);
    d.expect(event('y', [['SET', '{k}a', 'y']], { stamp: {} }), { partition: 0, offset: 1n, index: 0 });
    d.reset();
    expect(checks).toEqual(['dropped']);
    expect([d.targets, d.waiting, d.bytes, d.pendingBytes]).toEqual([0, 0, 0, 0]);
  });
});
