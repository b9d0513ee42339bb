import { TandemError } from '../shared/errors';
import { ByteWindow, NEED_INPUT, type Walk, type Yielded } from './byte-window';
import type { RdbEvent, RdbKeyEvent, RdbKeyHeader } from './events';
import { lzfDecompress } from './lzf';
import * as op from './opcodes';
import { PayloadCapture } from './payload-capture';
import { hex, rdbCorrupt, rdbUnsupported } from './rdb-errors';
import { SmallKeyReader } from './small-key';
import { codecOfRdbType } from './types';
import { moduleNameOf, walkModuleOpcodes } from './types/module';

/*
 * RDB file (rdb.c rdbSaveRio / rdbLoadRioWithLoadingCtx):
 *
 *   "REDIS" <4 ASCII digits: version> item* <0xFF EOF> [<8 bytes: CRC64 LE, RDB >= 5; 0 = disabled>]
 *   item := 0xFA AUX <string> <string>
 *         | 0xFB RESIZEDB <len: db size> <len: expires size>
 *         | 0xFC EXPIRETIME_MS <8 bytes LE>       (applies to the next key)
 *         | 0xFD EXPIRETIME <4 bytes LE seconds>  (applies to the next key)
 *         | 0xFE SELECTDB <len>
 *         | 0xF8 IDLE <len: seconds>  | 0xF9 FREQ <1 byte>   (apply to the next key)
 *         | 0xF7 MODULE_AUX <len: module id> <len: when opcode = 2> <len: when> <module opcodes> 
 *         | 0xF5 FUNCTION2 <string: library code>
 *         | 0xF4 SLOT_INFO <len: slot> <len: slot size> <len: expires slot size>
 *         | <type byte 0-25> <string: key> <value of that type>
 */

export interface RdbParserOptions {
  /**
   * Largest RESTORE payload delivered as one `key` event. Bigger keys stream
   * as key-begin / key-chunk / key-end, so parser memory stays bounded.
   * Default 16 MiB.
   */
  maxInlinePayloadBytes?: number;
  /**
   * Largest string the parser materialises outside values: key names, AUX
   * fields and function library code. Default 64 MiB. A bigger length is
   * reported as RDB_CORRUPT (almost always a corrupt length) instead of being allocated.
   */
  maxStringBytes?: number;
  /** Verify the file's CRC64 at EOF (default true). */
  verifyChecksum?: boolean;
}

/** Yielded by run() when it has filled `batch` with small keys; next() hands them out one by one. */
const BATCH_READY: unique symbol = Symbol('rdb-batch-ready');

export const DEFAULT_MAX_INLINE_PAYLOAD_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_STRING_BYTES = 64 * 1024 * 1024;

/**
 * A push-fed, pull-drained streaming RDB parser. It never touches I/O.
 *
 *   parser.push(chunk); let ev; while ((ev = parser.next())) handle(ev);
 *   ...; parser.end(); drain again.
 *
 * `next()` returns undefined when it needs more input (or when done). Nothing
 * is parsed until the caller asks (except a batch of small keys whose bytes
 * were already pushed), which is how a replication link applies
 * backpressure: it stops reading the socket while it holds an event.
 *
 * Memory bound: the unconsumed input (the last pushed chunk plus at most a
 * few dozen bytes of a split header) + one key's payload up to
 * maxInlinePayloadBytes (beyond that, chunks are handed out as they arrive) +
 * one materialised string up to maxStringBytes + up to MAX_BATCH_KEYS small
 * keys read ahead from the bytes already pushed (small-key.ts; together no
 * more than about the window itself). Independent of RDB size and of the size
 * of any single value.
 */
export class RdbParser {
  private readonly w = new ByteWindow();
  private readonly gen: Generator<Yielded | typeof BATCH_READY, void, void>;
  private readonly capture: PayloadCapture;
  private readonly smallKeys: SmallKeyReader;
  /** Small keys read ahead from bytes already in the window, handed out before anything else. */
  private readonly batch: RdbKeyEvent[] = [];
  private batchPos = 0;
  private readonly maxStringBytes: number;
  private readonly verifyChecksum: boolean;
  private finished = false;
  private failure: unknown;
  /** RDB version from the header; 0 until it is read. */
  version = 0;

  constructor(opts: RdbParserOptions = {}) {
    this.capture = new PayloadCapture(opts.maxInlinePayloadBytes ?? DEFAULT_MAX_INLINE_PAYLOAD_BYTES);
    this.maxStringBytes = opts.maxStringBytes ?? DEFAULT_MAX_STRING_BYTES;
    this.smallKeys = new SmallKeyReader(opts.maxInlinePayloadBytes ?? DEFAULT_MAX_INLINE_PAYLOAD_BYTES, this.maxStringBytes);
    this.verifyChecksum = opts.verifyChecksum ?? true;
    this.gen = this.run();
  }

