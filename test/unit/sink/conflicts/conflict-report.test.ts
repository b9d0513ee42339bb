import { bytesOf, decodeConflictRecord, encodeConflictRecord, CONFLICT_HEADERS } from '../../../../services/shared/conflict-record';
import type { Conflict, WriteRecord } from '../../../../services/sink/conflicts/conflict-detector';
import { conflictRecordOf } from '../../../../services/sink/conflicts/conflict-report';
import { ownPartitionsFor } from '../../../../services/sink/conflicts/own-partitions';

const b = (s: string): Buffer => Buffer.from(s);

function write(origin: string, argv: Buffer[], over: Partial<WriteRecord> = {}): WriteRecord {
  return { origin, source: origin, kind: 'command', address: { partition: 3, offset: 120n, index: 2 }, capturedAt: 1000, cls: 'overwrite', argv, truncated: false, commands: 1, ...over };
}

describe('conflict records: what tandem.<dc>.conflicts holds', () => {
  test('both writes, their origins, topics, addresses, capture times and commands; the peer stamp', () => {
    const c: Conflict = {
      slot: 42,
      key: b('user:1'),
      local: write('b', [b('SET'), b('user:1'), b('vb')], { capturedAt: 2000 }),
      peer: { ...write('a', [b('SET'), b('user:1'), b('va')], { address: { partition: 3, offset: 7n, index: 0 } }), stamp: '3:100:0' },
    };
    const r = conflictRecordOf(c, 'b', 5000);
    expect(r).toEqual({
      format: 1, dc: 'b', peer: 'a', detectedAt: 5000, slot: 42, key: 'user:1', keyEncoding: 'utf8', field: null, fieldEncoding: null,
      local: { origin: 'b', source: 'b', kind: 'command', topic: 'tandem.b.changes', address: '3:120:2', capturedAt: 2000, class: 'overwrite', command: ['SET', 'user:1', 'vb'], encoding: 'utf8', truncated: false, commands: 1 },
      peerWrite: { origin: 'a', source: 'a', kind: 'command', topic: 'tandem.a.changes', address: '3:7:0', capturedAt: 1000, class: 'overwrite', command: ['SET', 'user:1', 'va'], encoding: 'utf8', truncated: false, commands: 1, stamp: '3:100:0' },
    });
    const m = encodeConflictRecord(r, c.key);
    expect(m.key).toEqual(b('user:1'));
    expect(m.headers).toEqual({ [CONFLICT_HEADERS.dc]: 'b', [CONFLICT_HEADERS.peer]: 'a', [CONFLICT_HEADERS.at]: '5000' });
    expect(decodeConflictRecord(Buffer.from(m.value as string))).toEqual(r);
  });

  test('binary keys and values travel as base64, said by their encoding; a hash field; no stamp is null', () => {
    const key = Buffer.from([0xff, 0x00, 0x41]);
    const c: Conflict = {
      slot: 1,
      key,
      field: b('f'),
      local: write('b', [b('HSET'), key, b('f'), Buffer.from([0xc3])]),
      peer: { ...write('a', [b('HDEL'), key, b('f')]), stamp: undefined },
    };
    const r = conflictRecordOf(c, 'b');
    expect(r.keyEncoding).toBe('base64');
    expect(bytesOf(r.key, r.keyEncoding)).toEqual(key);
    expect([r.field, r.fieldEncoding]).toEqual(['f', 'utf8']);
    expect(r.local.encoding).toBe('base64');
    expect(bytesOf(r.local.command[3], r.local.encoding)).toEqual(Buffer.from([0xc3]));
    expect(r.peerWrite.stamp).toBeNull();
  });

  test('a value that is not a conflict record is refused', () => {
    expect(() => decodeConflictRecord(b('{"format":9}'))).toThrow(/not a conflict record/);
    expect(() => decodeConflictRecord(null)).toThrow();
  });
});

describe('own partitions followed for detection', () => {
  const topicP = new Map([['tandem.a.changes', 16], ['tandem.c.changes', 8]]);
  test('the same partitions when the counts agree', () => {
    expect(ownPartitionsFor({ 'tandem.a.changes': [0, 5, 15] }, topicP, 16)).toEqual([0, 5, 15]);
  });
  test('every own partition sharing a slot with an assigned one when they differ', () => {
    expect(ownPartitionsFor({ 'tandem.c.changes': [1] }, topicP, 16)).toEqual([2, 3]);
    expect(ownPartitionsFor({ 'tandem.a.changes': [3] }, topicP, 4)).toEqual([0]);
    expect(ownPartitionsFor({ 'tandem.a.changes': [], 'tandem.x.changes': [1] }, topicP, 16)).toEqual([]);
  });
});
