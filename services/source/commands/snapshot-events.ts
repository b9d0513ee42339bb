/**
 * Snapshot events: one per RDB key (DESIGN §2 "RDB"), carrying
 *
 *   RESTORE key ttl payload REPLACE ABSTTL [IDLETIME seconds | FREQ frequency]
 *
 * ttl is the absolute expiry in unix ms, or 0 for none (ABSTTL makes 0 mean
 * "no expiry" as well, so one shape serves both). Redis refuses IDLETIME and
 * FREQ together (cluster.c restoreCommand), and an RDB carries at most one of
 * them per key, depending on the master's maxmemory-policy.
 *
 * RDB keys under the reserved prefix follow the streaming rules: a marker key
 * becomes a `marker` event with the marker's origin (sinks drop it), any other
 * `__tandem:` key is flagged reserved-key (sinks refuse it).
 */
import { createHash } from 'node:crypto';
import { EVENT_FLAGS, type ChangeEvent } from '../../shared/change-event';
import { TandemError } from '../../shared/errors';
import { isReservedKey, parseMarkerKey } from '../../shared/marker';
import { keySlot } from '../../shared/slot';
import type { LinkContext, SnapshotFunctionItem, SnapshotItem } from './stream-items';

const FUNCTION = Buffer.from('FUNCTION');
const LOAD = Buffer.from('LOAD');

/**
 * A function library of the RDB as the command that loads it. Every
 * master's RDB holds the same libraries: the event is once per cluster, like
 * FUNCTION LOAD itself; REPLACE because the target may have it already.
 */
export function functionLoadArgv(item: SnapshotFunctionItem): Buffer[] {
  return [FUNCTION, LOAD, REPLACE, item.code];
}

/** What every event built from one stream item shares. */
export interface EventStamp {
  source: string;
  link: LinkContext;
  offset: number;
  capturedAt: number;
}

const RESTORE = Buffer.from('RESTORE');
const REPLACE = Buffer.from('REPLACE');
const ABSTTL = Buffer.from('ABSTTL');
const IDLETIME = Buffer.from('IDLETIME');
const FREQ = Buffer.from('FREQ');

export function restoreArgv(item: SnapshotItem): Buffer[] {
  if (!Number.isSafeInteger(item.expireAt) || item.expireAt < 0) {
    throw new TandemError('RDB_CORRUPT', `key ${printable(item.key)}: bad expiry ${item.expireAt}`);
  }
  const argv = [RESTORE, item.key, Buffer.from(String(item.expireAt)), item.payload, REPLACE, ABSTTL];
  if (item.idleSeconds !== undefined && item.freq !== undefined) {
    throw new TandemError('RDB_CORRUPT', `key ${printable(item.key)} has both IDLE and FREQ; RESTORE accepts one`);
  }
  if (item.idleSeconds !== undefined) argv.push(IDLETIME, Buffer.from(String(item.idleSeconds)));
  if (item.freq !== undefined) argv.push(FREQ, Buffer.from(String(item.freq)));
  return argv;
}

export function snapshotEvent(item: SnapshotItem, stamp: EventStamp): ChangeEvent {
  return keyEvent(item.key, item.db, [restoreArgv(item)], stamp);
}

function keyEvent(key: Buffer, db: number, commands: Buffer[][], stamp: EventStamp): ChangeEvent {
  const marker = parseMarkerKey(key);
  const reserved = marker === undefined && isReservedKey(key);
  return {
    origin: marker?.origin ?? stamp.source,
    source: stamp.source,
    kind: marker !== undefined ? 'marker' : 'snapshot',
    slot: keySlot(key),
    db,
    commands,
    replId: stamp.link.replId,
    replOffset: stamp.offset,
    nodeId: stamp.link.nodeId,
    capturedAt: stamp.capturedAt,
    seq: 0,
    flags: reserved ? [EVENT_FLAGS.reservedKey] : [],
    dedupeKey: null,
  };
}

/**
 * dedupeKey of a once-per-cluster command: SHA-256 of its argv, each argument
 * length-prefixed so that ["ab","c"] and ["a","bc"] differ; 32 hex characters.
 * Name and subcommand are lowercased: `function load` and `FUNCTION LOAD` are
 * the same operation.
 */
export function dedupeKeyOf(argv: readonly Buffer[]): string {
  const h = createHash('sha256');
  argv.forEach((arg, i) => {
    const bytes = i < 2 ? Buffer.from(arg.toString('latin1').toLowerCase(), 'latin1') : arg;
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(bytes.length);
    h.update(len).update(bytes);
  });
  return h.digest('hex').slice(0, 32);
}

function printable(key: Buffer): string {
  return JSON.stringify(key.toString('latin1').slice(0, 64));
}
