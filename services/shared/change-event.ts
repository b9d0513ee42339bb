import type { Type } from 'avsc';
import { TandemError, errorMessage } from './errors';
import { CHANGE_EVENT, CHANGE_EVENT_VERSION, resolverFor, schemaType, schemaVersions, type Resolver } from './schemas';
import { SLOT_COUNT, slotPartition } from './slot';

/**
 * The one event type of Tandem. Its fields are defined by
 * schemas/change-event.v<N>.avsc; this interface mirrors the current version.
 * docs/events.md explains every field, the wire format and the headers.
 */
export type EventKind = 'command' | 'transaction' | 'snapshot' | 'marker' | 'control' | 'expiry' | 'eviction';
/** Every kind; v1 records (change-event.v1.avsc) have only the first five. */
export const EVENT_KINDS: readonly EventKind[] = ['command', 'transaction', 'snapshot', 'marker', 'control', 'expiry', 'eviction'];
/** Deletions the server made itself (DESIGN §5 hazard 2): never applied in a peer as a client's deletion. */
export const SERVER_DELETION_KINDS: readonly EventKind[] = ['expiry', 'eviction'];

export interface ChangeEvent {
  origin: string;
  source: string;
  kind: EventKind;
  /** 0..16383, or -1 for a keyless (control) event. */
  slot: number;
  db: number;
  /** argv lists in execution order, without MULTI/EXEC. */
  commands: Buffer[][];
  replId: string;
  replOffset: number;
  nodeId: string;
  /** ms since the epoch */
  capturedAt: number;
  seq: number;
  flags: string[];
  dedupeKey: string | null;
  /**
   * Format v3: the version vector of the event's slot at capture, peer DC ->
   * address of the last event of that peer applied in the slot (a marker
   * value, `partition:offset:index`); a peer it does not name had nothing
   * applied there (STAMP_NONE says the same). Null or absent when
   * the source did not know it, or for events that are not local keyed
   * writes (docs/events.md "Stamps"). Optional in the type: the schema's
   * default (null) fills it on encode.
   */
  stamp?: SlotStamp | null;
}

/** Peer DC -> the marker value of that peer in the event's slot (absent, or STAMP_NONE: nothing applied). */
export type SlotStamp = Record<string, string>;
/** A stamp entry saying that nothing of that peer had been applied in the slot (readers accept it; the source omits the peer instead). */
export const STAMP_NONE = '';

/** Values of ChangeEvent.flags. Strings on the wire, so adding one needs no schema change. */
export const EVENT_FLAGS = {
  /** A client wrote a `__tandem:` key outside the marker pattern; the sink refuses it. */
  reservedKey: 'reserved-key',
  /** FLUSHALL / FLUSHDB / SWAPDB: in the log for audit, not applied unless the sink opts in. */
  auditOnly: 'audit-only',
  /** FUNCTION LOAD/DELETE/FLUSH/RESTORE: the publisher emits it once per source cluster (dedupeKey). */
  oncePerCluster: 'once-per-cluster',
  /** One slot's part of a transaction whose commands spanned several slots. */
  crossSlotSplit: 'cross-slot-split',
  /** The command was not in the master's COMMAND table when the event was built. */
  unknownCommand: 'unknown-command',
  /** PUBLISH / SPUBLISH, emitted only when enabled. */
  publish: 'publish',
  /**
   * A `snapshot` event carrying one piece of a RESTORE payload too big for one
   * Kafka message, as one command `[key, bytes]`; more pieces or the last one follow.
   * With `rdb-transfer:<id>` and `chunk:<i>` (shared/payload-sequence.ts).
   */
  payloadChunk: 'payload-chunk',
  /**
   * The RESTORE that ends a chunked payload: its payload argument is empty and
   * the reader concatenates the key's preceding `payload-chunk` events of the
   * same RDB transfer into it (shared/payload-sequence.ts).
   */
  payloadLast: 'payload-last',
} as const;

/** slot value of events that belong to no slot. */
export const NO_SLOT = -1;

/**
 * Wire format of a Kafka message value:
 *
 *   byte 0      0x54 ('T'), the Tandem magic: tells our events from anything else
 *               written to the topic (and from Confluent's 0x00-framed Avro)
 *   byte 1      schema version N of change-event.vN.avsc the body was written with
 *   bytes 2..   Avro binary encoding of ChangeEvent under schema vN
 *
 * A reader resolves any version it has in schemas/ to its current one, so old
 * events stay readable after the schema evolves.
 */
export const WIRE_MAGIC = 0x54;
const HEADER_BYTES = 2;

export function encodeChangeEvent(event: ChangeEvent): Buffer {
  const type = schemaType(CHANGE_EVENT, CHANGE_EVENT_VERSION);
  let body: Buffer;
  try {
    body = type.toBuffer(event);
  } catch (err) {
    throw new TandemError('EVENT_ENCODE', `cannot encode ChangeEvent: ${invalidPaths(type, event) ?? errorMessage(err)}`, {
      cause: err,
    });
  }
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out[0] = WIRE_MAGIC;
  out[1] = CHANGE_EVENT_VERSION;
  body.copy(out, HEADER_BYTES);
  return out;
}

