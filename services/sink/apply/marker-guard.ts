import { TandemError } from '../../shared/errors';
import type { MarkerValue } from '../../shared/marker';

/**
 * The guard that makes "check the marker, then apply" one atomic step
 * (issue 12 item 6). Each MULTI block of the writer is preceded, on the same
 * connection, by
 *
 *   WATCH <marker>
 *   EVAL <MARKER_GUARD> 1 <marker> <the value the sink based its skips on, "" = none> <"1" = a missing marker is ours>
 *   MULTI … EXEC
 *
 * WATCH catches a change of the marker between WATCH and EXEC (another sink,
 * another connection); the script catches one made before the WATCH: when
 * the marker is not the expected value it touches the key, which marks this
 * very client's watch dirty (redis/src/multi.c touchWatchedKey flags every
 * client watching the key, the writer included), so EXEC answers nil and
 * nothing of the block runs. The touch rewrites the same value (or creates and
 * deletes the key) with replication off, so nothing reaches replicas or the
 * source's stream and the data does not change.
 *
 * The fourth argument is "1" when the expected value is what this sink wrote
 * last over this very connection to this master (writer.ts missingIsOurs):
 * then a missing marker was deleted (FLUSHALL, eviction, DEL), not lost in a
 * failover, and the block runs (the script answers MARKER_GONE, counted as a
 * lost marker) instead of aborting; after a FLUSHALL of the target every slot
 * would otherwise abort its next block once and re-read its marker. Another
 * applier cannot hide behind it: its EXEC writes the marker, so a block of
 * ours checked after it sees a value, and one checked before it is caught by
 * the WATCH.
 *
 * Comparing on the server keeps the pipelining: a GET whose answer the sink
 * needed before sending MULTI would cost a round trip per block and keep the
 * connection's watch open across other slots' blocks (WATCH state belongs to
 * the connection; every EXEC clears all of it). Each block carries its own
 * WATCH and ends with its own EXEC, so blocks of many slots still share one
 * pipelined connection per master.
 */
export const MARKER_GUARD = [
  "local v = redis.call('GET', KEYS[1])",
  "if (v or '') == ARGV[1] then return 1 end",
  "if not v and ARGV[2] == '1' then return 2 end",
  'redis.set_repl(redis.REPL_NONE)',
  "if v then redis.call('SET', KEYS[1], v, 'KEEPTTL') else redis.call('SET', KEYS[1], ''); redis.call('DEL', KEYS[1]) end",
  'return 0',
].join('\n');

/** The guard's answer when the marker was missing and the block ran anyway (see above). */
export const MARKER_GONE = 2;

/**
 * The target lost writes this sink applied: after a failover of a target
 * master, a slot's marker reads back behind the address the sink applied
 * last (the replica that took over had not received them). The partition is
 * rewound to `offset` and re-read; the markers skip what the new master has,
 * so the lost events are applied again, once.
 */
export class TargetBehindError extends TandemError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: bigint,
    message: string,
  ) {
    super('TARGET_BEHIND', message);
  }

  /** The earliest rewind of several (one per slot found behind), per partition. */
  static earliest(errors: TargetBehindError[]): TargetBehindError {
    return errors.reduce((a, b) => (b.offset < a.offset ? b : a));
  }
}

/** The marker does not cover `applied`: what the sink applied is not all on the target. */
export function isBehind(marker: MarkerValue | null, applied: MarkerValue & { index: number }): boolean {
  if (marker === null) return true;
  if (marker.partition !== applied.partition) return false; // isApplied reports a partition change
  if (applied.offset !== marker.offset) return marker.offset < applied.offset;
  return marker.index !== undefined && marker.index < applied.index;
}
