/**
 * The pure part of `sink.conflicts: lww` (docs/sink.md "Last write wins").
 * Of two concurrent overwrites of one target, the one with the later capture
 * time wins, ties broken by DC name (the greater name wins). In the DC whose
 * own write wins, the peer's write was applied last and left the target
 * wrong: the sink re-makes the local write there (a repair), conditionally on
 * the target still holding what the peer's write left.
 *
 * For a write and one of its targets (write-class.ts), this file says
 * - what the write left in the target (its *effect*: a string value, a hash
 *   field value, or absence), compared in Redis by SHA1 so that a large
 *   value costs 40 bytes to remember;
 * - the command that makes that effect again, unconditionally (the repair).
 * Writes it cannot describe exactly (RESTORE as the loser, SET … KEEPTTL,
 * anything not an overwrite) have no effect or no repair: their conflicts are
 * reported and counted as unsupported, never guessed. So have conditional
 * writes (SET … NX/XX without an expiry, SETNX, MSETNX, HSETNX): Redis
 * passes them to replicas, and so to the peer, with their condition, so the
 * peer may not have made them at all; an unconditional repair would then
 * make the two DCs differ where arrival order left them equal.
 */
import { createHash } from 'node:crypto';
import type { WriteTarget } from './write-class';

/** What a write left in its target. `sha1` is the lowercase hex SHA1 of the value (Lua's redis.sha1hex). */
export type Effect =
  | { kind: 'value'; sha1: string }
  | { kind: 'absent' }
  | { kind: 'field'; sha1: string }
  | { kind: 'field-absent' };

/** A local overwrite as the window keeps it for lww: its effect and the command that re-makes it, or why it cannot be repaired. */
export type Repairable = { effect: Effect | undefined; argv: Buffer[] } | 'unsupported' | 'too-large';

export function sha1Hex(value: Buffer): string {
  return createHash('sha1').update(value).digest('hex');
}

export function sameEffect(a: Effect, b: Effect): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind === 'value' || a.kind === 'field' ? a.sha1 === (b as { sha1: string }).sha1 : true;
}

/** Whether the local write wins over the peer's: later capture time, then the greater DC name. */
export function localWins(local: { capturedAt: number; origin: string }, peer: { capturedAt: number; origin: string }): boolean {
  if (local.capturedAt !== peer.capturedAt) return local.capturedAt > peer.capturedAt;
  return local.origin > peer.origin;
}

const lower = (b: Buffer) => b.toString('latin1').toLowerCase();
const SET_FLAGS = new Set(['get']);
const CONDITIONS = new Set(['nx', 'xx']);
const SET_EXPIRY = new Set(['ex', 'px', 'exat', 'pxat']);

/**
 * The value a whole-key string write stored in `key`, and its expiry options
 * to keep; undefined when not such a write, or when it was conditional (NX,
 * XX, SETNX, MSETNX: the peer received the condition too, see above).
 */
function stringWrite(argv: readonly Buffer[], key: Buffer): { value: Buffer; expiry: Buffer[] } | 'keepttl' | undefined {
  const name = lower(argv[0]);
  switch (name) {
    case 'set': {
      if (argv.length < 3) return undefined;
      const expiry: Buffer[] = [];
      for (let i = 3; i < argv.length; i++) {
        const opt = lower(argv[i]);
        if (opt === 'keepttl') return 'keepttl';
        if (SET_EXPIRY.has(opt) && i + 1 < argv.length) {
          expiry.push(argv[i], argv[i + 1]);
          i++;
        } else if (CONDITIONS.has(opt) || !SET_FLAGS.has(opt)) {
          return undefined;
        }
      }
      return { value: argv[2], expiry };
    }
    case 'getset':
      return argv.length === 3 ? { value: argv[2], expiry: [] } : undefined;
    case 'setex':
    case 'psetex':
      return argv.length === 4 ? { value: argv[3], expiry: [Buffer.from(name === 'setex' ? 'EX' : 'PX'), argv[2]] } : undefined;
    case 'mset': {
      let found: Buffer | undefined;
      for (let i = 1; i + 1 < argv.length; i += 2) if (argv[i].equals(key)) found = argv[i + 1];
      return found === undefined ? undefined : { value: found, expiry: [] };
    }
    default:
      return undefined;
  }
}

