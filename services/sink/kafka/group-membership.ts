/**
 * Keeping the sink's consumer-group membership through a long batch.
 *
 * kafkajs heartbeats only between batches or when the batch handler calls
 * `heartbeat()`. A batch can take far longer than the session timeout when
 * the target cluster fails over: the writer retries its MULTI/EXEC until the
 * replica is promoted (cluster-node-timeout plus the election, seconds). Without
 * heartbeats the coordinator expels the member, and the commit that follows
 * fails with UNKNOWN_MEMBER_ID. So the batch runs under `withHeartbeats`.
 *
 * If membership is lost anyway (a rebalance, a pause longer than the session),
 * the commit error must make kafkajs rejoin, not crash: kafkajs wraps the
 * protocol error of a failed `commitOffsets` in a KafkaJSNonRetriableError
 * whose `type` is gone, and its runner then crashes the consumer for good
 * (node_modules/kafkajs/src/consumer/runner.js only rejoins on an error whose
 * `type` is UNKNOWN_MEMBER_ID or a rebalancing one). `membershipError` digs the
 * typed error out so it can be rethrown; the batch is then re-read after the
 * rejoin and the slot markers skip what was already applied.
 */

/** kafkajs error types meaning "this member no longer owns its partitions". */
export const MEMBERSHIP_ERROR_TYPES = new Set(['UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'NOT_COORDINATOR_FOR_GROUP']);

interface TypedError {
  type?: unknown;
  cause?: unknown;
}

/** The typed kafkajs error inside `err` (itself or a cause, a few levels deep) when it is a membership error. */
export function membershipError(err: unknown): Error | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    const t = (e as TypedError).type;
    if (typeof t === 'string' && MEMBERSHIP_ERROR_TYPES.has(t)) return e;
    e = (e as TypedError).cause;
  }
  return undefined;
}

/**
 * Runs `work` while calling `heartbeat` every `intervalMs` (kafkajs throttles
 * the requests to its heartbeatInterval). The first heartbeat failure stops
 * the heartbeats and is reported to `onError`: the group is rebalancing, and
 * the offset commit after the batch fails and makes the consumer rejoin.
 */
export async function withHeartbeats<T>(work: () => Promise<T>, heartbeat: () => Promise<void>, intervalMs: number, onError: (err: unknown) => void): Promise<T> {
  let stopped = false;
  let inFlight = false;
  const timer = setInterval(() => {
    if (stopped || inFlight) return;
    inFlight = true;
    heartbeat().then(
      () => {
        inFlight = false;
      },
      (err: unknown) => {
        inFlight = false;
        // After the batch, a failure here changes nothing: the commit that follows meets the same rebalance.
        if (stopped) return;
        stopped = true;
        onError(err);
      },
    );
  }, intervalMs);
  timer.unref();
  try {
    return await work();
  } finally {
    stopped = true;
    clearInterval(timer);
  }
}
