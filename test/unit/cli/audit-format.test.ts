import { encodeChangeEvent, changeEventHeaders, type ChangeEvent } from '../../../services/shared/change-event';
import { changeRecordHeaders, encodeChangeRecord } from '../../../services/shared/change-record';
import { keySlot } from '../../../services/shared/slot';
import { AuditCollector } from '../../../services/cli/audit/collect';
import { builtinKeys } from '../../../services/cli/audit/command-keys';
import { formatEntry } from '../../../services/cli/audit/format';
import { argJson } from '../../../services/cli/audit/render';
import { crc64 } from '../../../services/rdb/crc64';

const b = (s: string) => Buffer.from(s);
const KEY = 'user:{7}:name';

function event(partial: Partial<ChangeEvent>): ChangeEvent {
  return {
    origin: 'a', source: 'a', kind: 'command', slot: keySlot(KEY), db: 0, commands: [], replId: 'r'.repeat(40), replOffset: 1,
    nodeId: 'n', capturedAt: Date.parse('2024-05-01T12:00:00Z'), seq: 0, flags: [], dedupeKey: null, ...partial,
  };
}

const message = (e: ChangeEvent, offset: number) => ({
  key: null, value: encodeChangeEvent(e), timestamp: String(e.capturedAt), attributes: 0, offset: String(offset), headers: changeEventHeaders(e),
});

/** A string DUMP payload: type 0, length-prefixed value, RDB version 11, CRC64. */
function stringPayload(value: string): Buffer {
  const body = Buffer.concat([Buffer.from([0, value.length]), b(value), Buffer.from([11, 0])]);
  const crc = Buffer.alloc(8);
  crc.writeBigUInt64LE(crc64(body));
  return Buffer.concat([body, crc]);
}

describe('audit: arguments shown readably', () => {
  test('printable UTF-8 as text, anything else as base64, long values cut with their size', () => {
    expect(argJson(b('héllo'))).toBe('héllo');
    expect(argJson(Buffer.from([0, 1, 2]))).toEqual({ base64: 'AAEC' });
    expect(argJson(b('abcdef'), 3)).toEqual({ text: 'abc', bytes: 6, truncated: true });
    expect(argJson(Buffer.from([0, 1, 2, 3]), 2)).toEqual({ base64: 'AAE=', bytes: 4, truncated: true });
  });
});