const DELETES = new Set(['del', 'unlink', 'getdel']);

/** The value the last pair for `field` of a field write set; undefined when the command does not set it (or only if absent: HSETNX). */
function fieldValue(argv: readonly Buffer[], field: Buffer): Buffer | undefined {
  if (lower(argv[0]) === 'hsetnx') return undefined;
  let found: Buffer | undefined;
  for (let i = 2; i + 1 < argv.length; i += 2) if (argv[i].equals(field)) found = argv[i + 1];
  return found;
}

/** What `argv` left in `target`; undefined when it cannot be said exactly (the conflict is then not repaired). */
export function effectOf(argv: readonly Buffer[], target: WriteTarget): Effect | undefined {
  if (target.cls !== 'overwrite' || argv.length < 2) return undefined;
  const name = lower(argv[0]);
  if (target.field !== undefined) {
    if (name === 'hdel') return { kind: 'field-absent' };
    const v = fieldValue(argv, target.field);
    return v === undefined ? undefined : { kind: 'field', sha1: sha1Hex(v) };
  }
  if (DELETES.has(name)) return { kind: 'absent' };
  const s = stringWrite(argv, target.key);
  return s === undefined || s === 'keepttl' ? undefined : { kind: 'value', sha1: sha1Hex(s.value) };
}

/**
 * The command that re-makes what `argv` did to `target`, whatever the target
 * holds now: SET (conditions and GET dropped, expiry kept; SETEX/PSETEX keep
 * their relative TTL, which restarts), DEL, HSET or HDEL of the one field,
 * RESTORE … REPLACE. Undefined when there is none.
 */
export function repairCommandOf(argv: readonly Buffer[], target: WriteTarget): Buffer[] | undefined {
  if (target.cls !== 'overwrite' || argv.length < 2) return undefined;
  const name = lower(argv[0]);
  if (target.field !== undefined) {
    if (name === 'hdel') return [Buffer.from('HDEL'), target.key, target.field];
    const v = fieldValue(argv, target.field);
    return v === undefined ? undefined : [Buffer.from('HSET'), target.key, target.field, v];
  }
  if (DELETES.has(name)) return [Buffer.from('DEL'), target.key];
  if (name === 'restore' || name === 'restore-asking') {
    if (argv.length < 4) return undefined;
    const out = [Buffer.from('RESTORE'), ...argv.slice(1)];
    return out.some((a, i) => i >= 4 && lower(a) === 'replace') ? out : [...out, Buffer.from('REPLACE')];
  }
  const s = stringWrite(argv, target.key);
  if (s === undefined || s === 'keepttl') return undefined;
  return [Buffer.from('SET'), target.key, s.value, ...s.expiry];
}

/** The window's record of a local write for lww: bounded by `maxBytes` of repair command. */
export function repairableOf(argv: readonly Buffer[], target: WriteTarget, maxBytes: number): Repairable {
  const repair = repairCommandOf(argv, target);
  if (repair === undefined) return 'unsupported';
  let bytes = 0;
  for (const a of repair) bytes += a.length;
  if (bytes > maxBytes) return 'too-large';
  // Copies: a slice would keep the whole Kafka record alive.
  return { effect: effectOf(argv, target), argv: repair.map((a) => Buffer.from(a)) };
}

export function repairBytes(r: Repairable | undefined): number {
  if (r === undefined || typeof r === 'string') return 0;
  let n = 64;
  for (const a of r.argv) n += a.length;
  return n;
}
