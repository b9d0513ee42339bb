import Redis from 'ioredis';
import type { Shard } from '../../services/shared/topology/shard';

/**
 * SIGKILLs the master of `shard` without Redis itself losing an acknowledged
 * write: writes are paused on it (CLIENT PAUSE WRITE) and its first replica is
 * let catch up first. Asynchronous replication may otherwise lose a write acked
 * just before a crash, which is Redis's behaviour and would make a test about
 * Tandem ambiguous. Needs the local stack (the process is on this machine).
 */
const offsetOf = async (r: Redis, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(await r.info('replication'))?.[1]);

export async function killMasterSafely(shard: Shard): Promise<void> {
  const master = new Redis({ host: shard.master.host, port: shard.master.port });
  const replica = new Redis({ host: shard.replicas[0].host, port: shard.replicas[0].port });
  try {
    await master.call('CLIENT', 'PAUSE', '20000', 'WRITE');
    for (let i = 0; i < 100; i++) {
      if ((await offsetOf(replica, 'slave_repl_offset')) === (await offsetOf(master, 'master_repl_offset'))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const pid = Number(/process_id:(\d+)/.exec(await master.info('server'))?.[1]);
    process.kill(pid, 'SIGKILL');
  } finally {
    master.disconnect();
    replica.disconnect();
  }
}
