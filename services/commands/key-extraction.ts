/**
 * Finds the key arguments of one argv from its CommandInfo, the way Redis's
 * getKeysFromCommandWithSpecs (redis/src/db.c, 7.0) does:
 *
 *   1. key specs, when the command has at least one that is not NOT_KEY and
 *      none with VARIABLE_FLAGS, and every spec resolves on this argv
 *      (INCOMPLETE or unknown specs, or a bad numkeys, make them fail);
 *   2. otherwise the command's native getkeys proc (native-getkeys.ts);
 *   3. otherwise no keys.
 *
 * Servers before 7.0 send no key specs: their legacy first/last/step range is
 * used, and `movablekeys` commands go to the native procs.
 *
 * The result is positions in argv, in the server's order, duplicates kept
 * (`EXISTS a a` has two keys), exactly what `COMMAND GETKEYS` answers.
 */
import { argIs, NATIVE_GETKEYS } from './native-getkeys';
import type { CommandInfo, KeySpec } from './key-specs';

export interface ExtractOptions {
  /**
   * Also return NOT_KEY arguments (SPUBLISH's shard channel). `COMMAND GETKEYS`
   * leaves them out; the source wants them, since they still decide the slot.
   */
  includeNotKeys?: boolean;
}

export function keyPositions(info: CommandInfo, argv: readonly Buffer[], opts: ExtractOptions = {}): number[] {
  const specs = info.keySpecs;
  if (specs === undefined) return legacyPositions(info, argv);
  const includeNotKeys = opts.includeNotKeys === true;
  const hasKeySpec = specs.some((s) => includeNotKeys || !s.flags.has('not_key'));
  const hasVarFlags = specs.some((s) => s.flags.has('variable_flags'));
  if (hasKeySpec && !hasVarFlags) {
    const fromSpecs = positionsFromSpecs(specs, argv, includeNotKeys);
    if (fromSpecs !== undefined) return fromSpecs;
  }
  const native = NATIVE_GETKEYS.get(info.name);
  if (native !== undefined) return native(argv);
  // A module command without a native proc (Redis would ask the module's
  // getkeys callback, which we cannot): take what the specs can resolve.
  return hasKeySpec ? (positionsFromSpecs(specs, argv, includeNotKeys, true) ?? []) : [];
}

/** getKeysUsingKeySpecs. undefined = a spec failed (Redis returns -1). */
function positionsFromSpecs(
  specs: readonly KeySpec[],
  argv: readonly Buffer[],
  includeNotKeys: boolean,
  partial = false,
): number[] | undefined {
  const argc = argv.length;
  const keys: number[] = [];
  for (const spec of specs) {
    if (spec.flags.has('not_key') && !includeNotKeys) continue;
    const range = specRange(spec, argv);
    if (range === 'not-found') continue; // keyword absent: this spec has no keys here
    let valid = range !== 'invalid';
    if (range !== 'invalid') {
      const { first, last, step } = range;
      // First or last out of bounds: a syntax error the command will report.
      if (last >= argc || last < first || first >= argc) valid = false;
      else {
        for (let i = first; i <= last; i += step) {
          // Variadic commands have no dispatch-time arity check: skip, as Redis does.
          if (i >= argc || i < first) continue;
          keys.push(i);
        }
        if (spec.flags.has('incomplete')) valid = false;
      }
    }
    if (!valid && !partial) return undefined;
  }
  return keys;
}

type SpecRange = { first: number; last: number; step: number } | 'not-found' | 'invalid';

function specRange(spec: KeySpec, argv: readonly Buffer[]): SpecRange {
  const argc = argv.length;
  let first = 0;
  const bs = spec.beginSearch;
  if (bs.type === 'index') {
    first = bs.pos;
  } else if (bs.type === 'keyword') {
    // Scan forward from startfrom, or backward from argc+startfrom when it is
    // negative (MIGRATE's KEYS is searched from the end).
    const start = bs.startfrom > 0 ? bs.startfrom : argc + bs.startfrom;
    const end = bs.startfrom > 0 ? argc - 1 : 1;
    const keyword = bs.keyword.toLowerCase();
    for (let i = start; i !== end; i = start <= end ? i + 1 : i - 1) {
      if (i >= argc || i < 1) break;
      if (argIs(argv[i], keyword)) {
        first = i + 1;
        break;
      }
    }
    if (first === 0) return 'not-found';
  } else {
    return 'invalid';
  }

  const fk = spec.findKeys;
  if (fk.type === 'range') {
    let last: number;
    if (fk.lastkey >= 0) last = first + fk.lastkey;
    else if (fk.limit === 0) last = argc + fk.lastkey;
    // limit N: keys are the first 1/N of what follows (XREAD's keys, then ids).
    else last = first + (Math.trunc((argc - first) / fk.limit) + fk.lastkey);
    return { first, last, step: fk.keystep };
  }
  if (fk.type === 'keynum') {
    const idx = first + fk.keynumidx;
    if (idx >= argc) return 'invalid';
    const numkeys = parseStrictInt(argv[idx]);
    if (numkeys === undefined || numkeys < 0) return 'invalid';
    const firstKey = first + fk.firstkey;
    // Redis 7.0-7.4 compute last = first + numkeys - 1, ignoring keystep, so a
    // keynum spec with keystep > 1 loses keys (no built-in has one; redis PR
    // #15408 fixes it). We take the intended numkeys keys: every key must be
    // seen for the one-slot check.
    return { first: firstKey, last: firstKey + (numkeys - 1) * fk.keystep, step: fk.keystep };
  }
  return 'invalid';
}

/** Redis string2ll: optional '-', digits, no leading zeros, no blanks, no '+'. */
function parseStrictInt(arg: Buffer): number | undefined {
  const text = arg.toString('latin1');
  if (!/^(0|-?[1-9]\d{0,18})$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** getKeysUsingLegacyRangeSpec, for replies without key specs (Redis < 7.0). */
function legacyPositions(info: CommandInfo, argv: readonly Buffer[]): number[] {
  if (info.flags.has('movablekeys')) {
    const native = NATIVE_GETKEYS.get(info.name);
    if (native !== undefined) return native(argv);
  }
  if (info.firstKey === 0) return [];
  const argc = argv.length;
  const first = info.firstKey;
  const last = info.lastKey < 0 ? argc + info.lastKey : info.lastKey;
  const step = info.step > 0 ? info.step : 1;
  const keys: number[] = [];
  for (let i = first; i <= last; i += step) {
    // Out of range means a malformed variadic call: Redis returns no keys.
    if (i >= argc) return [];
    keys.push(i);
  }
  return keys;
}
