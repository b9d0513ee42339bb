import Redis from 'ioredis';
import { readStackState } from '../../../services/cli/stack/stack';
import { readTopology } from '../../../services/shared/topology/read-topology';
import { testEndpoints } from '../../harness/endpoints';
import { TEST_STATE_DIR } from '../../harness/global-setup';
import { createDcTopics, sleep, startSource, type SourceProcess } from '../../harness/source-process';

/**
 * Honest replica acknowledgements: the source's REPLCONF ACK reports the
 * offset it has committed to Kafka, not the offset it has read. With the
 * master's real replica asleep, WAIT 1 counts only the source: it returns 0
 * while Kafka cannot take the source's commit (its process SIGSTOPped), and 1
 * once it can.
 */
const DC = 'ack';

describe('source: REPLCONF ACK reports what is committed', () => {
  let source: SourceProcess | undefined;
  let kafkaPid: number | undefined;
  const clients: Redis[] = [];
  afterAll(async () => {
    if (kafkaPid) process.kill(kafkaPid, 'SIGCONT');
    await source?.kill('SIGTERM');
    for (const c of clients) c.disconnect();
  });

  test('WAIT 1 returns 0 while the source cannot commit, and 1 once it has', async () => {
    await createDcTopics(DC);
    source = await startSource({ dc: DC, cluster: 'a' });
    const [shard] = await readTopology(testEndpoints().redisA);
    expect(shard.replicas.length).toBeGreaterThan(0);
    const master = new Redis({ host: shard.master.host, port: shard.master.port });
    const replica = new Redis({ host: shard.replicas[0].host, port: shard.replicas[0].port });
    clients.push(master, replica);
    // A key of this master's slots.
    const base = `ack-${Date.now()}`;
    let k = '';
    for (let i = 0; ; i++) {
      k = `${base}:{x${i}}`;
      const slot = Number(await master.call('CLUSTER', 'KEYSLOT', k));
      if (shard.slots.some(([a, b]) => a <= slot && slot <= b)) break;
    }

    // The real replica sleeps: only the source can answer WAIT.
    void replica.call('DEBUG', 'SLEEP', '20').catch(() => undefined);
    await sleep(200);
    await master.set(k, '1');
    expect(await master.wait(1, 5000)).toBe(1); // the source committed it

    kafkaPid = readStackState(TEST_STATE_DIR)?.processes.find((p) => p.name === 'kafka')?.pid;
    expect(kafkaPid).toBeDefined();
    process.kill(kafkaPid!, 'SIGSTOP');
    await master.set(k, '2');
    await sleep(500); // the source reads it at once
    expect(await master.wait(1, 100)).toBe(0); // read, not committed: not acknowledged
    process.kill(kafkaPid!, 'SIGCONT');
    kafkaPid = undefined;
    expect(await master.wait(1, 15_000)).toBe(1);
  });
});
