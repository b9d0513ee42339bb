import { Type } from 'avsc';
import { changeEventHeaders, encodeChangeEvent, STAMP_NONE, type ChangeEvent } from '../../../services/shared/change-event';
import {
  changeRecordHeaders,
  decodeChangeRecord,
  encodeChangeRecord,
  encodeEventBody,
  EventBodyWriter,
  frameRecord,
  readRecordHeaders,
  recordFramingBytes,
} from '../../../services/shared/change-record';
import { CHANGE_BATCH, CHANGE_BATCH_VERSION, loadSchema, schemaType } from '../../../services/shared/schemas';

const b = (s: string): Buffer => Buffer.from(s);

function event(over: Partial<ChangeEvent> = {}): ChangeEvent {
  return {
    origin: 'a', source: 'a', kind: 'command', slot: 866, db: 0,
    commands: [[b('SET'), b('{k}:1'), Buffer.from([0x00, 0xff, 0x0d, 0x0a])]],
    replId: '8d2e8fa5a3c7b8ba4cb5a8b7e3a0b1f2c3d4e5f6', replOffset: 2 ** 40 + 3, nodeId: 'n1',
    capturedAt: 1_732_540_000_123, seq: 0, flags: [], dedupeKey: null, stamp: null, ...over,
  };
}

const plain = (e: ChangeEvent) => ({ ...e, commands: e.commands.map((argv) => argv.map((a) => a.toString('hex'))) });

describe('change record format v3: a batch of events per Kafka record', () => {
  test('round-trips a run of events in order, each with its own origin, kind, slot, time and position', () => {
    const events = [
      event(),
      event({ kind: 'marker', origin: 'b', seq: 0, commands: [[b('SET'), b('__tandem:{x}:o:b'), b('3:10:0')]] }),
      event({ kind: 'transaction', origin: 'b', seq: 1, slot: 867, capturedAt: 1_732_540_000_200, commands: [[b('INCR'), b('c')], [b('DEL'), b('d')]] }),
      event({ kind: 'snapshot', flags: ['payload-chunk'], replOffset: 5, commands: [[b('k'), Buffer.alloc(70_000, 7)]] }),
      event({ kind: 'expiry', commands: [[b('DEL'), b('{k}:ttl')]] }),
      event({ kind: 'eviction', commands: [[b('UNLINK'), b('{k}:lru')]] }),
    ];
    const value = encodeChangeRecord(events);
    expect(value[0]).toBe(0x54);
    expect(value[1]).toBe(CHANGE_BATCH_VERSION);
    expect(decodeChangeRecord(value).map(plain)).toEqual(events.map(plain));
  });

  test('framing pre-encoded bodies gives exactly the Avro encoding of the ChangeBatch schema', () => {
    const events = Array.from({ length: 130 }, (_, i) => event({ seq: i, replOffset: i })); // a count varint of two bytes
    const framed = frameRecord(events.map(encodeEventBody));
    const avro = schemaType(CHANGE_BATCH, CHANGE_BATCH_VERSION).toBuffer({ events });
    expect(framed.subarray(2).equals(avro)).toBe(true);
  });

  test('reads v1 records (one event) as a record of one event', () => {
    const e = event({ kind: 'transaction', commands: [[b('SET'), b('x'), b('1')], [b('INCR'), b('y')]] });
    expect(decodeChangeRecord(encodeChangeEvent(e)).map(plain)).toEqual([plain(e)]);
  });

  test('refuses what is not a whole, valid record, naming the problem', () => {
    const good = encodeChangeRecord([event(), event()]);
    const cases: [Buffer, RegExp][] = [
      [Buffer.from([0x54]), /too short/],
      [Buffer.concat([Buffer.from([0x00]), good.subarray(1)]), /bad magic/],
      [Buffer.concat([Buffer.from([0x54, 9]), good.subarray(2)]), /format version 9.*upgrade the reader/],
      [good.subarray(0, good.length - 3), /invalid Avro body/],
      [Buffer.concat([good, Buffer.from([0])]), /invalid Avro body/],
      [Buffer.from([0x54, CHANGE_BATCH_VERSION, 0x00]), /holds no event/],
      [encodeChangeRecord([event({ slot: 16384 })]), /event 0: slot 16384 out of range/],
    ];
    for (const [buf, message] of cases) {
      expect(() => decodeChangeRecord(buf)).toThrow(expect.objectContaining({ code: 'EVENT_DECODE', message: expect.stringMatching(message) }));
    }
  });

  test('encoding names the offending field', () => {
    const bad = event({ commands: [[b('SET'), 'x' as unknown as Buffer]] });
    expect(() => encodeEventBody(bad)).toThrow(expect.objectContaining({ code: 'EVENT_ENCODE', message: expect.stringMatching(/commands\.0\.1/) }));
  });

  test('headers summarise the record: format version, count, origins and kinds present, source', () => {
    const events = [event(), event({ origin: 'b', kind: 'marker' }), event({ origin: 'b', kind: 'transaction' }), event()];
    const headers = changeRecordHeaders(events);
    expect(headers).toEqual({ 'format-version': '3', count: '4', origins: 'a,b', kinds: 'command,marker,transaction', source: 'a' });
    const consumed = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]));
    expect(readRecordHeaders(consumed)).toEqual({ formatVersion: 3, count: 4, origins: ['a', 'b'], kinds: ['command', 'marker', 'transaction'], source: 'a' });
  });

  test('v1 headers read as a summary of one event; malformed headers are decode errors', () => {
    expect(readRecordHeaders(changeEventHeaders(event({ origin: 'b', kind: 'marker' })))).toEqual({ formatVersion: 1, count: 1, origins: ['b'], kinds: ['marker'], source: 'a' });
    expect(readRecordHeaders(undefined)).toEqual({});
    expect(() => readRecordHeaders({ kinds: 'command,bogus' })).toThrow(expect.objectContaining({ code: 'EVENT_DECODE' }));
    expect(() => readRecordHeaders({ count: '-1' })).toThrow(expect.objectContaining({ code: 'EVENT_DECODE' }));
  });

  test('a reader on a newer batch schema (an added field with a default) reads v3 records', () => {
    const v3 = loadSchema(CHANGE_BATCH, 3) as { fields: { type: { items: { fields: unknown[] } } }[] };
    const next = JSON.parse(JSON.stringify(v3)) as typeof v3;
    next.fields[0].type.items.fields.push({ name: 'later', type: ['null', 'string'], default: null });
    const reader = Type.forSchema(next as never);
    const written = encodeChangeRecord([event({ stamp: { b: '3:10:0' } }), event({ seq: 1 })]).subarray(2);
    const read = reader.fromBuffer(written, reader.createResolver(schemaType(CHANGE_BATCH, 3))) as { events: (ChangeEvent & { later: null })[] };
    expect(read.events.map((e) => [e.seq, e.stamp, e.later])).toEqual([[0, { b: '3:10:0' }, null], [1, null, null]]);
  });
});

