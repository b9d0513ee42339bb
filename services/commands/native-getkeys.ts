/**
 * Key positions for the built-in commands whose key specs cannot say
 * everything, ported from Redis's own `*GetKeys` procs (redis/src/db.c, 7.0).
 *
 * Redis uses these when a command's key specs are INCOMPLETE (SORT, MIGRATE),
 * carry VARIABLE_FLAGS (SET, BITFIELD), or fail on the given argv (a bad
 * numkeys). On servers older than 7.0, which send no key specs, they are the
 * only way to find the keys of `movablekeys` commands. Behaviour, quirks
 * included, matches the server: key-extraction.test.ts compares every case
 * with `COMMAND GETKEYS` captured from Redis 7.0.15.
 */
export type GetKeysProc = (argv: readonly Buffer[]) => number[];

/** ASCII case-insensitive equality with a lowercase literal, on raw bytes. */
export function argIs(arg: Buffer | undefined, lower: string): boolean {
  if (arg === undefined || arg.length !== lower.length) return false;
  for (let i = 0; i < arg.length; i++) {
    let c = arg[i];
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** C atoi: optional blanks and sign, then digits up to the first non-digit; 0 if none. */
function atoi(arg: Buffer | undefined): number {
  if (arg === undefined) return 0;
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(arg.toString('latin1'));
  return m === null ? 0 : Number.parseInt(m[1], 10);
}

/**
 * COMMAND [destkey] <num-keys> <key> [...] <key> [...] ... <options>
 * (db.c genericGetKeys). Source keys first, then the destination.
 */
function generic(storeOfs: number, countOfs: number, firstOfs: number, step: number): GetKeysProc {
  return (argv) => {
    const num = atoi(argv[countOfs]);
    // Same sanity check as Redis: no keys when the command will fail anyway.
    if (num < 1 || num > Math.trunc((argv.length - firstOfs) / step)) return [];
    const keys: number[] = [];
    for (let i = 0; i < num; i++) keys.push(firstOfs + i * step);
    if (storeOfs > 0) keys.push(storeOfs);
    return keys;
  };
}

/** SORT <key> ... [STORE <dst>] ... : the last STORE wins, as in sortCommand. */
function sortGetKeys(argv: readonly Buffer[]): number[] {
  const keys = [1];
  let store = -1;
  for (let i = 2; i < argv.length; i++) {
    // Mirrors sortGetKeys's loop: LIMIT skips 2, GET and BY skip 1, and STORE
    // records the next argument without skipping it.
    if (argIs(argv[i], 'limit')) i += 2;
    else if (argIs(argv[i], 'store') && i + 1 < argv.length) store = i + 1;
    else if (argIs(argv[i], 'get') || argIs(argv[i], 'by')) i += 1;
  }
  if (store !== -1) keys.push(store);
  return keys;
}

/** MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw] [KEYS key...] */
function migrateGetKeys(argv: readonly Buffer[]): number[] {
  let first = 3;
  let num = 1;
  const skip: Record<string, number> = { copy: 0, replace: 0, auth: 1, auth2: 2 };
  if (argv.length > 6) {
    for (let i = 6; i < argv.length; i++) {
      if (argIs(argv[i], 'keys')) {
        if (argv[3].length > 0) {
          num = 0; // syntax error: MIGRATE itself will refuse it
        } else {
          first = i + 1;
          num = argv.length - first;
        }
        break;
      }
      for (const [name, n] of Object.entries(skip)) {
        if (argIs(argv[i], name)) {
          i += n;
          break;
        }
      }
    }
  }
  const keys: number[] = [];
  for (let i = 0; i < num; i++) keys.push(first + i);
  return keys;
}

/** GEORADIUS key x y radius unit ... [STORE key|STOREDIST key]: the last one wins. */
function georadiusGetKeys(argv: readonly Buffer[]): number[] {
  let stored = -1;
  for (let i = 5; i < argv.length; i++) {
    if ((argIs(argv[i], 'store') || argIs(argv[i], 'storedist')) && i + 1 < argv.length) {
      stored = i + 1;
      i++;
    }
  }
  return stored === -1 ? [1] : [1, stored];
}

/** XREAD|XREADGROUP [BLOCK ms] [COUNT n] [GROUP g c] [NOACK] STREAMS key... id... */
function xreadGetKeys(argv: readonly Buffer[]): number[] {
  let streams = -1;
  for (let i = 1; i < argv.length; i++) {
    if (argIs(argv[i], 'block') || argIs(argv[i], 'count')) i++;
    else if (argIs(argv[i], 'group')) i += 2;
    else if (argIs(argv[i], 'noack')) continue;
    else if (argIs(argv[i], 'streams')) {
      streams = i;
      break;
    } else break; // syntax error
  }
  const rest = streams === -1 ? 0 : argv.length - streams - 1;
  if (streams === -1 || rest === 0 || rest % 2 !== 0) return [];
  const keys: number[] = [];
  for (let i = streams + 1; i < argv.length - rest / 2; i++) keys.push(i);
  return keys;
}

const firstArg: GetKeysProc = () => [1];

/** MEMORY USAGE key, for pre-7.0 servers where MEMORY is not a container command. */
const memoryGetKeys: GetKeysProc = (argv) => (argv.length >= 3 && argIs(argv[1], 'usage') ? [2] : []);

export const NATIVE_GETKEYS: ReadonlyMap<string, GetKeysProc> = new Map<string, GetKeysProc>([
  ['zunionstore', generic(1, 2, 3, 1)],
  ['zinterstore', generic(1, 2, 3, 1)],
  ['zdiffstore', generic(1, 2, 3, 1)],
  ['zunion', generic(0, 1, 2, 1)],
  ['zinter', generic(0, 1, 2, 1)],
  ['zdiff', generic(0, 1, 2, 1)],
  ['zintercard', generic(0, 1, 2, 1)],
  ['sintercard', generic(0, 1, 2, 1)],
  ['lmpop', generic(0, 1, 2, 1)],
  ['zmpop', generic(0, 1, 2, 1)],
  ['blmpop', generic(0, 2, 3, 1)],
  ['bzmpop', generic(0, 2, 3, 1)],
  ['eval', generic(0, 2, 3, 1)],
  ['evalsha', generic(0, 2, 3, 1)],
  ['eval_ro', generic(0, 2, 3, 1)],
  ['evalsha_ro', generic(0, 2, 3, 1)],
  ['fcall', generic(0, 2, 3, 1)],
  ['fcall_ro', generic(0, 2, 3, 1)],
  ['sort', sortGetKeys],
  ['sort_ro', firstArg],
  ['migrate', migrateGetKeys],
  ['georadius', georadiusGetKeys],
  ['georadiusbymember', georadiusGetKeys],
  ['xread', xreadGetKeys],
  ['xreadgroup', xreadGetKeys],
  ['set', firstArg],
  ['bitfield', firstArg],
  ['memory', memoryGetKeys],
]);
