import Redis, { type Cluster } from 'ioredis';
import { RespPipe } from '../../../services/sink/apply/resp-pipe';
import { encodeCommand } from '../../../services/shared/resp';
import { keySlot } from '../../../services/shared/slot';
import { clusterClient } from '../../harness/endpoints';

/**
 * The sink's WAIT, on a real master of cluster b with its replica: every
 * partition batch of a fetch cycle asks for one on each master it wrote to,
 * and a WAIT blocks its connection in Redis until the replica answers. A
 * WAIT already sent after a caller's write covers it (RespPipe.wait): the
 * callers of a cycle share it, and a write sent after it gets a WAIT of its
 * own. Counted with INFO commandstats on the master.
 */
describe('sink: WAIT shared by the writes it covers', () => {
  let cb: Cluster;
  let pipe: RespPipe | undefined;
  afterAll(() => {
    pipe?.close();
    cb?.disconnect();
  });

  const waitCalls = async (node: Redis): Promise<number> => {
    const stats = String(await node.call('INFO', 'commandstats'));
    return Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? '0');
  };

  test('callers whose writes precede one WAIT share it; a write after it gets a new one; both acknowledged by the replica', async () => {
    cb = clusterClient('b');
    await cb.ping();
    const master = cb.nodes('master')[0];
    const { host, port } = master.options;
    pipe = new RespPipe({ host: host!, port: port!, connectTimeoutMs: 3000 });
    // Keys this master serves, from the client's slot map.
    const own = (n: number): string => {
      for (let i = 0; ; i++) {
        const k = `wait-coalescing:${Date.now()}:${n}:${i}`;
        if (cb.slots[keySlot(k)]?.[0] === `${host}:${port}`) return k;
      }
    };
    const [k1, k2, k3] = [own(1), own(2), own(3)];

    const before = await waitCalls(master);
    const w1 = await pipe.sendTracked(encodeCommand(['SET', k1, 'x']), 1);
    const w2 = await pipe.sendTracked(encodeCommand(['SET', k2, 'y']), 1);
    expect(w2.conn).toBe(w1.conn);
    // Three callers (three partition batches) whose writes all precede the first WAIT sent.
    const shared = await Promise.all([pipe.wait(w1.conn, 1, 5000, w1.seq), pipe.wait(w2.conn, 1, 5000, w2.seq), pipe.wait(w1.conn, 1, 5000, w1.seq)]);
    expect(shared).toEqual([1, 1, 1]);
    expect((await waitCalls(master)) - before).toBe(1);

    // A write after that WAIT is not covered by it: its caller gets a WAIT of its own.
    const w3 = await pipe.sendTracked(encodeCommand(['SET', k3, 'z']), 1);
    expect(await pipe.wait(w3.conn, 1, 5000, w3.seq)).toBe(1);
    expect((await waitCalls(master)) - before).toBe(2);
    expect(await cb.get(k3)).toBe('z');
  });
});
