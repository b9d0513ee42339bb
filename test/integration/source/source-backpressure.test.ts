import { readFileSync } from 'node:fs';
import { readStackState } from '../../../services/cli/stack/stack';
import { slotTag } from '../../../services/shared/slot-tags';
import Redis from 'ioredis';
import { readTopology } from '../../../services/shared/topology/read-topology';
import { clusterClient, testEndpoints } from '../../harness/endpoints';
import { TEST_STATE_DIR } from '../../harness/global-setup';
import { createDcTopics, readEvents, sleep, startSource, waitCaughtUp, type SourceProcess } from '../../harness/source-process';

/**
 * Backpressure: while Kafka does not answer (its process is SIGSTOPped), the
 * source buffers at most `maxBufferedBytes` and stops reading its sockets, so
 * its memory stays bounded while clients keep writing 30 MB; when Kafka
 * answers again publishing resumes by itself and nothing is lost.
 */
const DC = 'bpress';
const local = process.env.TANDEM_TEST_STACK_STARTED === 'local';

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

(local ? describe : describe.skip)('source: backpressure while Kafka is unavailable (needs the local stack)', () => {
  let source: SourceProcess | undefined;
  let kafkaPid: number | undefined;
  afterAll(async () => {
    if (kafkaPid) process.kill(kafkaPid, 'SIGCONT');
    await source?.kill('SIGKILL');
  });

  test('Kafka frozen for 15 s under 30 MB of writes: bounded buffer and RSS, then it resumes and loses nothing', async () => {
    await createDcTopics(DC);
    source = await startSource({ dc: DC, extraYaml: 'source:\n  maxBufferedBytes: 1048576' });
    kafkaPid = readStackState(TEST_STATE_DIR)?.processes.find((p) => p.name === 'kafka')?.pid;
    expect(kafkaPid).toBeDefined();
    const run = Date.now().toString(36);
    const key = (k: number) => `bp:${run}:{${slotTag((k * 5167) % 16384)}}`;
    const value = 'v'.repeat(1000);
    // The stamp primer reads every master's markers once at start (a GET per slot and peer DC; the shared
    // test Kafka has dozens of DCs): measure the growth under backpressure after it, not the start's garbage.
    const masterCount = (await readTopology(testEndpoints().redisA)).length;
    for (let i = 0; i < 240 && (await source.metric('tandem_source_vector_primes_total', { result: 'ok' })).reduce((x, y) => x + y, 0) < masterCount; i++) await sleep(250);
    await sleep(1000);
    const rssBefore = rssMb(source.proc.pid!);

    process.kill(kafkaPid!, 'SIGSTOP');
    const cluster = clusterClient('a');
    cluster.on('error', () => undefined); // reported by the failing command, if any
    const written: number[] = new Array(30).fill(0);
    const started = Date.now();
    for (let i = 0; i < 30_000; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => {
        const k = (i + j) % 30;
        written[k]++;
        return cluster.rpush(key(k), `${i + j}:${value}`);
      }));
    }
    cluster.disconnect();
    let maxBuffered = 0;
    let maxRss = 0;
    while (Date.now() - started < 15_000) {
      maxBuffered = Math.max(maxBuffered, ...(await source.metric('tandem_source_buffered_bytes')));
      maxRss = Math.max(maxRss, rssMb(source.proc.pid!));
      await sleep(250);
    }
    // Bounded: at most the limit plus one event's worth, and no 30 MB of growth.
    expect(maxBuffered).toBeLessThan(1048576 + 64 * 1024);
    expect(maxRss - rssBefore).toBeLessThan(25);
    // The links stopped reading: the 30 MB wait in the masters' output buffers, not in the source.
    const masters = await readTopology(testEndpoints().redisA);
    let masterTotal = 0;
    for (const m of masters) {
      const r = new Redis({ host: m.master.host, port: m.master.port });
      masterTotal += Number(/master_repl_offset:(\d+)/.exec(await r.info('replication'))?.[1]);
      r.disconnect();
    }
    const linkTotal = (await source.metric('tandem_source_repl_offset')).reduce((x, y) => x + y, 0);
    expect(masterTotal - linkTotal).toBeGreaterThan(20 * 1024 * 1024);
    process.kill(kafkaPid!, 'SIGCONT');
    kafkaPid = undefined;

    await waitCaughtUp(source, 'a', 120_000);
    await source.kill('SIGTERM');
    const counts = new Array<number>(30).fill(0);
    for (const e of await readEvents(DC)) {
      for (const argv of e.commands) {
        const k = argv[1]?.toString() ?? '';
        if (k.startsWith(`bp:${run}:`)) counts[[...Array(30).keys()].find((n) => key(n) === k)!]++;
      }
    }
    expect(counts).toEqual(written);
  });
});
