/**
 * Which writes can conflict (docs/sink.md "Conflicts"). Two writes to one
 * target that did not see each other conflict unless both commute.
 *
 * - overwrite: the command sets the target to a value that does not depend
 *   on what it held, so of two concurrent ones, each DC keeps the one it
 *   applied last and the other is lost: SET and its variants (SETEX,
 *   PSETEX, SETNX, GETSET, MSET, MSETNX), DEL, UNLINK, GETDEL, RESTORE,
 *   and per hash field HSET, HMSET, HSETNX, HDEL. These are what `lww` can
 *   order by capture time.
 * - commutative: increments and set additions give the same result in any
 *   order (INCR, INCRBY, DECR, DECRBY, INCRBYFLOAT, HINCRBY, HINCRBYFLOAT
 *   per field, ZINCRBY, SADD, PFADD): two of them never conflict.
 * - other: order-dependent updates (APPEND, LPUSH, SETRANGE, EXPIRE, SREM,
 *   ZADD…): concurrent with anything but themselves being commutative, the
 *   DCs can end different, so they conflict too (reported; not ordered by `lww`).
 *
 * A target is a key, or (key, field) for the hash field commands, so that
 * two DCs writing different fields of one hash do not conflict; a whole-key
 * write (DEL of the hash) conflicts with a write of any field.
 */
export type WriteClass = 'overwrite' | 'commutative' | 'other';

export interface WriteTarget {
  key: Buffer;
  /** a hash field, for per-field commands */
  field?: Buffer;
  cls: WriteClass;
}

const WHOLE_KEY_OVERWRITES = new Set(['set', 'setex', 'psetex', 'setnx', 'getset', 'getdel', 'restore', 'restore-asking']);
const MULTI_KEY_DELETES = new Set(['del', 'unlink']);
const PAIRS = new Set(['mset', 'msetnx']);
const COMMUTATIVE_KEY = new Set(['incr', 'incrby', 'decr', 'decrby', 'incrbyfloat', 'sadd', 'pfadd', 'zincrby']);
const FIELD_OVERWRITES = new Set(['hset', 'hmset', 'hsetnx']);
const FIELD_COMMUTATIVE = new Set(['hincrby', 'hincrbyfloat']);

/**
 * The targets of one command and how each is written. Commands outside the
 * tables count as `other` on their first argument, the key of nearly every
 * write (what a cluster-mode event's slot came from); keyless ones have none.
 */
export function writeTargets(argv: readonly Buffer[]): WriteTarget[] {
  if (argv.length < 2) return [];
  const name = argv[0].toString('latin1').toLowerCase();
  const key = argv[1];
  if (WHOLE_KEY_OVERWRITES.has(name)) return [{ key, cls: 'overwrite' }];
  if (MULTI_KEY_DELETES.has(name)) return argv.slice(1).map((k) => ({ key: k, cls: 'overwrite' as const }));
  if (PAIRS.has(name)) {
    const out: WriteTarget[] = [];
    for (let i = 1; i < argv.length; i += 2) out.push({ key: argv[i], cls: 'overwrite' });
    return out;
  }
  if (COMMUTATIVE_KEY.has(name)) return [{ key, cls: 'commutative' }];
  if (FIELD_OVERWRITES.has(name)) {
    const out: WriteTarget[] = [];
    for (let i = 2; i + 1 < argv.length; i += 2) out.push({ key, field: argv[i], cls: 'overwrite' });
    return out;
  }
  if (name === 'hdel') return argv.slice(2).map((f) => ({ key, field: f, cls: 'overwrite' as const }));
  if (FIELD_COMMUTATIVE.has(name) && argv.length >= 3) return [{ key, field: argv[2], cls: 'commutative' }];
  return [{ key, cls: 'other' }];
}

/** Whether two concurrent writes of one target conflict: all but commutative pairs do. */
export function conflicting(a: WriteClass, b: WriteClass): boolean {
  return !(a === 'commutative' && b === 'commutative');
}
