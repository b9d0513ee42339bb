import type { Cluster } from 'ioredis';
import { markerKey } from '../../../services/shared/marker';
import { slotTag } from '../../../services/shared/slot-tags';
import { keySlot } from '../../../services/shared/slot';
import { clusterClient } from '../../harness/endpoints';
import { type SinkProcess, startOneWay } from '../../harness/sink-process';
import { sleep, type SourceProcess } from '../../harness/source-process';

/**
 * A marker that disappears from the target while the sink runs, with no
 * failover (evicted under an allkeys-* policy, flushed, deleted), is not a
 * lost write: the sink must not re-apply what it applied before (INCRs would
 * double). Regression: the benchmark flushes the target between loads, and
 * every slot rewound to the first event the sink had applied there.
 */
const SRC = 'mla';
const DST = 'mlb';

describe('sink: a marker deleted on the target without a failover', () => {
  let source: SourceProcess | undefined;
  let sink: SinkProcess | undefined;
  let ca: Cluster | undefined;
  let cb: Cluster | undefined;
  afterAll(async () => {
    await sink?.kill('SIGTERM');
    await source?.kill('SIGTERM');
    ca?.disconnect();
    cb?.disconnect();
  });

  test('INCRs applied before the marker was deleted are not applied again', async () => {
    ({ source, sink } = await startOneWay(SRC, DST));
    ca = clusterClient('a');
    cb = clusterClient('b');
    const p = `ml-${Date.now()}`;
    const counters = Array.from({ length: 20 }, (_, i) => `${p}:{${slotTag(i * 811 + 5)}}:c`);
    const settle = async (expected: number) => {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && (await Promise.all(counters.map((k) => cb!.get(k)))).some((v) => Number(v) !== expected)) await sleep(200);
      await sleep(1500); // a re-apply would land by now
      return (await Promise.all(counters.map((k) => cb!.get(k)))).map(Number);
    };

    for (let i = 0; i < 5; i++) await Promise.all(counters.map((k) => ca!.incr(k)));
    expect(await settle(5)).toEqual(counters.map(() => 5));

    // The markers of these slots vanish from b, as an eviction or a FLUSHALL would make them.
    const deleted = await Promise.all(counters.map((k) => cb!.del(markerKey(keySlot(k), SRC))));
    expect(deleted.every((n) => n === 1)).toBe(true);

    for (let i = 0; i < 5; i++) await Promise.all(counters.map((k) => ca!.incr(k)));
    expect(await settle(10)).toEqual(counters.map(() => 10));
    expect((await sink.metric('tandem_sink_markers_lost_total')).reduce((x, y) => x + y, 0)).toBeGreaterThan(0);
    expect((await sink.metric('tandem_sink_rewinds_total')).reduce((x, y) => x + y, 0)).toBe(0);
    // The next writes restored the markers.
    expect((await Promise.all(counters.map((k) => cb!.exists(markerKey(keySlot(k), SRC))))).every((n) => n === 1)).toBe(true);
  }, 120_000);
});
