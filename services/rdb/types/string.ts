import type { ByteWindow, Walk } from '../byte-window';
import type { BufferReader } from '../encodings/buffer-reader';
import { RDB_TYPE_STRING } from '../opcodes';
import type { RedisTypeCodec } from '../type-codec';

/*
 * RDB_TYPE_STRING (0):
 *   <string>   plain (length + bytes), int-encoded (11000000/1/2 + int8/16/32) or LZF
 */

export interface StringValue {
  type: 'string';
  value: Buffer;
}

// The value of a 'string' key, in RdbValue (type-codec.ts); `codec` below registers the type itself.
declare module '../type-codec' { interface RedisTypeValues { string: StringValue } }

function* walkString(w: ByteWindow): Walk {
  yield* w.skipString('string value');
}

function decodeString(r: BufferReader): StringValue {
  return { type: 'string', value: r.string('string value') };
}

export const codec: RedisTypeCodec<StringValue> = {
  name: 'string',
  rdbTypes: [RDB_TYPE_STRING],
  walk: walkString,
  decode: decodeString,
  // inspect: base64 of the value.
  inspect: (v) => v.value.toString('base64'),
  readable: (v, arg) => arg(v.value),
};
