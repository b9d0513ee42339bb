/**
 * Publishes a once-per-cluster control event (FUNCTION LOAD …) once per source
 * cluster rather than once per master (DESIGN §2).
 *
 * Functions are per node, so an operator loads a library on every master
 * (`redis-cli --cluster call … FUNCTION LOAD …`) and every link sees the same
 * command. The publisher passes each such event through `admit` and produces
 * it only when admitted.
 *
 * Rule: the k-th occurrence of a command (same dedupeKey) is emitted once, by
 * the first link that reaches it. Per key and link we count occurrences; an
 * occurrence is admitted when the link's count exceeds every other link's.
 * This is order-independent across links (a lagging link's copies are
 * suppressed, whatever the interleaving) and still emits a genuine repeat
 * (LOAD, DELETE, LOAD again emits both LOADs).
 *
 * The link id must be stable per shard across failover (e.g. the shard's first
 * slot), not the master's node id: after a failover the new master continues
 * the same stream, and a fresh count would re-admit old occurrences.
 *
 * State is in memory. After a restart, replay from the checkpoints may emit an
 * occurrence again; the sink applies FUNCTION LOAD idempotently
 * (docs/events.md), so that is harmless.
 */
export class OncePerClusterFilter {
  private readonly counts = new Map<string, Map<string, number>>();

  /** true: publish this event; false: another link already published this occurrence. */
  admit(dedupeKey: string, linkId: string): boolean {
    let perLink = this.counts.get(dedupeKey);
    if (perLink === undefined) {
      perLink = new Map();
      this.counts.set(dedupeKey, perLink);
    }
    const mine = (perLink.get(linkId) ?? 0) + 1;
    let othersMax = 0;
    for (const [link, n] of perLink) if (link !== linkId && n > othersMax) othersMax = n;
    perLink.set(linkId, mine);
    return mine > othersMax;
  }

  /** Number of distinct commands tracked (for a gauge). */
  get size(): number {
    return this.counts.size;
  }
}
