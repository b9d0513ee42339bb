import type { ByteWindow, Walk } from './byte-window';
import type { BufferReader } from './encodings/buffer-reader';

/**
 * Everything Tandem knows about one Redis type, for every RDB encoding of it:
 * one object per `types/<type>.ts`, exported as `codec`; `types/index.ts`
 * loads every file of that folder. The parser's walker, the payload decoder,
 * `tandem rdb inspect` and `tandem audit` look a type up there instead of
 * switching on it, so a new Redis type is one new file.
 *
 * `V` is the decoded value, tagged with the TYPE reply (`{type: 'list', …}`);
 * each type file adds it to RedisTypeValues, and the union of all of them is
 * `RdbValue`.
 */
export interface RedisTypeCodec<V extends { type: string }> {
  /** The TYPE reply for keys of this type. */
  readonly name: V['type'];
  /** The RDB_TYPE_* codes (rdb.h) this type is saved as. */
  readonly rdbTypes: readonly number[];
  /**
   * Walks one value saved as `rdbType` to its last byte without decoding it,
   * reading only lengths and skipping string bodies piecewise (the parser's
   * streaming path: it cuts RESTORE payloads with this).
   */
  walk(w: ByteWindow, rdbType: number): Walk;
  /** Decodes one whole value saved as `rdbType` at the reader's position. */
  decode(r: BufferReader, rdbType: number): V;
  /**
   * The value as JSON in the layout of `value` in the fixtures' expected.json
   * (shared/fixtures/rdb/README.md), which `tandem rdb inspect` prints.
   */
  inspect(value: V, rdbVersion: number, rdbType: number): unknown;
  /**
   * The value as `tandem audit` shows it: every Buffer through `arg`, which
   * renders it as text or base64 and cuts it (cli/audit/render.ts).
   */
  readable(value: V, arg: (b: Buffer) => unknown): unknown;
}

/**
 * TYPE reply -> decoded value, one entry per Redis type. Empty here: each
 * `types/<type>.ts` adds its own entry (TypeScript declaration merging,
 * `declare module '../type-codec' { interface RedisTypeValues { … } }`), so
 * the type union grows with the folder like the table does.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging, see above
export interface RedisTypeValues {}

/** A decoded Redis value of any registered type. */
export type RdbValue = RedisTypeValues[keyof RedisTypeValues];
