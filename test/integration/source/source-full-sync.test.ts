import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { EVENT_FLAGS } from '../../../services/shared/change-event';
import { slotTag } from '../../../services/shared/slot-tags';
import { readKey, sameContent } from '../../harness/compare';
import { clusterClient } from '../../harness/endpoints';
import { createDcTopics, readEvents, startSource, type SourceProcess } from '../../harness/source-process';

/**
 * Full sync: cluster a is populated with every data type first, then the
 * source starts (no checkpoint: full resync of every master). The snapshot
 * events' payloads equal DUMP on a, and their RESTORE commands, replayed
 * into cluster b, reproduce every key (type, encoding, value, TTL; DUMP bytes
 * of hashtable-encoded keys follow each server's dict order, so values are
 * compared). Big keys travel as payload chunks.
 */
const DC = 'fsync';

async function populate(c: Cluster, p: (n: number, name: string) => string): Promise<string[]> {
  const keys: string[] = [];
  const add = (k: string) => (keys.push(k), k);
  for (let n = 0; n < 40; n++) {
    await c.set(add(p(n, 'int')), String(n * 1000));
    await c.set(add(p(n, 'str')), `value-${n}-${'x'.repeat(n * 7)}`, 'PX', 3_600_000);
    await c.set(add(p(n, 'bin')), Buffer.from([0, 255, n, 10, 13, 0]));
    await c.rpush(add(p(n, 'list')), ...Array.from({ length: 5 + n }, (_, i) => `e${i}`));
    await c.sadd(add(p(n, 'intset')), ...Array.from({ length: 5 + n }, (_, i) => String(i)));
    await c.sadd(add(p(n, 'set')), ...Array.from({ length: 5 + n * 5 }, (_, i) => `m${i}`));
    await c.zadd(add(p(n, 'zset')), ...Array.from({ length: 5 + n * 4 }, (_, i) => [String(i * 1.5), `z${i}`]).flat());
    await c.hset(add(p(n, 'hash')), ...Array.from({ length: 3 + n * 4 }, (_, i) => [`f${i}`, `v${i}`]).flat());
    await c.xadd(add(p(n, 'stream')), '*', 'n', String(n), 'k', 'v');
    await c.expire(p(n, 'hash'), 7200);
  }
  // Big keys, beyond the 64 KiB event payload set below: they travel as chunks.
  await c.set(add(p(0, 'bigstr')), randomBytes(300_000)); // incompressible: LZF cannot shrink it
  await c.rpush(add(p(1, 'biglist')), ...Array.from({ length: 20_000 }, (_, i) => `element-${i}-${'y'.repeat(i % 40)}`));
  const stream = add(p(2, 'groups'));
  for (let i = 0; i < 30; i++) await c.xadd(stream, '*', 'i', String(i));
  await c.xgroup('CREATE', stream, 'g1', '0');
  await c.xreadgroup('GROUP', 'g1', 'alice', 'COUNT', 5, 'STREAMS', stream, '>');
  return keys;
}

describe('source: full sync', () => {
  let source: SourceProcess | undefined;
  afterAll(async () => {
    await source?.kill('SIGKILL');
  });

  test('snapshot payloads equal DUMP; RESTOREd into another cluster they reproduce every key, big keys in chunks', async () => {
    const run = Date.now().toString(36);
    const p = (n: number, name: string) => `fs:${run}:{${slotTag((n * 409 + name.length * 31) % 16384)}}:${name}:${n}`;
    const a = clusterClient('a');
    const b = clusterClient('b');
    try {
      const keys = await populate(a, p);
      await createDcTopics(DC);
      source = await startSource({ dc: DC, extraYaml: 'source:\n  maxEventPayloadBytes: 65536' });
      await source.kill('SIGTERM'); // ready means every link streams: the snapshots are committed

      const events = (await readEvents(DC)).filter((e) => e.kind === 'snapshot');
      const chunks = new Map<string, Buffer[]>();
      const payloads = new Map<string, Buffer>();
      let restored = 0;
      let chunked = 0;
      for (const e of events) {
        const [cmd] = e.commands;
        if (e.flags.includes(EVENT_FLAGS.payloadChunk)) {
          const key = cmd[0].toString('latin1');
          chunks.set(key, [...(chunks.get(key) ?? []), cmd[1]]);
          continue;
        }
        const key = cmd[1].toString('latin1');
        if (!key.startsWith(`fs:${run}:`)) continue;
        expect(cmd[0].toString()).toBe('RESTORE');
        const argv = [...cmd];
        if (e.flags.includes(EVENT_FLAGS.payloadLast)) {
          argv[3] = Buffer.concat(chunks.get(key) ?? []);
          chunks.delete(key);
          chunked++;
        }
        payloads.set(key, argv[3]);
        await b.call('RESTORE', ...argv.slice(1));
        restored++;
      }
      expect(chunked).toBe(2); // bigstr and biglist
      expect(restored).toBe(keys.length);
      for (const key of keys) {
        // The payload is byte-identical to DUMP on the source master…
        expect(payloads.get(key)?.toString('base64')).toBe((await a.dumpBuffer(key))?.toString('base64'));
        // …and RESTOREd on b it gives the same type, encoding, value and TTL.
        const [ca, cb] = await Promise.all([readKey(a, key), readKey(b, key)]);
        expect(cb).toEqual({ ...ca, pttl: cb.pttl });
        expect(sameContent(ca, cb)).toBe(true);
      }
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });
});
