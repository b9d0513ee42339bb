import type { ByteWindow, Walk } from './byte-window';
import { redisTypeOf } from './opcodes';
import { hex, rdbCorrupt } from './rdb-errors';
import { walkHash } from './types/hash';
import { walkList } from './types/list';
import { walkModule } from './types/module';
import { walkSet } from './types/set';
import { walkStream } from './types/stream';
import { walkString } from './types/string';
import { walkZset } from './types/zset';

/**
 * Walks one value of type `rdbType` to its last byte without decoding it:
 * only lengths are read, string bodies are skipped piecewise. This is all the
 * parser needs to cut a RESTORE payload out of the stream.
 */
export function* walkValue(w: ByteWindow, rdbType: number, at: number): Walk {
  switch (redisTypeOf(rdbType)) {
    case 'string':
      return yield* walkString(w);
    case 'list':
      return yield* walkList(w, rdbType);
    case 'set':
      return yield* walkSet(w, rdbType);
    case 'zset':
      return yield* walkZset(w, rdbType);
    case 'hash':
      return yield* walkHash(w, rdbType);
    case 'stream':
      return yield* walkStream(w, rdbType);
    case 'module':
      return yield* walkModule(w);
    default:
      throw rdbCorrupt(at, `expected a value type, got ${hex(rdbType)}`);
  }
}
