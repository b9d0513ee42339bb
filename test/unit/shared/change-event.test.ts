import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from 'avsc';
import {
  changeEventHeaders,
  decodeChangeEvent,
  encodeChangeEvent,
  eventPartition,
  EVENT_KINDS,
  SERVER_DELETION_KINDS,
  WIRE_MAGIC,
  type ChangeEvent,
} from '../../../services/shared/change-event';
import { readRecordHeaders } from '../../../services/shared/change-record';
import { TandemError } from '../../../services/shared/errors';
import { CHANGE_EVENT, CHANGE_EVENT_VERSION, schemaType, schemaVersions } from '../../../services/shared/schemas';
import { SLOT_COUNT } from '../../../services/shared/slot';

const b = (s: string): Buffer => Buffer.from(s);
const hex = (commands: Buffer[][]): string[][] => commands.map((argv) => argv.map((a) => a.toString('hex')));

function sampleEvent(over: Partial<ChangeEvent> = {}): ChangeEvent {
  return {
    origin: 'a',
    source: 'b',
    kind: 'transaction',
    slot: 12182,
    db: 0,
    commands: [
      [b('SET'), b('{user:1}:name'), Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x0a, 0x80])],
      [b('PEXPIREAT'), b('{user:1}:name'), b('1700000000000')],
      [b('SET'), Buffer.alloc(0), Buffer.alloc(70_000, 0xab)], // empty key, large binary value
    ],
    replId: '8d2e8fa5a3c7b8ba4cb5a8b7e3a0b1f2c3d4e5f6',
    replOffset: 2 ** 40 + 17,
    nodeId: 'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca',
    capturedAt: 1_732_540_000_123,
    seq: 1,
    flags: ['cross-slot-split'],
    dedupeKey: null,
    ...over,
  };
}

function expectDecodeError(buf: Buffer, message: RegExp): void {
  let caught: unknown;
  try {
    decodeChangeEvent(buf);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TandemError);
  expect((caught as TandemError).code).toBe('EVENT_DECODE');
  expect((caught as TandemError).message).toMatch(message);
}

describe('ChangeEvent Avro encoding', () => {
  it('round-trips every kind of v1 (v2 adds expiry and eviction), binary arguments byte for byte', () => {
    for (const kind of EVENT_KINDS.filter((k) => !SERVER_DELETION_KINDS.includes(k))) {
      const event = sampleEvent({ kind, slot: kind === 'control' ? -1 : 5, dedupeKey: kind === 'control' ? 'abc' : null });
      const decoded = decodeChangeEvent(encodeChangeEvent(event));
      // Compare arguments as hex: jest's deep equality walks big Buffers byte by byte.
      expect({ ...decoded, commands: hex(decoded.commands) }).toEqual({ ...event, commands: hex(event.commands) });
    }
  });

  it('frames the Avro body with the magic byte and the schema version', () => {
    const buf = encodeChangeEvent(sampleEvent());
    expect(buf[0]).toBe(WIRE_MAGIC);
    expect(buf[1]).toBe(CHANGE_EVENT_VERSION);
    const body = schemaType(CHANGE_EVENT, CHANGE_EVENT_VERSION).toBuffer(sampleEvent());
    expect(buf.subarray(2).equals(body)).toBe(true);
  });

  it('refuses to encode an invalid event with EVENT_ENCODE naming the field', () => {
    const bad = sampleEvent({ commands: [[b('SET'), 'k' as unknown as Buffer]] });
    expect(() => encodeChangeEvent(bad)).toThrow(expect.objectContaining({ code: 'EVENT_ENCODE', message: expect.stringMatching(/commands\.0\.1/) }));
  });

  it('keeps the TypeScript interface and the v1 schema in step', () => {
    const fields = (schemaType(CHANGE_EVENT, 1).schema() as { fields: { name: string }[] }).fields.map((f) => f.name);
    expect(fields.sort()).toEqual(Object.keys(sampleEvent()).sort());
  });
});

