import { TandemError } from '../shared/errors';
import { crc64 } from './crc64';
import { BufferReader } from './encodings/buffer-reader';
import { codecOfRdbType, type RdbValue } from './types';

export interface DecodedPayload {
  rdbType: number;
  /** RDB version from the payload trailer. */
  rdbVersion: number;
  value: RdbValue;
}

/**
 * Decodes a RESTORE / DUMP payload (<type><value><version u16le><crc64 le>)
 * into a value. Needs the whole payload in memory: use it for inspection,
 * verification and `tandem audit`, not on the streaming hot path.
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

/** Decodes one value of `rdbType` at the reader's position, with its type's codec (types/<type>.ts). */
export function decodeValue(r: BufferReader, rdbType: number): RdbValue {
  const codec = codecOfRdbType(rdbType);
  if (codec === undefined) throw r.corrupt(`expected a value type, got ${rdbType}`, r.pos - 1);
  return codec.decode(r, rdbType);
}