  /** Hands the parser more bytes. The buffer must not be modified afterwards. */
  push(chunk: Buffer): void {
    if (this.w.ended) throw new TandemError('INTERNAL', 'RdbParser.push() after end()');
    this.w.push(chunk);
  }

  /** Marks the end of input: a parse that still needs bytes now fails as truncated. */
  end(): void {
    this.w.ended = true;
  }

  /** True once the EOF opcode and checksum have been read. */
  get done(): boolean {
    return this.finished;
  }

  /** Bytes of RDB consumed so far. */
  get offset(): number {
    return this.w.offset;
  }

  /** The next event, or undefined when more input is needed (or the RDB is done). */
  next(): RdbEvent | undefined {
    if (this.batchPos < this.batch.length) return this.batch[this.batchPos++];
    if (this.failure !== undefined) throw this.failure;
    if (this.finished) return undefined;
    let r: IteratorResult<Yielded | typeof BATCH_READY, void>;
    try {
      r = this.gen.next();
    } catch (err) {
      this.failure = err;
      throw err;
    }
    if (r.done) {
      this.finished = true;
      return undefined;
    }
    if (r.value === NEED_INPUT) return undefined;
    if (r.value === BATCH_READY) {
      this.batchPos = 1;
      return this.batch[0];
    }
    return r.value;
  }

  /** Bytes pushed after the RDB's end (e.g. the replication stream that follows it). */
  remainder(): Buffer {
    if (!this.finished) throw new TandemError('INTERNAL', 'RdbParser.remainder() before the RDB ended');
    if (this.w.hasIncoming()) this.w.refill();
    return this.w.buf.subarray(this.w.pos);
  }

  private *run(): Generator<Yielded | typeof BATCH_READY, void, void> {
    const w = this.w;
    yield* w.ensure(9, 'the RDB header');
    const magic = w.buf.toString('latin1', w.pos, w.pos + 5);
    if (magic !== 'REDIS') throw rdbCorrupt(0, `expected the magic "REDIS", got ${JSON.stringify(magic)}`);
    const digits = w.buf.toString('latin1', w.pos + 5, w.pos + 9);
    if (!/^\d{4}$/.test(digits)) throw rdbCorrupt(5, `expected a 4-digit RDB version, got ${JSON.stringify(digits)}`);
    const version = Number(digits);
    if (version < op.RDB_MIN_VERSION || version > op.RDB_MAX_VERSION) {
      throw rdbUnsupported(5, `RDB version ${version} (this parser reads ${op.RDB_MIN_VERSION} to ${op.RDB_MAX_VERSION})`);
    }
    w.pos += 9;
    this.version = version;
    yield { kind: 'header', version };

    let db = 0;
    let expireAt = -1;
    let idle: number | undefined;
    let freq: number | undefined;
    for (;;) {
      // Runs of small keys (the bulk of most datasets) go out in batches: one generator step each.
      if (expireAt === -1 && idle === undefined && freq === undefined && this.smallKeys.readBatch(w, db, version, this.batch) > 0) {
        yield BATCH_READY;
      }
      const at = w.offset;
      if (w.avail() < 1) yield* w.ensure(1, 'an opcode or value type');
      const type = w.buf[w.pos++];
      switch (type) {
        case op.RDB_OPCODE_EXPIRETIME_MS:
          if (w.avail() < 8) yield* w.ensure(8, 'an expire time (ms)');
          // Two 32-bit halves instead of readBigInt64LE: no BigInt per key. hi * 2^32 is
          // exact and the sum rounds once, so the result equals Number(BigInt) for any value.
          expireAt = w.buf.readInt32LE(w.pos + 4) * 0x100000000 + w.buf.readUInt32LE(w.pos);
          w.pos += 8;
          break;
        case op.RDB_OPCODE_EXPIRETIME:
          yield* w.ensure(4, 'an expire time (s)');
          expireAt = w.buf.readInt32LE(w.pos) * 1000;
          w.pos += 4;
          break;
        case op.RDB_OPCODE_IDLE:
          idle = yield* w.len('LRU idle time');
          break;
        case op.RDB_OPCODE_FREQ:
          yield* w.ensure(1, 'LFU frequency');
          freq = w.buf[w.pos++];
          break;
        case op.RDB_OPCODE_SELECTDB:
          db = yield* w.len('db number');
          yield { kind: 'selectdb', db };
          break;
        case op.RDB_OPCODE_RESIZEDB: {
          const dbSize = yield* w.len('db size');
          const expiresSize = yield* w.len('expires size');
          yield { kind: 'resizedb', dbSize, expiresSize };
          break;
        }
        case op.RDB_OPCODE_AUX: {
          const key = yield* this.readString('an AUX field name');
          const value = yield* this.readString('an AUX field value');
          yield { kind: 'aux', key, value };
          break;
        }
        case op.RDB_OPCODE_MODULE_AUX: {
          const moduleId = yield* w.lenBig('module aux module id');
          const whenAt = w.offset;
          const whenOpcode = yield* w.len('module aux when opcode');
          if (whenOpcode !== op.RDB_MODULE_OPCODE_UINT) throw rdbCorrupt(whenAt, `expected module aux "when" opcode 2, got ${whenOpcode}`);
          yield* w.len('module aux when');
          yield* walkModuleOpcodes(w, 'module aux data');
          yield { kind: 'module-aux', moduleId, moduleName: moduleNameOf(moduleId) };
          break;
        }
        case op.RDB_OPCODE_FUNCTION2:
          yield { kind: 'function', code: yield* this.readString('function library code') };
          break;
        case op.RDB_OPCODE_FUNCTION_PRE_GA:
          throw rdbUnsupported(at, 'RDB_OPCODE_FUNCTION_PRE_GA (246) from Redis 7.0 release candidates; re-save the RDB with Redis 7.0 GA or later');
        case op.RDB_OPCODE_SLOT_INFO: {
          const slot = yield* w.len('slot info slot id');
          const slotSize = yield* w.len('slot info slot size');
          const expiresSlotSize = yield* w.len('slot info expires slot size');
          yield { kind: 'slot-info', slot, slotSize, expiresSlotSize };
          break;
        }
        case op.RDB_OPCODE_EOF:
          yield* this.readEof(at);
          return;
        default: {
          const codec = codecOfRdbType(type);
          if (codec === undefined) throw rdbCorrupt(at, `expected an opcode or a value type, got ${hex(type)}`);
          if (type === op.RDB_TYPE_MODULE_PRE_GA) {
            throw rdbUnsupported(at, 'RDB_TYPE_MODULE_PRE_GA (6) values (Redis 4.0 release candidates) cannot be skipped without the module');
          }
          const small = this.smallKeys.tryRead(w, type, at, db, expireAt, version);
          if (small !== undefined) {
            if (idle !== undefined) small.idle = idle;
            if (freq !== undefined) small.freq = freq;
            expireAt = -1;
            idle = undefined;
            freq = undefined;
            yield small;
            break;
          }
          const key = yield* this.readString('a key name');
          const header: RdbKeyHeader = { db, key, type: codec.name, rdbType: type, expireAt, offset: at };
          if (idle !== undefined) header.idle = idle;
          if (freq !== undefined) header.freq = freq;
          expireAt = -1;
          idle = undefined;
          freq = undefined;
          this.capture.begin(header);
          w.startCapture(this.capture);
          yield* codec.walk(w, type);
          w.stopCapture();
          yield* this.capture.finish(version);
        }
      }
    }
  }

