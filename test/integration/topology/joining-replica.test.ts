import Redis, { type Cluster } from 'ioredis';
import { expectTwoWayConverged, metricSum, startBothWaysOn, waitUntil } from '../../harness/topology-assert';
import { startLoad, startTopologyStack, type LoadHandle, type TopologyStack } from '../../harness/topology-stack';
import { sleep, type SourceProcess } from '../../harness/source-process';

/**
 * Issue 11, "never two links to one master": a node joins a as an empty
 * master (add-node), so the source links it, then becomes a replica of a
 * master that already has a link (CLUSTER REPLICATE, what
 * `add-node --cluster-slave` does). A replica streams its master's writes
 * too; a link left on it would publish them twice and double every INCR in
 * b. The link must end as a duplicate, and the counters stay exact.
 */
const run = Date.now().toString(36);
const A = `jra-${run}`;
const B = `jrb-${run}`;

const until = (what: string, f: () => Promise<boolean>, timeoutMs?: number) => waitUntil(what, f, timeoutMs, 250);

describe('issue 11: a node that joins as a master and turns replica', () => {
  let stack: TopologyStack | undefined;
  const procs: SourceProcess[] = [];
  let ca: Cluster | undefined;
  let cb: Cluster | undefined;
  let load: LoadHandle | undefined;
  let spare: Redis | undefined;

  beforeAll(async () => {
    stack = await startTopologyStack((l) => process.stderr.write(`[topology stack] ${l}\n`));
  }, 180_000);

  afterAll(async () => {
    await load?.stop();
    spare?.disconnect();
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    ca?.disconnect();
    cb?.disconnect();
    await stack?.stop();
  }, 120_000);

  test('its link ends as a duplicate; nothing is published twice', async () => {
    const s = stack!;
    const { sourceA } = await startBothWaysOn({ dc: A, seeds: s.a.seeds }, { dc: B, seeds: s.b.seeds }, procs);
    ca = s.a.client();
    cb = s.b.client();
    load = startLoad([
      { name: A, cluster: ca, prefix: `jr-${run}-a` },
      { name: B, cluster: cb, prefix: `jr-${run}-b` },
    ]);

    const port = await s.a.startSpare();
    await s.a.addNode(port);
    // The empty master gets a link of its own.
    await until('a link to the new empty master', async () => (await metricSum(sourceA, 'tandem_source_links')) === 4);

    const [master] = await s.a.masters();
    spare = new Redis({ host: '127.0.0.1', port });
    await spare.call('CLUSTER', 'REPLICATE', master.id);
    await until('the new node to replicate its master', async () => /master_link_status:up/.test(await spare!.info('replication')), 60_000);
    await until('the link of the node turned replica to end', async () => (await metricSum(sourceA, 'tandem_source_links')) === 3);
    expect(await metricSum(sourceA, 'tandem_source_links_ended_total', { reason: 'duplicate' })).toBe(1);

    // Writes go on for a while on the master the replica copies: each must reach b once.
    await sleep(5000);
    const [resA, resB] = await load.stop();
    load = undefined;
    await expectTwoWayConverged({
      a: resA,
      b: resB,
      clients: { a: ca, b: cb },
      urls: { a: await s.a.liveUrl(), b: await s.b.liveUrl() },
      dcs: { a: A, b: B },
      match: `jr-${run}-*`,
      procs,
    });
    for (const p of procs) expect(p.proc.exitCode).toBeNull();
  }, 600_000);
});
