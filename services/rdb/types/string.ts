import type { ByteWindow, Walk } from '../byte-window';
import type { BufferReader } from '../encodings/buffer-reader';
import type { RdbValue } from '../value';

/*
 * RDB_TYPE_STRING (0):
 *   <string>   plain (length + bytes), int-encoded (11000000/1/2 + int8/16/32) or LZF
 */

export function* walkString(w: ByteWindow): Walk {
  yield* w.skipString('string value');
}

export function decodeString(r: BufferReader): RdbValue {
  return { type: 'string', value: r.string('string value') };
}
