import { slotTag } from '../../../services/shared/slot-tags';
import { clusterClient } from '../../harness/endpoints';
import { createDcTopics, startSink, type SinkProcess } from '../../harness/sink-process';
import { sleep, startSource, type SourceProcess } from '../../harness/source-process';

/**
 * After a rebalance a sink reports lag and committed offsets only for the
 * partitions it still owns. A series left behind for a partition another sink
 * took over would show lag no one is working off, and fire the lag alerts.
 */
const A = 'rba';
const B = 'rbb';
const PARTITIONS = 8;

async function series(sink: SinkProcess, name: string): Promise<string[]> {
  const text = await sink.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .map((l) => /partition="(\d+)"/.exec(l)?.[1] ?? '?')
    .sort();
}

describe('sink: metrics after a rebalance', () => {
  const procs: (SourceProcess | SinkProcess)[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
  });

  test('a sink drops the lag and offset series of partitions it no longer owns', async () => {
    await createDcTopics(A, PARTITIONS);
    await createDcTopics(B, PARTITIONS);
    procs.push(await startSource({ dc: A, cluster: 'a' }));
    const first = await startSink({ dc: B, cluster: 'b', peers: [A] });
    procs.push(first);
    // A write in every partition, so that the first sink has a series for each.
    const cluster = clusterClient('a');
    const run = Date.now().toString(36);
    try {
      for (let p = 0; p < PARTITIONS; p++) await cluster.set(`rb:${run}:{${slotTag((p * 16384) / PARTITIONS)}}`, 'v');
    } finally {
      cluster.disconnect();
    }
    const all = Array.from({ length: PARTITIONS }, (_, p) => String(p)).sort();
    for (let i = 0; i < 100 && (await series(first, 'tandem_sink_consumer_lag')).length < PARTITIONS; i++) await sleep(200);
    expect(await series(first, 'tandem_sink_consumer_lag')).toEqual(all);

    const second = await startSink({ dc: B, cluster: 'b', peers: [A] });
    procs.push(second);
    const owned = async () => (await first.metric('tandem_sink_assigned_partitions', { topic: `tandem.${A}.changes` }))[0];
    for (let i = 0; i < 150 && (await owned()) !== PARTITIONS / 2; i++) await sleep(200);
    expect(await owned()).toBe(PARTITIONS / 2);
    const lag = await series(first, 'tandem_sink_consumer_lag');
    expect(lag).toHaveLength(PARTITIONS / 2);
    expect(await series(first, 'tandem_sink_committed_offset')).toEqual(lag);
  });
});
