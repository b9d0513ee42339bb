import type { ByteWindow, Walk } from '../byte-window';
import type { BufferReader } from '../encodings/buffer-reader';
import { TandemError } from '../../shared/errors';
import {
  RDB_MODULE_OPCODE_DOUBLE,
  RDB_MODULE_OPCODE_EOF,
  RDB_MODULE_OPCODE_FLOAT,
  RDB_MODULE_OPCODE_SINT,
  RDB_MODULE_OPCODE_STRING,
  RDB_MODULE_OPCODE_UINT,
  RDB_TYPE_MODULE_2,
  RDB_TYPE_MODULE_PRE_GA,
} from '../opcodes';
import { rdbCorrupt } from '../rdb-errors';
import type { RedisTypeCodec } from '../type-codec';

/*
 * RDB_TYPE_MODULE_2 (7):  <len: module id> <module-value>
 * module-value := (<len: opcode> <operand>)* <len: 0 EOF>
 *   1 SINT, 2 UINT: <len>     3 FLOAT: 4 bytes     4 DOUBLE: 8 bytes     5 STRING: <string>
 *
 * Module values are self-describing since RDB 8 exactly so a reader without
 * the module can skip them (module.c, RedisModule_Save* write these opcodes).
 * RDB_TYPE_MODULE_PRE_GA (6) is not self-describing and is rejected.
 *
 * The module id packs a 9-character name (6 bits per char) and a 10-bit encoding version.
 */

/** Only the module is known: its value cannot be read without it. */
export interface ModuleValue {
  type: 'module';
  moduleId: bigint;
  moduleName: string;
}

// The value of a 'module' key, in RdbValue (type-codec.ts); `codec` below registers the type itself.
declare module '../type-codec' { interface RedisTypeValues { module: ModuleValue } }

const MODULE_NAME_CHARSET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function moduleNameOf(moduleId: bigint): string {
  let id = moduleId >> 10n;
  let name = '';
  for (let j = 0; j < 9; j++) {
    name = MODULE_NAME_CHARSET[Number(id & 63n)] + name;
    id >>= 6n;
  }
  return name;
}

/** Walks module opcodes up to and including the EOF opcode. */
export function* walkModuleOpcodes(w: ByteWindow, what: string): Walk {
  for (;;) {
    const at = w.offset;
    const op = yield* w.len(`${what} opcode`);
    switch (op) {
      case RDB_MODULE_OPCODE_EOF:
        return;
      case RDB_MODULE_OPCODE_SINT:
      case RDB_MODULE_OPCODE_UINT:
        yield* w.len(`${what} integer`);
        break;
      case RDB_MODULE_OPCODE_FLOAT:
        yield* w.skip(4, `${what} float`);
        break;
      case RDB_MODULE_OPCODE_DOUBLE:
        yield* w.skip(8, `${what} double`);
        break;
      case RDB_MODULE_OPCODE_STRING:
        yield* w.skipString(`${what} string`);
        break;
      default:
        throw rdbCorrupt(at, `expected a module opcode (0-5) in ${what}, got ${op}`);
    }
  }
}

function* walkModule(w: ByteWindow): Walk {
  yield* w.len('module id');
  yield* walkModuleOpcodes(w, 'module value');
}

/** The value of a module key cannot be decoded without the module: only its id is reported. */
function decodeModule(r: BufferReader, rdbType: number): ModuleValue {
  if (rdbType !== RDB_TYPE_MODULE_2) throw new TandemError('RDB_UNSUPPORTED', `RDB_TYPE_MODULE_PRE_GA (6) values cannot be decoded without the module`);
  const moduleId = r.lenBig('module id');
  for (;;) {
    const at = r.pos;
    const op = r.len('module opcode');
    if (op === RDB_MODULE_OPCODE_EOF) break;
    if (op === RDB_MODULE_OPCODE_SINT || op === RDB_MODULE_OPCODE_UINT) r.lenBig('module integer');
    else if (op === RDB_MODULE_OPCODE_FLOAT) r.fixed(4, 'module float');
    else if (op === RDB_MODULE_OPCODE_DOUBLE) r.fixed(8, 'module double');
    else if (op === RDB_MODULE_OPCODE_STRING) r.string('module string');
    else throw r.corrupt(`expected a module opcode (0-5), got ${op}`, at);
  }
  return { type: 'module', moduleId, moduleName: moduleNameOf(moduleId) };
}

export const codec: RedisTypeCodec<ModuleValue> = {
  name: 'module',
  // The parser refuses RDB_TYPE_MODULE_PRE_GA before walking it; decode refuses it too.
  rdbTypes: [RDB_TYPE_MODULE_PRE_GA, RDB_TYPE_MODULE_2],
  walk: walkModule,
  decode: decodeModule,
  // inspect: null (the fixtures hold no module keys; the value is the module's own).
  inspect: () => null,
  readable: (v) => ({ module: v.moduleName }),
};