/**
 * Decodes a message value. Byte arguments of the result share memory with
 * `buf` (avsc slices, it does not copy), so keep `buf` alive as long as them.
 * Throws TandemError('EVENT_DECODE') for anything that is not a whole, valid event.
 */
export function decodeChangeEvent(buf: Buffer): ChangeEvent {
  if (!Buffer.isBuffer(buf) || buf.length < HEADER_BYTES) {
    throw decodeError(`message value too short (${Buffer.isBuffer(buf) ? buf.length : typeof buf} bytes)`);
  }
  if (buf[0] !== WIRE_MAGIC) {
    throw decodeError(`bad magic byte 0x${buf[0].toString(16).padStart(2, '0')}, expected 0x54 ('T'): not a Tandem event`);
  }
  const version = buf[1];
  const reader = schemaType(CHANGE_EVENT, CHANGE_EVENT_VERSION);
  let event: ChangeEvent;
  try {
    const resolver = version === CHANGE_EVENT_VERSION ? undefined : resolverFrom(version);
    // fromBuffer throws on truncated input and on trailing bytes, so garbage
    // that happens to start with the right two bytes is still refused.
    event = reader.fromBuffer(buf.subarray(HEADER_BYTES), resolver) as ChangeEvent;
  } catch (err) {
    if (err instanceof TandemError) throw err;
    throw decodeError(`invalid Avro body for schema v${version}: ${errorMessage(err)}`, err);
  }
  if (!Number.isInteger(event.slot) || event.slot < NO_SLOT || event.slot >= SLOT_COUNT) {
    throw decodeError(`slot ${event.slot} out of range`);
  }
  if (event.db < 0) throw decodeError(`db ${event.db} is negative`);
  return event;
}

export { encodeChangeEvent as encode, decodeChangeEvent as decode };

function resolverFrom(version: number): Resolver {
  const resolver = resolverFor(CHANGE_EVENT, CHANGE_EVENT_VERSION, version);
  if (resolver !== undefined) return resolver;
  const later = version > CHANGE_EVENT_VERSION ? ' (upgrade the reader)' : '';
  throw decodeError(`written with schema version ${version}; this build reads versions ${schemaVersions(CHANGE_EVENT).join(', ')}${later}`);
}

function decodeError(message: string, cause?: unknown): TandemError {
  return new TandemError('EVENT_DECODE', `cannot decode ChangeEvent: ${message}`, { cause });
}

/** Names the offending fields, e.g. "commands.0.1: expected bytes, got string". */
export function invalidPaths(type: Type, value: unknown): string | undefined {
  const problems: string[] = [];
  type.isValid(value, {
    errorHook: (path, val, t) => {
      problems.push(`${path.join('.') || '(root)'}: expected ${String(t.typeName)}, got ${describe(val)}`);
    },
  });
  return problems.length > 0 ? problems.join('; ') : undefined;
}

function describe(val: unknown): string {
  if (val === null) return 'null';
  if (Buffer.isBuffer(val)) return 'Buffer';
  if (Array.isArray(val)) return 'array';
  return typeof val === 'string' ? `string ${JSON.stringify(val.slice(0, 40))}` : `${typeof val} ${String(val)}`;
}

/**
 * Kafka partition of an event: floor(slot × P / 16384) (DESIGN §2), so a key's
 * whole history is in one partition. Keyless events (slot -1) go to partition 0,
 * the "control partition": they have no key order to keep, and one fixed place
 * lets `tandem audit` find them.
 */
export function eventPartition(event: Pick<ChangeEvent, 'slot'>, partitions: number): number {
  return event.slot === NO_SLOT ? 0 : slotPartition(event.slot, partitions);
}

/**
 * Kafka headers of an event message. They repeat origin, kind and source so a
 * sink can drop foreign-origin events and markers without decoding the value,
 * and carry the schema version for tools that look at headers only.
 */
export const EVENT_HEADERS = {
  origin: 'origin',
  kind: 'kind',
  source: 'source',
  schemaVersion: 'schema-version',
} as const;

/** kafkajs' IHeaders shape (on produce values may be strings; on consume they are Buffers). */
export type KafkaHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

export function changeEventHeaders(event: Pick<ChangeEvent, 'origin' | 'kind' | 'source'>): Record<string, string> {
  return {
    [EVENT_HEADERS.origin]: event.origin,
    [EVENT_HEADERS.kind]: event.kind,
    [EVENT_HEADERS.source]: event.source,
    [EVENT_HEADERS.schemaVersion]: String(CHANGE_EVENT_VERSION),
  };
}

export function headerString(headers: KafkaHeaders, name: string): string | undefined {
  let value = headers[name];
  // kafkajs gives an array when a header name repeats; the first one wins.
  if (Array.isArray(value)) value = value[0];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}
