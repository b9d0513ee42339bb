import Redis from 'ioredis';
import { seedNodes } from '../../services/cli/stack/check';

/**
 * A benchmark's view of one Redis Cluster: a plain client per node, its
 * masters with the slots each owns (from CLUSTER SLOTS), and the helpers the
 * e2e loads need around them: empty the cluster, count its keys.
 */
export interface ClusterMaster {
  host: string;
  port: number;
  /** the slots this master owns */
  slots: number[];
  client: Redis;
}

export interface ClusterNodes {
  name: string;
  masters: ClusterMaster[];
  /** every node, masters and replicas */
  all: Redis[];
}

const client = (host: string, port: number) => {
  const r = new Redis({ host, port, maxRetriesPerRequest: 1, enableAutoPipelining: false, lazyConnect: false });
  r.on('error', () => undefined); // a failed command rejects with the cause; the event adds nothing
  return r;
};

export async function clusterNodes(name: string, seeds: string): Promise<ClusterNodes> {
  const [seed] = seedNodes(seeds);
  const s = client(seed.host, seed.port);
  // [start, end, [host, port, id, …] of the master, …the replicas'] per slot range
  const ranges = await s.cluster('SLOTS').finally(() => s.disconnect());
  const masters = new Map<string, ClusterMaster>();
  const replicas = new Map<string, { host: string; port: number }>();
  for (const [start, end, master, ...reps] of ranges) {
    const id = `${master[0]}:${master[1]}`;
    let m = masters.get(id);
    if (!m) {
      m = { host: master[0], port: master[1], slots: [], client: client(master[0], master[1]) };
      masters.set(id, m);
    }
    for (let slot = start; slot <= end; slot++) m.slots.push(slot);
    for (const r of reps) replicas.set(`${r[0]}:${r[1]}`, { host: r[0], port: r[1] });
  }
  const ms = [...masters.values()].sort((x, y) => x.port - y.port);
  return { name, masters: ms, all: [...ms.map((m) => m.client), ...[...replicas.values()].map((r) => client(r.host, r.port))] };
}

export function disconnectNodes(c: ClusterNodes | undefined): void {
  for (const r of c?.all ?? []) r.disconnect();
}

/** Keys in the cluster: DBSIZE summed over its masters. */
export async function dbsize(c: ClusterNodes): Promise<number> {
  const sizes = await Promise.all(c.masters.map((m) => m.client.dbsize()));
  return sizes.reduce((a, b) => a + b, 0);
}

/**
 * FLUSHALL on every master, then waits (bounded) until every node, replicas
 * included, holds no key: a replica empties itself when the FLUSHALL reaches
 * it through its replication stream.
 */
export async function flushCluster(c: ClusterNodes, timeoutMs = 30_000): Promise<void> {
  await Promise.all(c.masters.map((m) => m.client.flushall()));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sizes = await Promise.all(c.all.map((r) => r.dbsize()));
    if (sizes.every((n) => n === 0)) return;
    if (Date.now() > deadline) throw new Error(`cluster ${c.name}: nodes still hold keys ${timeoutMs} ms after FLUSHALL (${sizes.join(', ')})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