describe('decoding garbage throws EVENT_DECODE', () => {
  const good = encodeChangeEvent(sampleEvent());

  it('empty and one-byte values', () => {
    expectDecodeError(Buffer.alloc(0), /too short/);
    expectDecodeError(Buffer.from([WIRE_MAGIC]), /too short/);
  });

  it('a value that is not a Tandem event', () => {
    expectDecodeError(Buffer.from('{"json":true}'), /bad magic byte 0x7b/);
    expectDecodeError(Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), good.subarray(2)]), /bad magic byte 0x00/);
  });

  it('an unknown schema version', () => {
    expectDecodeError(Buffer.concat([Buffer.from([WIRE_MAGIC, 9]), good.subarray(2)]), /schema version 9.*upgrade the reader/);
  });

  it('truncated, padded and random bodies', () => {
    expectDecodeError(good.subarray(0, good.length - 10), /invalid Avro body/);
    expectDecodeError(Buffer.concat([good, Buffer.from([1, 2, 3])]), /invalid Avro body/);
    expectDecodeError(Buffer.concat([good.subarray(0, 2), Buffer.from('garbage garbage garbage garbage')]), /invalid Avro body/);
  });

  it('a well-formed body with an impossible slot', () => {
    expectDecodeError(encodeChangeEvent(sampleEvent({ slot: SLOT_COUNT })), /slot 16384 out of range/);
  });
});

describe('schema evolution', () => {
  const v1 = schemaType(CHANGE_EVENT, 1);
  const v2 = Type.forSchema(JSON.parse(readFileSync(join(__dirname, '../../fixtures/schemas/change-event.v2.avsc'), 'utf8')));

  it('the repo holds v1 as the current version', () => {
    expect(schemaVersions(CHANGE_EVENT)).toContain(1);
    expect(CHANGE_EVENT_VERSION).toBe(Math.max(...schemaVersions(CHANGE_EVENT)));
  });

  it('a reader on a newer schema reads events written on v1, filling defaults', () => {
    const written = encodeChangeEvent(sampleEvent()).subarray(2);
    const read = v2.fromBuffer(written, v2.createResolver(v1)) as Record<string, unknown>;
    expect(read.traceId).toBeNull();
    expect(read.priority).toBe(5);
    expect((read.commands as Buffer[][])[0][2].equals(sampleEvent().commands[0][2])).toBe(true);
    expect(read.replOffset).toBe(sampleEvent().replOffset);
  });

  it('a v1 reader still reads events written on the newer schema (the extra fields are skipped)', () => {
    const written = v2.toBuffer({ ...sampleEvent(), traceId: 'abc', priority: 1 });
    const read = v1.fromBuffer(written, v1.createResolver(v2)) as ChangeEvent;
    expect({ ...read, commands: hex(read.commands) }).toEqual({ ...sampleEvent(), commands: hex(sampleEvent().commands) });
  });
});

describe('Kafka headers', () => {
  it('carry origin, kind, source and schema version', () => {
    expect(changeEventHeaders(sampleEvent({ kind: 'marker' }))).toEqual({ origin: 'a', kind: 'marker', source: 'b', 'schema-version': '1' });
  });

  it('read back from consumed Buffers without decoding the value, as a record of one event', () => {
    const consumed = Object.fromEntries(Object.entries(changeEventHeaders(sampleEvent())).map(([k, v]) => [k, Buffer.from(v)]));
    expect(readRecordHeaders(consumed)).toEqual({ formatVersion: 1, count: 1, origins: ['a'], kinds: ['transaction'], source: 'b' });
  });

  it('tolerate missing headers and repeated ones, refuse a bad kind', () => {
    expect(readRecordHeaders(undefined)).toEqual({});
    expect(readRecordHeaders({ origin: [Buffer.from('x'), 'y'] })).toEqual({ origins: ['x'] });
    expect(() => readRecordHeaders({ kind: 'bogus' })).toThrow(expect.objectContaining({ code: 'EVENT_DECODE' }));
  });
});

describe('partition of an event', () => {
  it('is floor(slot × P / 16384), monotone, covering every partition', () => {
    for (const p of [1, 3, 64, 100, 16384]) {
      const seen = new Set<number>();
      const wrong: number[] = [];
      let previous = 0;
      for (let slot = 0; slot < SLOT_COUNT; slot++) {
        const part = eventPartition({ slot }, p);
        if (part !== Math.floor((slot * p) / SLOT_COUNT) || part < previous) wrong.push(slot);
        previous = part;
        seen.add(part);
      }
      expect(wrong).toEqual([]);
      expect(seen.size).toBe(p);
    }
    expect(eventPartition({ slot: 16383 }, 64)).toBe(63);
    expect(eventPartition({ slot: 256 }, 64)).toBe(1);
  });

  it('sends keyless events (slot -1) to partition 0', () => {
    expect(eventPartition({ slot: -1 }, 64)).toBe(0);
  });
});
