import { SLOT_COUNT, slotPartition } from '../../shared/slot';

/**
 * The partitions of this DC's own changes topic that hold the slots of the
 * peer partitions a sink is assigned (partition = floor(slot × P / 16384) in
 * every topic). With the same P everywhere, as `tandem topics init` makes by
 * default, that is the same partition numbers; with another P, every own
 * partition sharing a slot with an assigned one.
 */
export function ownPartitionsFor(assignment: Record<string, number[]>, peerPartitions: ReadonlyMap<string, number>, ownPartitions: number): number[] {
  const out = new Set<number>();
  for (const [topic, partitions] of Object.entries(assignment)) {
    const p = peerPartitions.get(topic);
    if (p === undefined || partitions.length === 0) continue;
    const wanted = new Set(partitions);
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      if (wanted.has(slotPartition(slot, p))) out.add(slotPartition(slot, ownPartitions));
    }
  }
  return [...out].sort((a, b) => a - b);
}
