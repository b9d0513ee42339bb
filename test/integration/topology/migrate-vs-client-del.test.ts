import Redis, { type Cluster } from 'ioredis';
import { slotTag } from '../../../services/shared/slot-tags';
import { keySlot } from '../../../services/shared/slot';
import { dlqRecords, metricSum, waitUntil } from '../../harness/topology-assert';
import { startTopologyStack, type TopologyStack } from '../../harness/topology-stack';
import { startSink, type SinkProcess } from '../../harness/sink-process';
import { createDcTopics, sleep, startSource, type SourceProcess } from '../../harness/source-process';

/**
 * Issue 11 item 1, step by step on one slot of a, as `redis-cli --cluster
 * reshard` does it (SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE), with
 * client deletions in between:
 * - a client's DEL of a key not yet moved (on the exporting master) and of a
 *   key already moved (on the importing master, after ASKING) replicate;
 * - MIGRATE of several keys, MIGRATE … COPY, then MIGRATE … REPLACE of the
 *   copied key delete nothing in b;
 * - the migration metric counts every RESTORE-ASKING (in) and every key of
 *   MIGRATE's DELs (out).
 */
const run = Date.now().toString(36);
const A = `mda-${run}`;
const B = `mdb-${run}`;

const until = (what: string, f: () => Promise<boolean>, timeoutMs?: number) => waitUntil(what, f, timeoutMs, 200);

describe('issue 11: MIGRATE traffic and client deletions in a migrating slot', () => {
  let stack: TopologyStack | undefined;
  const procs: (SourceProcess | SinkProcess)[] = [];
  const conns: (Redis | Cluster)[] = [];

  beforeAll(async () => {
    stack = await startTopologyStack((l) => process.stderr.write(`[topology stack] ${l}\n`));
  }, 180_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    for (const c of conns) c.disconnect();
    await stack?.stop();
  }, 120_000);

  test('client deletions replicate, migration deletions do not', async () => {
    const s = stack!;
    await createDcTopics(A);
    await createDcTopics(B);
    const source = await startSource({ dc: A, cluster: s.a.seeds });
    procs.push(source);
    procs.push(await startSink({ dc: B, cluster: s.b.seeds, peers: [A] }));
    const ca = s.a.client();
    const cb = s.b.client();
    conns.push(ca, cb);

    const [exporter, importer] = await s.a.masters();
    const slot = exporter.ranges[0][0];
    const tag = slotTag(slot);
    const key = (name: string) => `md-${run}:{${tag}}:${name}`;
    expect(keySlot(key('x'))).toBe(slot);
    const names = ['delBefore', 'moved1', 'moved2', 'copied', 'delAfter', 'last'];
    for (const n of names) await ca.set(key(n), `v-${n}`);
    await until('b to have every key', async () => (await Promise.all(names.map((n) => cb.exists(key(n))))).every((x) => x === 1));

    const e = new Redis({ host: exporter.host, port: exporter.port });
    const i = new Redis({ host: importer.host, port: importer.port });
    conns.push(e, i);
    await i.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', exporter.id);
    await e.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', importer.id);

    // A client's DEL of a key still on the exporting master.
    expect(await e.del(key('delBefore'))).toBe(1);
    const migrate = (...args: string[]) => e.call('MIGRATE', importer.host, String(importer.port), '', '0', '5000', ...args);
    // Several keys in one MIGRATE; the exporting master propagates one DEL of both.
    expect(await migrate('KEYS', key('moved1'), key('moved2'), key('delAfter'))).toBe('OK');
    // Once the source has judged that DEL (the importing master held the three keys then)…
    await until('the source to read the DEL of MIGRATE', async () => (await metricSum(source, 'tandem_source_migrated_keys_total', { direction: 'out' })) === 3);
    // COPY: no DEL on the exporting master; then the same key again, REPLACE over the copy.
    expect(await migrate('COPY', 'KEYS', key('copied'))).toBe('OK');
    expect(await migrate('REPLACE', 'KEYS', key('copied'))).toBe('OK');
    // … a client's DEL of a key that has moved: the exporting master sends it to the importing one (ASK).
    // (Had the client deleted it before the source asked, the MIGRATE's DEL would have been published
    // as a client's: the same end state, since the client's own DEL follows it.)
    await expect(e.del(key('delAfter'))).rejects.toThrow(/^ASK /);
    expect(await i.call('ASKING')).toBe('OK');
    expect(await i.del(key('delAfter'))).toBe(1);
    expect(await migrate('KEYS', key('last'))).toBe('OK');
    for (const node of [e, i]) await node.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', importer.id);
    await s.a.waitStable();

    // Both client deletions reach b; no key moved by MIGRATE is deleted there.
    await until('the client deletions to reach b', async () => (await cb.exists(key('delBefore'))) === 0 && (await cb.exists(key('delAfter'))) === 0);
    await sleep(2000); // a migration DEL wrongly replicated would have arrived by now too
    for (const n of ['moved1', 'moved2', 'copied', 'last']) expect(await cb.get(key(n))).toBe(`v-${n}`);
    for (const n of names) expect(await ca.get(key(n))).toBe(await cb.get(key(n)));

    // RESTORE-ASKING: moved1, moved2, delAfter, copied (COPY), copied (REPLACE), last. MIGRATE's DELs: all but the COPY.
    await until('the migration metric', async () => (await metricSum(source, 'tandem_source_migrated_keys_total', { direction: 'in' })) === 6);
    expect(await metricSum(source, 'tandem_source_migrated_keys_total', { direction: 'out' })).toBe(5);
    expect(await dlqRecords(B)).toEqual([]);
  }, 300_000);
});
