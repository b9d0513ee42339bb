import type { Type } from 'avsc';
import { decodeChangeEvent, EVENT_HEADERS, EVENT_KINDS, headerString, invalidPaths, NO_SLOT, WIRE_MAGIC, type ChangeEvent, type EventKind, type KafkaHeaders } from './change-event';
import { TandemError, errorMessage } from './errors';
import { CHANGE_BATCH, CHANGE_BATCH_VERSION, resolverFor, schemaType, schemaVersions, type Resolver } from './schemas';
import { SLOT_COUNT } from './slot';

/**
 * One Kafka record of `tandem.<dc>.changes` (docs/events.md "Wire format").
 * Since format version 2 a record carries a run of consecutive events of one
 * partition: the cost of the Kafka client is per record, not per byte, so
 * one record per event bounded the whole data path (BENCHMARKS.md).
 *
 *   byte 0      0x54 ('T'), the Tandem magic
 *   byte 1      format version N
 *                 1: the body is one ChangeEvent under change-event.v1.avsc
 *                 2+: the body is a ChangeBatch under change-batch.vN.avsc
 *   bytes 2..   Avro binary body
 *
 * A ChangeBatch is a record whose only field is an array of events, so its
 * Avro encoding is the array's:
 *
 *   batch  = count:long-zigzag-varint *event-body terminator:0x00
 *
 * which lets the publisher encode each event once, when it is appended (its
 * size bounds the buffer and the record), and frame a record by
 * concatenation. An event's address is (partition, record offset, index in
 * the record); a v1 record holds one event, at index 0.
 */
export const RECORD_HEADERS = {
  /** the format version, as byte 1 of the value */
  formatVersion: 'format-version',
  /** the number of events in the record */
  count: 'count',
  /** the distinct origins of the record's events, comma-separated, in first-seen order */
  origins: 'origins',
  /** the distinct kinds of the record's events, comma-separated */
  kinds: 'kinds',
  /** the DC whose cluster emitted the events (the topic's DC) */
  source: 'source',
} as const;

const HEADER_BYTES = 2;

/** The Avro item type of a batch of the version this build writes. */
function eventItemType(): Type {
  return (schemaType(CHANGE_BATCH, CHANGE_BATCH_VERSION) as unknown as { field(name: string): { type: { itemsType: Type } } }).field('events').type
    .itemsType;
}

let itemType: Type | undefined;

/** Avro body of one event as an item of the current batch schema. Throws EVENT_ENCODE naming the bad field. */
export function encodeEventBody(event: ChangeEvent): Buffer {
  itemType ??= eventItemType();
  try {
    return itemType.toBuffer(event);
  } catch (err) {
    throw new TandemError('EVENT_ENCODE', `cannot encode ChangeEvent: ${invalidPaths(itemType, event) ?? errorMessage(err)}`, { cause: err });
  }
}

/**
 * Encodes event bodies into large shared buffers instead of one allocation
 * (zero-filled, then copied: avsc's toBuffer) per event, which was the
 * source's largest cost after the Kafka client. A body is a view of its
 * arena; an arena is freed once no body of it is held.
 */
export class EventBodyWriter {
  private arena: Buffer;
  private pos = 0;

  constructor(private readonly arenaBytes = 1024 * 1024) {
    this.arena = Buffer.allocUnsafe(arenaBytes);
  }

  encode(event: ChangeEvent): Buffer {
    itemType ??= eventItemType();
    for (;;) {
      let end: number;
      try {
        end = itemType.encode(event, this.arena, this.pos);
      } catch (err) {
        throw new TandemError('EVENT_ENCODE', `cannot encode ChangeEvent: ${invalidPaths(itemType, event) ?? errorMessage(err)}`, { cause: err });
      }
      if (end >= 0) {
        const body = this.arena.subarray(this.pos, end);
        this.pos = end;
        return body;
      }
      // avsc returns (arena length - end it needed) when the value did not fit.
      const size = this.arena.length - end - this.pos;
      this.arena = Buffer.allocUnsafe(Math.max(this.arenaBytes, size));
      this.pos = 0;
    }
  }
}

/** Frames pre-encoded event bodies (encodeEventBody) as one record value of the current format. */
export function frameRecord(bodies: readonly Buffer[]): Buffer {
  if (bodies.length === 0) throw new TandemError('EVENT_ENCODE', 'a change record needs at least one event');
  const count = zigzagVarint(bodies.length);
  let size = HEADER_BYTES + count.length + 1;
  for (const b of bodies) size += b.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = WIRE_MAGIC;
  out[1] = CHANGE_BATCH_VERSION;
  let at = HEADER_BYTES + count.copy(out, HEADER_BYTES);
  for (const b of bodies) at += b.copy(out, at);
  out[at] = 0; // end of the Avro array
  return out;
}

/** The framing a record adds to its event bodies (magic, version, count varint, terminator). */
export function recordFramingBytes(count: number): number {
  return HEADER_BYTES + zigzagVarintLength(count) + 1;
}

/** Encodes events as one record value (tools and tests; the publisher frames pre-encoded bodies). */
export function encodeChangeRecord(events: readonly ChangeEvent[]): Buffer {
  return frameRecord(events.map(encodeEventBody));
}

/**
 * The events of one record value, of any format version this build knows.
 * Byte arguments share memory with `buf` (avsc slices). Throws EVENT_DECODE
 * for anything that is not a whole, valid record.
 */