describe('audit: which events touched the key', () => {
  test('built-in key rules: first argument, multi-key commands, numkeys', () => {
    expect(builtinKeys([b('SET'), b('k'), b('v')]).map(String)).toEqual(['k']);
    expect(builtinKeys([b('DEL'), b('a'), b('b')]).map(String)).toEqual(['a', 'b']);
    expect(builtinKeys([b('MSET'), b('a'), b('1'), b('b'), b('2')]).map(String)).toEqual(['a', 'b']);
    expect(builtinKeys([b('EVAL'), b('s'), b('2'), b('a'), b('b'), b('x')]).map(String)).toEqual(['a', 'b']);
    expect(builtinKeys([b('ZUNIONSTORE'), b('d'), b('2'), b('a'), b('b')]).map(String)).toEqual(['d', 'a', 'b']);
    expect(builtinKeys([b('RENAME'), b('a'), b('b')]).map(String)).toEqual(['a', 'b']);
    // unknown command: every argument may be a key (never miss an event)
    expect(builtinKeys([b('MODULE.CMD'), b('x'), b('y')]).map(String)).toEqual(['x', 'y']);
  });

  test('keeps the commands of the key, in order, skips markers, other keys of the slot and other slots', () => {
    const c = new AuditCollector(b(KEY), keySlot(KEY), builtinKeys, 64);
    const out = [
      message(event({ commands: [[b('SET'), b(KEY), b('v1')]] }), 10),
      message(event({ commands: [[b('SET'), b('user:{7}:other'), b(KEY)]] }), 11), // value equals the key: not a touch
      message(event({ kind: 'marker', origin: 'b', commands: [[b('SET'), b('__tandem:{x}:o:b'), b('0:1')]] }), 12),
      message(event({ kind: 'transaction', origin: 'b', commands: [[b('HSET'), b(KEY), b('f'), b('v')], [b('INCR'), b('user:{7}:n')]] }), 13),
      message(event({ slot: 1, commands: [[b('SET'), b(KEY), b('v')]] }), 14),
    ].flatMap((m) => c.add(3, m));
    expect(out.map((e) => [e.offset, e.origin, e.kind])).toEqual([
      ['10', 'a', 'command'],
      ['13', 'b', 'transaction'],
    ]);
    expect(out[1].commands).toEqual([['HSET', KEY, 'f', 'v']]);
    expect(out[1].otherCommands).toBe(1);
    expect(c.stats.records).toBe(5);
  });

  test('a snapshot RESTORE shows its payload decoded; big-key chunks are assembled', () => {
    const c = new AuditCollector(b(KEY), keySlot(KEY), builtinKeys, 64);
    const payload = stringPayload('hello');
    const [one] = c.add(0, message(event({ kind: 'snapshot', commands: [[b('RESTORE'), b(KEY), b('0'), payload, b('REPLACE')]] }), 1));
    expect(one?.decoded).toEqual({ type: 'string', value: 'hello' });
    expect(c.add(0, message(event({ kind: 'snapshot', flags: ['payload-chunk'], commands: [[b(KEY), payload.subarray(0, 5)]] }), 2))).toEqual([]);
    expect(c.add(0, message(event({ kind: 'snapshot', flags: ['payload-chunk'], commands: [[b(KEY), payload.subarray(5)]] }), 3))).toEqual([]);
    const [big] = c.add(0, message(event({ kind: 'snapshot', flags: ['payload-last'], commands: [[b('RESTORE'), b(KEY), b('0'), Buffer.alloc(0), b('REPLACE')]] }), 4));
    expect(big?.chunks).toBe(2);
    expect(big?.decoded).toEqual({ type: 'string', value: 'hello' });
  });

  test('big-key chunks of a transfer that broke inside the key are never joined to the retry\'s; they are counted', () => {
    const c = new AuditCollector(b(KEY), keySlot(KEY), builtinKeys, 64);
    const payload = stringPayload('hello');
    const chunk = (transfer: string, i: number, bytes: Buffer) => event({ kind: 'snapshot', flags: ['payload-chunk', `rdb-transfer:${transfer}`, `chunk:${i}`], commands: [[b(KEY), bytes]] });
    let offset = 0;
    const add = (e: ChangeEvent) => c.add(0, message(e, ++offset));
    expect(add(chunk('aaaa', 0, payload.subarray(0, 5)))).toEqual([]);
    expect(add(chunk('aaaa', 1, payload.subarray(5, 9)))).toEqual([]); // then the source died
    expect(add(chunk('bbbb', 0, payload.subarray(0, 5)))).toEqual([]);
    expect(add(chunk('bbbb', 1, payload.subarray(5)))).toEqual([]);
    const [big] = add(event({ kind: 'snapshot', flags: ['payload-last', 'rdb-transfer:bbbb', 'chunk:2'], commands: [[b('RESTORE'), b(KEY), b('0'), Buffer.alloc(0), b('REPLACE')]] }));
    expect(big?.chunks).toBe(2);
    expect(big?.decoded).toEqual({ type: 'string', value: 'hello' });
    expect(c.stats.abandonedSequences).toBe(1);
    expect(c.stats.lastAbandoned).toBe('2 chunks at 0/1..2 of transfer aaaa (superseded)');
  });

  test('a v2 record of several events: each event that touched the key, with its index in the record', () => {
    const c = new AuditCollector(b(KEY), keySlot(KEY), builtinKeys, 64);
    const events = [
      event({ commands: [[b('SET'), b(KEY), b('v1')]] }),
      event({ kind: 'marker', origin: 'b', commands: [[b('SET'), b('__tandem:{x}:o:b'), b('0:1:0')]] }),
      event({ origin: 'b', kind: 'transaction', commands: [[b('DEL'), b(KEY)]] }),
      event({ commands: [[b('SET'), b('user:{7}:other'), b('x')]] }),
    ];
    const record = { key: null, value: encodeChangeRecord(events), timestamp: '0', attributes: 0, offset: '77', headers: changeRecordHeaders(events) };
    expect(c.add(3, record).map((e) => [e.offset, e.index, e.origin, e.kind])).toEqual([
      ['77', 0, 'a', 'command'],
      ['77', 2, 'b', 'transaction'],
    ]);
  });

  test('--since/--until select events by capture time inside a record', () => {
    const events = [1000, 2000, 3000].map((t) => event({ capturedAt: t, commands: [[b('INCR'), b(KEY)]] }));
    const record = { key: null, value: encodeChangeRecord(events), timestamp: '3000', attributes: 0, offset: '5', headers: changeRecordHeaders(events) };
    const c = new AuditCollector(b(KEY), keySlot(KEY), builtinKeys, 64, { fromMs: 1500, toMs: 3000 });
    expect(c.add(0, record).map((e) => e.capturedAt)).toEqual([2000]);
  });

  test('human form: one line per event with time, origin, kind, partition/offset and the command', () => {
    const c = new AuditCollector(b(KEY), keySlot(KEY), builtinKeys, 8);
    const [e] = c.add(5, message(event({ commands: [[b('set'), b(KEY), b('a long value with spaces')]] }), 42));
    expect(formatEntry(e)).toBe(`2024-05-01T12:00:00.000Z  a         command      5/42:0        SET "user:{7}"…(13 bytes) "a long v"…(24 bytes)`);
  });
});
