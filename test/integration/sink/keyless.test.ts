import Redis, { type Cluster } from 'ioredis';
import { clusterClient } from '../../harness/endpoints';
import { startBothWays, type SinkProcess } from '../../harness/sink-process';
import { changeEventHeaders, encodeChangeEvent, EVENT_FLAGS, type ChangeEvent } from '../../../services/shared/change-event';
import { topicsOf } from '../../../services/shared/kafka-client';
import { kafka, readEvents, sleep, type SourceProcess } from '../../harness/source-process';

/**
 * FUNCTION LOAD (once-per-cluster) reaches every master of the other cluster
 * and does not loop back: sink(fnb) wraps it in MULTI with a marker of a slot
 * that master serves, so source(fnb) publishes it with origin fna, and
 * sink(fna) drops it. FLUSHALL (audit-only) is not applied by default.
 */
const A = 'fna';
const B = 'fnb';

describe('sink: keyless commands', () => {
  const procs: (SourceProcess | SinkProcess)[] = [];
  let ca: Cluster;
  let cb: Cluster;
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    ca?.disconnect();
    cb?.disconnect();
  });

  test('FUNCTION LOAD on every master of a is loaded on every master of b, once, and never comes back', async () => {
    await startBothWays(A, B, procs);
    ca = clusterClient('a');
    cb = clusterClient('b');
    // nodes('master') is empty until the client has read the slots.
    await Promise.all([ca.ping(), cb.ping()]);
    expect(ca.nodes('master')).toHaveLength(3);
    expect(cb.nodes('master')).toHaveLength(3);
    const lib = `tandemtest${Date.now()}`;
    const code = `#!lua name=${lib}\nredis.register_function('${lib}_f', function(keys, args) return 1 end)`;
    // Functions are per node: the operator loads the library on every master of a.
    for (const node of ca.nodes('master')) await (node as Redis).call('FUNCTION', 'LOAD', code);

    const hasLib = async (c: Cluster) => {
      const lists = await Promise.all(c.nodes('master').map((n) => (n as Redis).call('FUNCTION', 'LIST', 'LIBRARYNAME', lib) as Promise<unknown[]>));
      return lists.every((l) => l.length === 1);
    };
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !(await hasLib(cb))) await sleep(300);
    expect(await hasLib(cb)).toBe(true);
    type Events = Awaited<ReturnType<typeof readEvents>>;
    const loads = (events: Events) =>
      events.filter((e) => e.kind === 'control' && e.commands[0]?.map(String).join(' ').includes(`name=${lib}`));
    // Wait until source(fnb) has published what sink(fnb) did.
    let eventsB: Events = [];
    for (let i = 0; i < 20 && loads(eventsB).length === 0; i++) {
      if (i > 0) await sleep(1000);
      eventsB = await readEvents(B);
    }
    const eventsA = await readEvents(A);
    // source(fna) emitted it once for the whole cluster, as a local write.
    expect(loads(eventsA).map((e) => e.origin)).toEqual([A]);
    // source(fnb) saw it on every master it was loaded on, tagged with origin fna by the marker: never fnb.
    const echoed = loads(eventsB);
    expect(echoed.length).toBeGreaterThanOrEqual(1);
    expect(echoed.every((e) => e.origin === A)).toBe(true);
    // The marker wrapping it is a marker event of origin fna, which sink(fna) drops.
    const [droppedOwn] = await procs[2].metric('tandem_sink_events_dropped_total', { reason: 'own-origin' });
    expect(droppedOwn).toBeGreaterThanOrEqual(echoed.length);
    for (const node of ca.nodes('master')) await (node as Redis).call('FUNCTION', 'DELETE', lib);
  });

  test('an audit-only FLUSHALL event is counted and logged, not applied (sink.applyFlush is off)', async () => {
    // Produced directly: a real FLUSHALL on the shared cluster a would wipe other tests' keys.
    const key = `fn-${Date.now()}:survivor`;
    await cb.set(key, 'still here');
    const e: ChangeEvent = {
      origin: A, source: A, kind: 'control', slot: -1, db: 0, commands: [[Buffer.from('FLUSHALL')]],
      replId: 'f'.repeat(40), replOffset: 1, nodeId: 'test', capturedAt: Date.now(), seq: 0, flags: [EVENT_FLAGS.auditOnly], dedupeKey: null,
    };
    const producer = kafka().producer();
    await producer.connect();
    await producer.send({ topic: topicsOf(A).changes, messages: [{ partition: 0, value: encodeChangeEvent(e), headers: changeEventHeaders(e) }] });
    await producer.disconnect();
    let dropped = 0;
    for (let i = 0; i < 60 && dropped < 1; i++) {
      [dropped = 0] = await procs[3].metric('tandem_sink_events_dropped_total', { reason: 'audit-only' });
      if (dropped < 1) await sleep(250);
    }
    expect(dropped).toBe(1);
    expect(await cb.get(key)).toBe('still here');
    // The log line reaches the file through a pipe: give it a moment.
    for (let i = 0; i < 20 && !/audit-only command not applied/.test(procs[3].log()); i++) await sleep(250);
    expect(procs[3].log()).toMatch(/audit-only command not applied/);
  });
});
