import { TandemError } from '../shared/errors';
import { crc64 } from './crc64';
import { BufferReader } from './encodings/buffer-reader';
import { redisTypeOf } from './opcodes';
import { decodeHash } from './types/hash';
import { decodeList } from './types/list';
import { decodeModule } from './types/module';
import { decodeSet } from './types/set';
import { decodeStream } from './types/stream';
import { decodeString } from './types/string';
import { decodeZset } from './types/zset';
import type { RdbValue } from './value';

export interface DecodedPayload {
  rdbType: number;
  /** RDB version from the payload trailer. */
  rdbVersion: number;
  value: RdbValue;
}

/**
 * Decodes a RESTORE / DUMP payload (<type><value><version u16le><crc64 le>)
 * into a value. Needs the whole payload in memory: use it for inspection,
 * verification and the rewrite fallback, not on the streaming hot path.
 */
export function decodePayload(payload: Buffer, opts: { verifyChecksum?: boolean } = {}): DecodedPayload {
  if (payload.length < 11) {
    throw new TandemError('RDB_CORRUPT', `payload truncated: ${payload.length} bytes, a payload has at least 11`);
  }
  const trailerAt = payload.length - 10;
  const rdbVersion = payload.readUInt16LE(trailerAt);
  if (opts.verifyChecksum ?? true) {
    const stored = payload.readBigUInt64LE(trailerAt + 2);
    const computed = crc64(payload.subarray(0, trailerAt + 2));
    if (stored !== computed) {
      throw new TandemError(
        'RDB_CORRUPT',
        `payload corrupt at byte ${trailerAt + 2}: CRC64 mismatch: payload says 0x${stored.toString(16)}, computed 0x${computed.toString(16)}`,
      );
    }
  }
  const rdbType = payload[0];
  const r = new BufferReader(payload.subarray(0, trailerAt), 1, 'payload');
  const value = decodeValue(r, rdbType);
  r.end('the value');
  return { rdbType, rdbVersion, value };
}

/** Decodes one value of `rdbType` at the reader's position. */
export function decodeValue(r: BufferReader, rdbType: number): RdbValue {
  switch (redisTypeOf(rdbType)) {
    case 'string':
      return decodeString(r);
    case 'list':
      return decodeList(r, rdbType);
    case 'set':
      return decodeSet(r, rdbType);
    case 'zset':
      return decodeZset(r, rdbType);
    case 'hash':
      return decodeHash(r, rdbType);
    case 'stream':
      return decodeStream(r, rdbType);
    case 'module':
      if (rdbType !== 7) throw new TandemError('RDB_UNSUPPORTED', `RDB_TYPE_MODULE_PRE_GA (6) values cannot be decoded without the module`);
      return decodeModule(r);
    default:
      throw r.corrupt(`expected a value type, got ${rdbType}`, r.pos - 1);
  }
}
