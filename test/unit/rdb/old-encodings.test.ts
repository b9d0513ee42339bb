import { decodePayload } from '../../../services/rdb/decode';
import { toInspectValue } from '../../../services/rdb/inspect-value';
import { RdbParser } from '../../../services/rdb/parser';
import { payload, rdbFile, rdbString, ziplist, zipmap } from './old-encoding-builders';

/*
 * Encodings no fixture server writes any more (zipmap, ziplist, quicklist v1,
 * RDB 9), built by hand from their grammars: these pin the decoders' grammar
 * on minimal inputs. The same builders' output, round-tripped through a real
 * Redis 7.0.15 (RESTORE, and an RDB 9 file loaded at startup), is checked in
 * captured-old-encodings.test.ts against what the server read back.
 */

const str = rdbString;
const blob = rdbString;
const value = (p: Buffer): unknown => {
  const d = decodePayload(p);
  return toInspectValue(d.value, d.rdbVersion, d.rdbType);
};
const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('old encodings', () => {
  it('RDB_TYPE_LIST_ZIPLIST (10)', () => {
    expect(value(payload(Buffer.concat([Buffer.from([10]), blob(ziplist(['a', 'bb']))])))).toEqual([b64('a'), b64('bb')]);
  });
  it('RDB_TYPE_LIST_QUICKLIST (14) of ziplists', () => {
    const p = payload(Buffer.concat([Buffer.from([14, 2]), blob(ziplist(['a'])), blob(ziplist(['b', 'c']))]));
    expect(value(p)).toEqual(['a', 'b', 'c'].map(b64));
  });
  it('RDB_TYPE_HASH_ZIPMAP (9)', () => {
    const zm = zipmap([['f', 'v']]);
    expect(zm).toEqual(Buffer.from([1, 1, 0x66, 1, 0, 0x76, 0xff]));
    expect(value(payload(Buffer.concat([Buffer.from([9]), blob(zm)])))).toEqual([[b64('f'), b64('v')]]);
  });
  it('RDB_TYPE_HASH_ZIPLIST (13) and RDB_TYPE_ZSET_ZIPLIST (12)', () => {
    expect(value(payload(Buffer.concat([Buffer.from([13]), blob(ziplist(['f', 'v']))])))).toEqual([[b64('f'), b64('v')]]);
    expect(value(payload(Buffer.concat([Buffer.from([12]), blob(ziplist(['m', '1.5', 'n', '-inf']))])))).toEqual([
      [b64('n'), '-inf'],
      [b64('m'), '1.5'],
    ]);
  });
  it('RDB_TYPE_LIST / SET / ZSET / HASH (1-4)', () => {
    expect(value(payload(Buffer.concat([Buffer.from([1, 2]), str('x'), str('y')])))).toEqual([b64('x'), b64('y')]);
    expect(value(payload(Buffer.concat([Buffer.from([2, 2]), str('y'), str('x')])))).toEqual([b64('x'), b64('y')]);
    expect(value(payload(Buffer.concat([Buffer.from([3, 2]), str('a'), Buffer.from([254]), str('b'), str('0.25')])))).toEqual([
      [b64('b'), '0.25'],
      [b64('a'), 'inf'],
    ]);
    expect(value(payload(Buffer.concat([Buffer.from([4, 1]), str('f'), str('v')])))).toEqual([[b64('f'), b64('v')]]);
  });
  it('parses an RDB 9 file with old types, EXPIRETIME in seconds, and IDLE/FREQ', () => {
    const rdb = rdbFile(9, [], [
      {
        db: 0,
        keys: [
          { key: 'l', body: Buffer.concat([Buffer.from([10]), blob(ziplist(['a']))]), expireSec: 10000, idle: 5 },
          { key: 'h', body: Buffer.concat([Buffer.from([9]), blob(zipmap([['f', 'v']]))]), freq: 7 },
        ],
      },
    ]);
    const parser = new RdbParser();
    parser.push(rdb);
    parser.end();
    const keys = [];
    for (let ev = parser.next(); ev; ev = parser.next()) if (ev.kind === 'key') keys.push(ev);
    expect(keys.map((k) => [k.key.toString(), k.type, k.expireAt, k.idle, k.freq])).toEqual([
      ['l', 'list', 10_000_000, 5, undefined],
      ['h', 'hash', -1, undefined, 7],
    ]);
    expect(decodePayload(keys[0].payload).rdbVersion).toBe(9);
  });
});
