/**
 * Parses the reply of Redis `COMMAND` into CommandInfo records (one per
 * command and one per subcommand, e.g. `xgroup|create`).
 *
 * Grammar of one entry (RESP2 array, redis/src/server.c addReplyCommandInfo):
 *
 *   entry       = [ name, arity, flags[], first-key, last-key, step,
 *                   acl-categories[]                   ; 6.0+
 *                   tips[], key-specs[], subcommands[] ; 7.0+ ]
 *   key-spec    = flat map: "notes" str, "flags" [str], "begin_search" bs, "find_keys" fk
 *   bs          = flat map: "type" ("index"|"keyword"|"unknown"), "spec" map
 *                   index:   "index" int
 *                   keyword: "keyword" str, "startfrom" int   ; negative = from the end
 *   fk          = flat map: "type" ("range"|"keynum"|"unknown"), "spec" map
 *                   range:   "lastkey" int, "keystep" int, "limit" int
 *                   keynum:  "keynumidx" int, "firstkey" int, "keystep" int
 *
 * Values may arrive as strings or Buffers (ioredis with or without
 * `callBuffer`), integers as numbers. Redis 6.x replies have no key specs; the
 * legacy first/last/step is then all there is (key-extraction.ts).
 */
import { TandemError } from '../shared/errors';

export type BeginSearch =
  | { type: 'index'; pos: number }
  | { type: 'keyword'; keyword: string; startfrom: number }
  | { type: 'unknown' };

export type FindKeys =
  | { type: 'range'; lastkey: number; keystep: number; limit: number }
  | { type: 'keynum'; keynumidx: number; firstkey: number; keystep: number }
  | { type: 'unknown' };

export interface KeySpec {
  /** lowercased: rw, ro, ow, rm, access, update, insert, delete, not_key, incomplete, variable_flags */
  flags: ReadonlySet<string>;
  beginSearch: BeginSearch;
  findKeys: FindKeys;
}

export interface CommandInfo {
  /** lowercase; subcommands as `container|sub` */
  name: string;
  arity: number;
  /** lowercased command flags: write, readonly, movablekeys, … */
  flags: ReadonlySet<string>;
  firstKey: number;
  lastKey: number;
  step: number;
  /** undefined when the server predates key specs (Redis < 7.0) */
  keySpecs: readonly KeySpec[] | undefined;
  subcommands: ReadonlyMap<string, CommandInfo>;
}

type Reply = unknown;

export function parseCommandReply(reply: Reply): Map<string, CommandInfo> {
  if (!Array.isArray(reply)) throw invalid('COMMAND reply is not an array');
  const table = new Map<string, CommandInfo>();
  for (const entry of reply) {
    // A command removed between the COMMAND call and its reply shows as nil.
    if (entry === null || entry === undefined) continue;
    const info = parseEntry(entry, '');
    table.set(info.name, info);
  }
  return table;
}

function parseEntry(entry: Reply, parent: string): CommandInfo {
  if (!Array.isArray(entry) || entry.length < 6) throw invalid(`COMMAND entry ${describe(entry)} has fewer than 6 fields`);
  const name = str(entry[0]).toLowerCase();
  const where = parent === '' ? name : `${parent} > ${name}`;
  const subcommands = new Map<string, CommandInfo>();
  for (const sub of arr(entry[9] ?? [], `${where} subcommands`)) {
    const info = parseEntry(sub, where);
    subcommands.set(info.name, info);
  }
  return {
    name,
    arity: int(entry[1], `${where} arity`),
    flags: new Set(arr(entry[2], `${where} flags`).map((f) => str(f).toLowerCase())),
    firstKey: int(entry[3], `${where} first key`),
    lastKey: int(entry[4], `${where} last key`),
    step: int(entry[5], `${where} step`),
    keySpecs: entry.length >= 9 ? arr(entry[8], `${where} key specs`).map((s, i) => parseKeySpec(s, `${where} key spec ${i}`)) : undefined,
    subcommands,
  };
}

function parseKeySpec(spec: Reply, where: string): KeySpec {
  const m = pairs(spec, where);
  const bs = pairs(m.get('begin_search') ?? [], `${where} begin_search`);
  const fk = pairs(m.get('find_keys') ?? [], `${where} find_keys`);
  return {
    flags: new Set(arr(m.get('flags') ?? [], `${where} flags`).map((f) => str(f).toLowerCase())),
    beginSearch: parseBeginSearch(bs, where),
    findKeys: parseFindKeys(fk, where),
  };
}

function parseBeginSearch(bs: Map<string, Reply>, where: string): BeginSearch {
  const type = str(bs.get('type') ?? 'unknown');
  const spec = pairs(bs.get('spec') ?? [], `${where} begin_search spec`);
  if (type === 'index') return { type, pos: int(spec.get('index'), `${where} index`) };
  if (type === 'keyword') {
    return { type, keyword: str(spec.get('keyword')), startfrom: int(spec.get('startfrom'), `${where} startfrom`) };
  }
  // 'unknown' (SORT's BY/GET/STORE) and anything a future server invents:
  // extraction then falls back to the per-command logic, as Redis does.
  return { type: 'unknown' };
}

function parseFindKeys(fk: Map<string, Reply>, where: string): FindKeys {
  const type = str(fk.get('type') ?? 'unknown');
  const spec = pairs(fk.get('spec') ?? [], `${where} find_keys spec`);
  if (type === 'range') {
    return {
      type,
      lastkey: int(spec.get('lastkey'), `${where} lastkey`),
      keystep: int(spec.get('keystep'), `${where} keystep`),
      limit: int(spec.get('limit'), `${where} limit`),
    };
  }
  if (type === 'keynum') {
    return {
      type,
      keynumidx: int(spec.get('keynumidx'), `${where} keynumidx`),
      firstkey: int(spec.get('firstkey'), `${where} firstkey`),
      keystep: int(spec.get('keystep'), `${where} keystep`),
    };
  }
  return { type: 'unknown' };
}

/** A RESP2 flat map [k1, v1, k2, v2…] (or a RESP3 map / plain object) as a Map. */
function pairs(value: Reply, where: string): Map<string, Reply> {
  const out = new Map<string, Reply>();
  if (value instanceof Map) {
    for (const [k, v] of value) out.set(str(k), v);
    return out;
  }
  if (!Array.isArray(value)) {
    if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
      for (const [k, v] of Object.entries(value)) out.set(k, v);
      return out;
    }
    throw invalid(`${where}: expected a map, got ${describe(value)}`);
  }
  if (value.length % 2 !== 0) throw invalid(`${where}: odd number of map elements`);
  for (let i = 0; i < value.length; i += 2) out.set(str(value[i]), value[i + 1]);
  return out;
}

function arr(value: Reply, where: string): Reply[] {
  if (!Array.isArray(value)) throw invalid(`${where}: expected an array, got ${describe(value)}`);
  return value;
}

function str(value: Reply): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number') return String(value);
  throw invalid(`expected a string, got ${describe(value)}`);
}

function int(value: Reply, where: string): number {
  const n = typeof value === 'number' ? value : Number(str(value));
  if (!Number.isInteger(n)) throw invalid(`${where}: expected an integer, got ${describe(value)}`);
  return n;
}

function describe(value: Reply): string {
  if (Buffer.isBuffer(value)) return `bytes ${JSON.stringify(value.toString('latin1').slice(0, 40))}`;
  return JSON.stringify(value)?.slice(0, 60) ?? String(value);
}

function invalid(message: string): TandemError {
  return new TandemError('RESP_PROTOCOL', `unexpected COMMAND reply: ${message}`);
}
