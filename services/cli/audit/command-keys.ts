import type { CommandTable } from '../../commands/command-table';

/**
 * Which arguments of a recorded command are keys. Events store argv only, so
 * an offline tool needs a command table to answer that:
 *
 * - with `--redis URL`, the server's own `COMMAND` table (key specs, module
 *   commands included), exactly what the source used;
 * - otherwise this built-in table of the write commands Redis propagates:
 *   argv[1] for single-key commands, and explicit rules for the multi-key and
 *   numkeys ones. An unknown command counts every argument as a possible key,
 *   so audit may show one event too many, never one too few.
 */
export type KeyExtractor = (argv: readonly Buffer[]) => Buffer[];

type Rule = (argv: readonly Buffer[]) => Buffer[];

const all = (from: number, step = 1): Rule => (a) => a.filter((_, i) => i >= from && (i - from) % step === 0);
const at = (...idx: number[]): Rule => (a) => idx.filter((i) => i < a.length).map((i) => a[i]);
/** numkeys at argv[n], then that many keys. */
const numkeys = (n: number, extra: number[] = []): Rule => (a) => {
  const k = Number(a[n]?.toString('latin1'));
  const keys = Number.isInteger(k) && k >= 0 ? a.slice(n + 1, n + 1 + k) : [];
  return [...extra.filter((i) => i < a.length).map((i) => a[i]), ...keys];
};
/** A `STORE key` / `STOREDIST key` option somewhere in the arguments. */
const withStore = (base: Rule): Rule => (a) => {
  const out = base(a);
  for (let i = 0; i + 1 < a.length; i++) {
    const w = a[i].toString('latin1').toLowerCase();
    if (w === 'store' || w === 'storedist') out.push(a[i + 1]);
  }
  return out;
};
const none: Rule = () => [];

const RULES = new Map<string, Rule>([
  ['del', all(1)], ['unlink', all(1)], ['exists', all(1)], ['touch', all(1)], ['watch', all(1)],
  ['mset', all(1, 2)], ['msetnx', all(1, 2)],
  ['rename', at(1, 2)], ['renamenx', at(1, 2)], ['copy', at(1, 2)], ['smove', at(1, 2)],
  ['lmove', at(1, 2)], ['blmove', at(1, 2)], ['rpoplpush', at(1, 2)], ['brpoplpush', at(1, 2)],
  ['sinterstore', all(1)], ['sunionstore', all(1)], ['sdiffstore', all(1)], ['pfmerge', all(1)],
  ['bitop', all(2)], ['zrangestore', at(1, 2)],
  ['zunionstore', numkeys(2, [1])], ['zinterstore', numkeys(2, [1])], ['zdiffstore', numkeys(2, [1])],
  ['lmpop', numkeys(1)], ['zmpop', numkeys(1)], ['blmpop', numkeys(2)], ['bzmpop', numkeys(2)],
  ['eval', numkeys(2)], ['evalsha', numkeys(2)], ['eval_ro', numkeys(2)], ['evalsha_ro', numkeys(2)],
  ['fcall', numkeys(2)], ['fcall_ro', numkeys(2)],
  ['georadius', withStore(at(1))], ['georadiusbymember', withStore(at(1))], ['geosearchstore', at(1, 2)],
  ['sort', withStore(at(1))], ['restore-asking', at(1)], ['migrate', none],
  ['select', none], ['flushall', none], ['flushdb', none], ['swapdb', none], ['function', none], ['script', none],
  ['publish', none], ['spublish', none], ['multi', none], ['exec', none], ['ping', none],
]);

/** Single-key write commands: argv[1]. Listed so that an unknown command is told apart. */
const SINGLE = (
  'set setnx setex psetex append incr decr incrby decrby incrbyfloat getset getdel getex setrange setbit ' +
  'expire pexpire expireat pexpireat persist restore ' +
  'lpush rpush lpushx rpushx lpop rpop linsert lset lrem ltrim blpop brpop ' +
  'sadd srem spop hset hsetnx hmset hdel hincrby hincrbyfloat hexpire hpexpire hexpireat hpexpireat hpersist hgetdel hgetex hsetex ' +
  'zadd zincrby zrem zremrangebyscore zremrangebyrank zremrangebylex zpopmin zpopmax bzpopmin bzpopmax ' +
  'xadd xdel xtrim xgroup xclaim xautoclaim xack xsetid pfadd geoadd bitfield ' +
  'get strlen getrange type ttl pttl dump'
).split(' ');
for (const name of SINGLE) RULES.set(name, at(1));

export function builtinKeys(argv: readonly Buffer[]): Buffer[] {
  if (argv.length === 0) return [];
  const name = argv[0].toString('latin1').toLowerCase();
  const rule = RULES.get(name);
  // Commands with keys in odd places (blpop/brpop take several keys then a timeout):
  if (name === 'blpop' || name === 'brpop') return argv.slice(1, -1);
  if (name === 'xgroup') return at(2)(argv);
  return rule ? rule(argv) : argv.slice(1);
}

/** An extractor from the server's table, falling back to the built-in rules for commands it does not know. */
export function keyExtractor(table?: CommandTable): KeyExtractor {
  if (table === undefined) return builtinKeys;
  return (argv) => table.extractKeys(argv) ?? builtinKeys(argv);
}

export function touchesKey(keysOf: KeyExtractor, argv: readonly Buffer[], key: Buffer): boolean {
  return keysOf(argv).some((k) => k.equals(key));
}
