import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { topicsOf } from '../../../services/shared/kafka-client';
import { slotTag } from '../../../services/shared/slot-tags';
import { readTopicToEnd } from '../../../services/shared/topic-reader';
import { clusterClient } from '../../harness/endpoints';
import { createDcTopics, startSink, type SinkProcess } from '../../harness/sink-process';
import { kafka, sleep, startSource, type SourceProcess } from '../../harness/source-process';

/**
 * A full target is a transient condition, never a reason to drop data
 * (issue 12, "Target memory"): cluster b gets a maxmemory it cannot hold
 * (noeviction), cluster a takes writes that do not fit. The sink answers
 * OOM by pausing the slot runs and retrying them with backoff, with
 * tandem_sink_target_full raised, and sends nothing to the DLQ (a later
 * event of the slot would then apply to a wrong base). Once maxmemory is
 * raised, everything applies, in order.
 */
const SRC = 'ooma';
const DST = 'oomb';

describe('hazards: the target runs out of memory', () => {
  let source: SourceProcess | undefined;
  let sink: SinkProcess | undefined;
  let ca: Cluster;
  let cb: Cluster;
  const restore: { node: Redis; maxmemory: string; policy: string }[] = [];
  afterAll(async () => {
    for (const r of restore) await r.node.config('SET', 'maxmemory', r.maxmemory).catch(() => undefined);
    for (const r of restore) await r.node.config('SET', 'maxmemory-policy', r.policy).catch(() => undefined);
    await sink?.kill('SIGTERM');
    await source?.kill('SIGTERM');
    ca?.disconnect();
    cb?.disconnect();
  });

  test('OOM pauses and retries the apply; nothing goes to the DLQ; all applies in order once memory is raised', async () => {
    await createDcTopics(SRC, 16);
    await createDcTopics(DST, 16);
    source = await startSource({ dc: SRC, cluster: 'a' });
    sink = await startSink({ dc: DST, cluster: 'b', peers: [SRC], sinkLines: ['retryBackoffMs: 50', 'retryMaxBackoffMs: 500', 'snapshotPolicy: skip'] });
    ca = clusterClient('a');
    cb = clusterClient('b');
    await cb.ping(); // the cluster client knows its nodes once connected
    const masters = cb.nodes('master') as Redis[];
    expect(masters).toHaveLength(3);
    for (const node of masters) {
      const [, maxmemory] = (await node.config('GET', 'maxmemory')) as string[];
      const [, policy] = (await node.config('GET', 'maxmemory-policy')) as string[];
      restore.push({ node, maxmemory, policy });
      const used = Number(/used_memory:(\d+)/.exec(await node.info('memory'))?.[1]);
      await node.config('SET', 'maxmemory-policy', 'noeviction');
      await node.config('SET', 'maxmemory', String(used + 1024 * 1024));
    }

    const p = `oom-${Date.now()}`;
    const tags = Array.from({ length: 12 }, (_, i) => slotTag(i * 1361 + 7));
    const value = 'v'.repeat(4096);
    const N = 400; // ~1.6 MB per tag over 12 tags: more than b's 1 MB of headroom on each master
    for (let i = 0; i < N; i++) {
      await Promise.all(tags.map((t) => ca.pipeline().set(`${p}:{${t}}:big:${i}`, value).rpush(`${p}:{${t}}:seq`, String(i)).exec()));
    }

    let full = 0;
    for (let i = 0; i < 120 && full === 0; i++) {
      [full = 0] = await sink.metric('tandem_sink_target_full');
      if (full === 0) await sleep(250);
    }
    expect(full).toBeGreaterThan(0);
    const [oomRetries = 0] = await sink.metric('tandem_sink_apply_retries_total', { reason: 'OOM' });
    expect(oomRetries).toBeGreaterThan(0);
    const [dlqWhileFull = 0] = await sink.metric('tandem_sink_dlq_total', { reason: 'rejected' });
    expect(dlqWhileFull).toBe(0);

    for (const r of restore) await r.node.config('SET', 'maxmemory', '0');
    const deadline = Date.now() + 120_000;
    const done = async () => (await Promise.all(tags.map((t) => cb.llen(`${p}:{${t}}:seq`)))).every((n) => n === N);
    while (Date.now() < deadline && !(await done())) await sleep(500);
    const expected = Array.from({ length: N }, (_, i) => String(i));
    for (const t of tags) expect(await cb.lrange(`${p}:{${t}}:seq`, 0, -1)).toEqual(expected);
    expect(await cb.get(`${p}:{${tags[0]}}:big:${N - 1}`)).toBe(value);
    for (let i = 0; i < 20; i++) {
      [full = 0] = await sink.metric('tandem_sink_target_full');
      if (full === 0) break;
      await sleep(250);
    }
    expect(full).toBe(0);

    // Nothing of this load went to the DLQ. (Source ooma's full sync also carries what earlier
    // tests left in cluster a; its snapshot is skipped, and any other DLQ record is printed.)
    const ours: string[] = [];
    const others: string[] = [];
    await readTopicToEnd(kafka(), { topic: topicsOf(DST).dlq, timeoutMs: 30_000 }, (m) => {
      const h = (name: string) => String(m.headers?.[name] ?? '');
      const text = `${h('tandem-dlq-reason')}: ${h('tandem-dlq-error')} (${h('kinds')} ${m.value?.toString('latin1').slice(0, 160)})`;
      (m.value?.includes(p) ? ours : others).push(text);
    });
    if (others.length > 0) console.log(`DLQ records of other keys:\n${others.join('\n')}`);
    expect(ours).toEqual([]);
  });
});
