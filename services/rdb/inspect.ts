import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { TandemError } from '../shared/errors';
import { decodePayload } from './decode';
import type { RdbKeyHeader } from './events';
import { toInspectValue } from './inspect-value';
import { parseRdb } from './parse-rdb';

export interface InspectOptions {
  /** Keys whose payload is larger are printed without payload and value. Default 512 MiB. */
  maxKeyBytes?: number;
  /** Skip value decoding (faster; payload only). */
  noValues?: boolean;
}

export interface InspectSummary {
  rdbVersion: number;
  bytes: number;
  keys: number;
  keysByType: Record<string, number>;
  dbs: number[];
  functions: number;
  aux: Record<string, string>;
  checksum: string | null;
  elapsedMs: number;
}

const DEFAULT_MAX_KEY_BYTES = 512 * 1024 * 1024;

/**
 * `tandem rdb inspect FILE`: one JSON line per key on `out`
 *   {"db":0,"key":"<base64>","type":"hash","expireAt":-1,"payload":"<base64>","value":...}
 * (value in the fixtures' expected.json layout), then a one-line JSON summary
 * on `err`. Writes respect `out`'s backpressure, so piping to `head` or a slow
 * disk does not buffer the whole file.
 */
export async function inspectRdb(path: string, out: Writable, err: Writable, opts: InspectOptions = {}): Promise<InspectSummary> {
  const started = Date.now();
  const maxKeyBytes = opts.maxKeyBytes ?? DEFAULT_MAX_KEY_BYTES;
  const summary: InspectSummary = { rdbVersion: 0, bytes: 0, keys: 0, keysByType: {}, dbs: [], functions: 0, aux: {}, checksum: null, elapsedMs: 0 };
  const dbs = new Set<number>();
  let chunks: Buffer[] = [];
  let chunkBytes = 0;

  const emit = async (header: RdbKeyHeader, payload: Buffer | null, payloadBytes: number): Promise<void> => {
    summary.keys++;
    summary.keysByType[header.type] = (summary.keysByType[header.type] ?? 0) + 1;
    dbs.add(header.db);
    let value: unknown = null;
    if (payload && !opts.noValues) {
      try {
        const decoded = decodePayload(payload);
        value = toInspectValue(decoded.value, decoded.rdbVersion, decoded.rdbType);
      } catch (e) {
        throw TandemError.wrap('RDB_CORRUPT', `key ${JSON.stringify(header.key.toString('latin1'))} at byte ${header.offset}`, e);
      }
    }
    const line: Record<string, unknown> = {
      db: header.db,
      key: header.key.toString('base64'),
      type: header.type,
      expireAt: header.expireAt,
      payload: payload ? payload.toString('base64') : null,
      value,
    };
    if (!payload) line.payloadBytes = payloadBytes;
    if (header.idle !== undefined) line.idle = header.idle;
    if (header.freq !== undefined) line.freq = header.freq;
    await write(out, `${JSON.stringify(line)}\n`);
  };

  const source = createReadStream(path, { highWaterMark: 1024 * 1024 });
  try {
    for await (const ev of parseRdb(source)) {
      switch (ev.kind) {
        case 'header':
          summary.rdbVersion = ev.version;
          break;
        case 'aux':
          summary.aux[ev.key.toString('utf8')] = ev.value.toString('utf8');
          break;
        case 'function':
          summary.functions++;
          break;
        case 'key':
          await emit(ev, ev.payload, ev.payload.length);
          break;
        case 'key-begin':
          chunks = [];
          chunkBytes = 0;
          break;
        case 'key-chunk':
          chunkBytes += ev.data.length;
          if (chunkBytes <= maxKeyBytes) chunks.push(ev.data);
          else chunks = [];
          break;
        case 'key-end':
          await emit(ev, chunkBytes <= maxKeyBytes ? Buffer.concat(chunks) : null, ev.payloadBytes);
          chunks = [];
          break;
        case 'end':
          summary.bytes = ev.bytes;
          summary.checksum = ev.checksum === null ? null : `0x${ev.checksum.toString(16).padStart(16, '0')}`;
          break;
        default:
          break;
      }
    }
  } finally {
    source.destroy();
  }
  summary.dbs = [...dbs].sort((a, b) => a - b);
  summary.elapsedMs = Date.now() - started;
  await write(err, `${JSON.stringify({ summary: true, ...summary })}\n`);
  return summary;
}

function write(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = stream.write(text, (e) => {
      if (e) reject(e);
    });
    if (ok) resolve();
    else stream.once('drain', () => resolve());
  });
}
