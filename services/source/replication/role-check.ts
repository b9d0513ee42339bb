import type Redis from 'ioredis';
import { TandemError } from '../../shared/errors';

/**
 * A source links only to masters: a replica answers PSYNC too (chained
 * replication) and streams its master's writes, which that master's own
 * link publishes already; a full resync from it would re-send the whole
 * shard as snapshot events that overwrite newer values in the peers.
 *
 * Checked twice per attempt (link-runner.ts): before PSYNC, and again right
 * after the node answered PSYNC, before a byte of its answer is read. A node
 * that became a replica between the first check and the PSYNC (a replica
 * joining with `--cluster-slave` is a master without slots for a moment, and
 * a CLUSTER REPLICATE can land at any time) is caught by the second: it is a
 * replica now, so it was one when it answered, or it turned into one after
 * answering, and a node that becomes a replica drops its own replicas when
 * it syncs with its new master (redis/src/replication.c). Throws
 * REDIS_UNAVAILABLE (retriable): the link re-reads the topology and follows
 * the shard's master.
 */
export async function assertMaster(node: Pick<Redis, 'info'>, endpoint: string, when: string): Promise<string> {
  let info: string;
  try {
    info = await node.info('replication');
  } catch (err) {
    throw TandemError.wrap('REDIS_UNAVAILABLE', `cannot read INFO replication from ${endpoint} (${when})`, err);
  }
  if (!/^role:master\s*$/m.test(info)) {
    throw new TandemError('REDIS_UNAVAILABLE', `${endpoint} is not a master (${when}); following its shard's master`);
  }
  return info;
}
