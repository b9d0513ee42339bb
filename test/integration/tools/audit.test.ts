import type { Cluster } from 'ioredis';
import { keySlot, slotPartition } from '../../../services/shared/slot';
import { runCli } from '../../harness/cli-run';
import { clusterClient, testEndpoints } from '../../harness/endpoints';
import { createDcTopics, startSink, type SinkProcess } from '../../harness/sink-process';
import { kafka, sleep, startSource, waitCaughtUp, type SourceProcess } from '../../harness/source-process';

/**
 * `tandem audit` end to end: source(ada) on cluster a, source(adb) on cluster
 * b and sink(ada) applying tandem.adb.changes to a. A scripted sequence on one
 * key in a, plus one write made in b that reaches a through the pipeline, must
 * come back from `audit --json` exactly, in order, with the right origins;
 * and the command must have read one partition only.
 */
const A = 'ada';
const B = 'adb';
const PARTITIONS = 16;

type Entry = { origin: string; kind: string; partition: number; offset: string; commands: unknown[][]; otherCommands?: number; time: string };

describe('tandem audit', () => {
  const procs: (SourceProcess | SinkProcess)[] = [];
  let ca: Cluster;
  let cb: Cluster;
  const run = `${Date.now()}`;
  const key = `ad-${run}:{k}:user`;
  const brokers = () => testEndpoints().kafkaBrokers.join(',');

  beforeAll(async () => {
    await createDcTopics(A, PARTITIONS);
    await createDcTopics(B, PARTITIONS);
    procs.push(await startSource({ dc: A, cluster: 'a' }), await startSource({ dc: B, cluster: 'b' }));
    procs.push(await startSink({ dc: A, cluster: 'a', peers: [B] }));
    ca = clusterClient('a');
    cb = clusterClient('b');

    // Noise in many other slots (hence partitions) before and after.
    const noise = async (tag: string) => {
      for (let i = 0; i < 200; i++) await ca.set(`ad-${run}:noise:${tag}:${i}`, 'x'.repeat(100));
    };
    await noise('before');
    await ca.set(key, 'v1');
    await ca.append(key, '-more');
    await ca.expire(key, 1000);
    await ca.del(key);
    await ca.multi().hset(key, 'f', 'v').set(`ad-${run}:{k}:other`, 'o').exec();
    await cb.hset(key, 'g', 'from-b'); // made in b, reaches a through sink(ada)
    const deadline = Date.now() + 30_000;
    while ((await ca.hget(key, 'g')) !== 'from-b') {
      if (Date.now() > deadline) throw new Error(`the write from b never reached a:\n${procs[2].log().slice(-2000)}`);
      await sleep(200);
    }
    await noise('after');
    await waitCaughtUp(procs[0], 'a');
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    ca?.disconnect();
    cb?.disconnect();
  });

  test('--json lists exactly the scripted sequence, in order, with origins, from one partition', async () => {
    const r = await runCli(['audit', '--dc', A, '--key', key, '--json', '--stats', '--brokers', brokers()]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.status).toBe(0);
    const entries = JSON.parse(r.stdout) as Entry[];
    const seq = entries.map((e) => [e.origin, String(e.commands[0][0]).toUpperCase()]);
    // Redis 7 propagates EXPIRE as PEXPIREAT (absolute), so that is what the log holds.
    expect(seq).toEqual([
      [A, 'SET'],
      [A, 'APPEND'],
      [A, 'PEXPIREAT'],
      [A, 'DEL'],
      [A, 'HSET'],
      [B, 'HSET'],
    ]);
    const upper = (argv: unknown[]) => [String(argv[0]).toUpperCase(), ...argv.slice(1)];
    expect(upper(entries[0].commands[0])).toEqual(['SET', key, 'v1']);
    expect(entries[4].kind).toBe('transaction');
    expect(entries[4].otherCommands).toBe(1);
    expect(upper(entries[5].commands[0])).toEqual(['HSET', key, 'g', 'from-b']);
    const offsets = entries.map((e) => BigInt(e.offset));
    expect([...offsets].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(offsets);
    const times = entries.map((e) => Date.parse(e.time));
    expect([...times].sort((x, y) => x - y)).toEqual(times);

    // Only the key's partition was fetched, while the other partitions hold data.
    const partition = slotPartition(keySlot(key), PARTITIONS);
    const stats = JSON.parse(r.stderr.trim().split('\n').find((l) => l.startsWith('{'))!) as { partitionsRead: number[]; partition: number; records: number };
    expect(stats.partition).toBe(partition);
    expect(stats.partitionsRead).toEqual([partition]);
    expect(entries.every((e) => e.partition === partition)).toBe(true);
    const admin = kafka().admin();
    await admin.connect();
    const offsetsNow = await admin.fetchTopicOffsets(`tandem.${A}.changes`);
    await admin.disconnect();
    const others = offsetsNow.filter((o) => o.partition !== partition && Number(o.high) > 0);
    expect(others.length).toBeGreaterThan(PARTITIONS / 2);
    const total = offsetsNow.reduce((n, o) => n + Number(o.high), 0);
    expect(stats.records).toBeLessThan(total);
  });

  test('human output shows one line per event; --since narrows the history', async () => {
    const all = JSON.parse((await runCli(['audit', '--dc', A, '--key', key, '--json', '--brokers', brokers()])).stdout) as Entry[];
    const since = all[5].time; // the capture time of the write made in b
    const r = await runCli(['audit', '--dc', A, '--key', key, '--since', since, '--brokers', brokers()]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+ORIGIN\s+KIND\s+AT\s+COMMAND$/);
    expect(lines.filter((l) => /^\d{4}-/.test(l)).map((l) => l.split(/\s+/)[1])).toEqual([B]);
    expect(r.stdout).toContain(`HSET ${key} g from-b`);
  });

  test('bad input: unknown key, bad option value and unreachable broker give one line and the right exit code', async () => {
    const unknown = await runCli(['audit', '--dc', A, '--key', `ad-${run}:never-written`, '--brokers', brokers()]);
    expect(unknown.status).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/^tandem: no event touched key ".*never-written" in tandem\.ada\.changes partition \d+ \(offsets \d+\.\.\d+\)/);

    const badTime = await runCli(['audit', '--dc', A, '--key', key, '--since', 'yesterday', '--brokers', brokers()]);
    expect(badTime.status).toBe(2);
    expect(badTime.stderr).toMatch(/--since.*yesterday/);
    expect(badTime.stderr).not.toMatch(/\n\s+at /);

    const noBroker = await runCli(['audit', '--dc', A, '--key', key, '--brokers', '127.0.0.1:1']);
    expect(noBroker.status).toBe(1);
    expect(noBroker.stderr.trim().split('\n')).toHaveLength(1);
    expect(noBroker.stderr).toMatch(/^tandem: cannot reach Kafka at 127\.0\.0\.1:1/);

    const verbose = await runCli(['audit', '--dc', A, '--key', key, '--brokers', '127.0.0.1:1', '--verbose']);
    expect(verbose.status).toBe(1);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });
});