  private *readEof(at: number): Walk {
    const w = this.w;
    w.flushCrc();
    const computed = w.fileCrc.value();
    let checksum: bigint | null = null;
    if (this.version >= 5) {
      yield* w.ensure(8, 'the RDB checksum');
      const stored = w.buf.readBigUInt64LE(w.pos);
      w.pos += 8;
      // A checksum of 0 means the server ran with rdbchecksum no.
      if (stored !== 0n) {
        checksum = stored;
        if (this.verifyChecksum && stored !== computed) {
          throw new TandemError(
            'RDB_CORRUPT',
            `RDB corrupt at byte ${at + 1}: CRC64 mismatch: file says 0x${stored.toString(16).padStart(16, '0')}, computed 0x${computed
              .toString(16)
              .padStart(16, '0')} over bytes 0-${at}`,
          );
        }
      }
    }
    yield { kind: 'end', version: this.version, checksum, bytes: w.offset };
  }

  /** A string the parser must hold whole (key names, AUX, function code), bounded by maxStringBytes. */
  private *readString(what: string): Walk<Buffer> {
    const w = this.w;
    const at = w.offset;
    while (!w.tryStringHeader(what)) yield* w.more(what);
    if (w.hdrKind === 1) return Buffer.from(String(w.hdrInt));
    const body = w.hdrBody;
    const size = w.hdrKind === 2 ? w.hdrULen : body;
    if (size > this.maxStringBytes || body > this.maxStringBytes) {
      throw rdbCorrupt(at, `${what} of ${size} bytes exceeds maxStringBytes (${this.maxStringBytes}): a corrupt length, or raise the bound`);
    }
    if (w.hdrKind === 0) return yield* w.read(body, what);
    const compressed = yield* w.read(body, what);
    try {
      return lzfDecompress(compressed, size);
    } catch (err) {
      throw TandemError.wrap('RDB_CORRUPT', `RDB corrupt at byte ${at} in ${what}`, err);
    }
  }
}