export function decodeChangeRecord(buf: Buffer): ChangeEvent[] {
  if (!Buffer.isBuffer(buf) || buf.length < HEADER_BYTES) {
    throw decodeError(`message value too short (${Buffer.isBuffer(buf) ? buf.length : typeof buf} bytes)`);
  }
  if (buf[0] !== WIRE_MAGIC) {
    throw decodeError(`bad magic byte 0x${buf[0].toString(16).padStart(2, '0')}, expected 0x54 ('T'): not a Tandem record`);
  }
  const version = buf[1];
  if (version === 1) return [{ ...decodeChangeEvent(buf), stamp: null }]; // v1 had no stamp: unknown
  const reader = schemaType(CHANGE_BATCH, CHANGE_BATCH_VERSION);
  let batch: { events: ChangeEvent[] };
  try {
    const resolver = version === CHANGE_BATCH_VERSION ? undefined : resolverFrom(version);
    // fromBuffer refuses truncated input and trailing bytes.
    batch = reader.fromBuffer(buf.subarray(HEADER_BYTES), resolver) as { events: ChangeEvent[] };
  } catch (err) {
    if (err instanceof TandemError) throw err;
    throw decodeError(`invalid Avro body for format v${version}: ${errorMessage(err)}`, err);
  }
  if (batch.events.length === 0) throw decodeError('a change record holds no event');
  for (const [i, e] of batch.events.entries()) {
    if (!Number.isInteger(e.slot) || e.slot < NO_SLOT || e.slot >= SLOT_COUNT) throw decodeError(`event ${i}: slot ${e.slot} out of range`);
    if (e.db < 0) throw decodeError(`event ${i}: db ${e.db} is negative`);
  }
  return batch.events;
}

function resolverFrom(version: number): Resolver {
  const resolver = resolverFor(CHANGE_BATCH, CHANGE_BATCH_VERSION, version);
  if (resolver !== undefined) return resolver;
  const later = version > CHANGE_BATCH_VERSION ? ' (upgrade the reader)' : '';
  throw decodeError(`written with format version ${version}; this build reads versions 1, ${schemaVersions(CHANGE_BATCH).join(', ')}${later}`);
}

/** Kafka headers that summarise a record, so a sink can drop it without decoding. */
export function changeRecordHeaders(events: readonly Pick<ChangeEvent, 'origin' | 'kind' | 'source'>[]): Record<string, string> {
  const origins = new Set<string>();
  const kinds = new Set<string>();
  for (const e of events) {
    origins.add(e.origin);
    kinds.add(e.kind);
  }
  return {
    [RECORD_HEADERS.formatVersion]: String(CHANGE_BATCH_VERSION),
    [RECORD_HEADERS.count]: String(events.length),
    [RECORD_HEADERS.origins]: [...origins].join(','),
    [RECORD_HEADERS.kinds]: [...kinds].join(','),
    [RECORD_HEADERS.source]: events[0]?.source ?? '',
  };
}

/** What a record's headers say; a field is undefined when the headers do not say it (then decode). */
export interface RecordSummary {
  formatVersion?: number;
  count?: number;
  origins?: string[];
  kinds?: EventKind[];
  source?: string;
}

/**
 * Reads the headers of a record of either format (a v1 record carried
 * EVENT_HEADERS, `origin`, `kind` and `schema-version`, for its one event).
 * A malformed header throws EVENT_DECODE, so the record goes to the DLQ
 * rather than being guessed.
 */
export function readRecordHeaders(headers: KafkaHeaders | undefined): RecordSummary {
  const out: RecordSummary = {};
  if (headers === undefined) return out;
  const version = headerString(headers, RECORD_HEADERS.formatVersion) ?? headerString(headers, EVENT_HEADERS.schemaVersion);
  if (version !== undefined) out.formatVersion = decimal(version, 'format-version', 3);
  const source = headerString(headers, RECORD_HEADERS.source);
  if (source !== undefined) out.source = source;
  const origins = headerString(headers, RECORD_HEADERS.origins) ?? headerString(headers, EVENT_HEADERS.origin);
  if (origins !== undefined) out.origins = origins.split(',');
  const kinds = headerString(headers, RECORD_HEADERS.kinds) ?? headerString(headers, EVENT_HEADERS.kind);
  if (kinds !== undefined) {
    out.kinds = kinds.split(',').map((k) => {
      if (!(EVENT_KINDS as readonly string[]).includes(k)) throw decodeError(`unknown kind ${JSON.stringify(k)} in the headers`);
      return k as EventKind;
    });
  }
  const count = headerString(headers, RECORD_HEADERS.count);
  if (count !== undefined) out.count = decimal(count, 'count', 9);
  else if (out.formatVersion === 1) out.count = 1;
  return out;
}

function decimal(text: string, name: string, digits: number): number {
  if (!new RegExp(`^\\d{1,${digits}}$`).test(text)) throw decodeError(`bad ${name} header ${JSON.stringify(text)}`);
  return Number(text);
}

function zigzagVarint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n * 2; // zigzag of a non-negative long
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** The length of zigzagVarint(n), without building it: the publisher asks for every event it buffers. */
function zigzagVarintLength(n: number): number {
  let length = 1;
  for (let v = n * 2; v >= 0x80; v = Math.floor(v / 0x80)) length++;
  return length;
}

function decodeError(message: string, cause?: unknown): TandemError {
  return new TandemError('EVENT_DECODE', `cannot decode change record: ${message}`, { cause });
}