describe('format v3: stamps (the slot\'s version vector) on events', () => {
  test('a stamp round-trips: peer -> marker value, "" for none; an event without one reads as null', () => {
    const events = [event({ stamp: { b: '3:10:0', c: STAMP_NONE } }), event({ seq: 1, stamp: null }), event({ seq: 2 })];
    expect(decodeChangeRecord(encodeChangeRecord(events)).map((e) => e.stamp)).toEqual([{ b: '3:10:0', c: '' }, null, null]);
  });

  test('records written in format v2 (no stamp field) are read by this reader, with stamp null', () => {
    const v2 = schemaType(CHANGE_BATCH, 2);
    const events = [event(), event({ kind: 'expiry', seq: 1, commands: [[b('DEL'), b('{k}:ttl')]] })];
    const value = Buffer.concat([Buffer.from([0x54, 2]), v2.toBuffer({ events: events.map(({ stamp: _s, ...e }) => e) })]);
    const read = decodeChangeRecord(value);
    expect(read.map((e) => [e.kind, e.seq, e.stamp])).toEqual([['command', 0, null], ['expiry', 1, null]]);
    expect(read.map(plain)).toEqual(events.map(plain));
  });

  test('v2 headers (format-version 2) still summarise a record', () => {
    expect(readRecordHeaders({ 'format-version': '2', count: '1', origins: 'a', kinds: 'command', source: 'a' })).toEqual({
      formatVersion: 2, count: 1, origins: ['a'], kinds: ['command'], source: 'a',
    });
  });
});

describe('EventBodyWriter: bodies encoded into shared arenas', () => {
  test('gives the same bytes as encodeEventBody, across arena boundaries and for bodies larger than an arena', () => {
    const writer = new EventBodyWriter(1024);
    const events = [
      ...Array.from({ length: 40 }, (_, i) => event({ seq: i, commands: [[b('SET'), b(`k${i}`), Buffer.alloc(i * 7, i)]] })),
      event({ commands: [[b('SET'), b('big'), Buffer.alloc(5000, 1)]] }),
      event({ seq: 99 }),
    ];
    const bodies = events.map((e) => writer.encode(e));
    bodies.forEach((body, i) => expect(body.equals(encodeEventBody(events[i]))).toBe(true));
    expect(decodeChangeRecord(frameRecord(bodies)).map(plain)).toEqual(events.map(plain));
  });

  test('names the offending field', () => {
    const writer = new EventBodyWriter();
    expect(() => writer.encode(event({ commands: [[b('SET'), 'x' as unknown as Buffer]] }))).toThrow(
      expect.objectContaining({ code: 'EVENT_ENCODE', message: expect.stringMatching(/commands\.0\.1/) }),
    );
  });
});

describe('recordFramingBytes', () => {
  test.each([1, 63, 64, 65, 8191, 8192, 100_000, 2 ** 20])('is what frameRecord adds around %d bodies', (n) => {
    // Empty bodies: the record is its framing alone (magic, version, the Avro block count, the end of the array).
    expect(recordFramingBytes(n)).toBe(frameRecord(new Array<Buffer>(n).fill(Buffer.alloc(0))).length);
  });
});
