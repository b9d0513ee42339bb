import type { ApplyHook } from '../apply/apply-hook';
import type { ApplyItem, ItemOutcome } from '../apply/apply-item';
import type { ConflictDetector } from './conflict-detector';

/**
 * Conflict detection around the apply (docs/sink.md "Conflicts"): every
 * peer client write is expected before its MULTI is sent, and forgotten when
 * it was not applied after all; under lww no offset is committed past a peer
 * write not judged (or not repaired) yet, so a restart judges it again.
 */
export class ConflictHook implements ApplyHook {
  constructor(
    private readonly detector: ConflictDetector,
    private readonly policy: 'report' | 'lww',
  ) {}

  beforeApply(items: readonly ApplyItem[]): void {
    for (const item of items) if (judged(item)) this.detector.expect(item.event, addressOf(item), item.commands);
  }

  afterApply(outcomes: readonly ItemOutcome[]): void {
    // lww keeps one skipped as applied (after a restart): the previous run's judgment of it may be lost.
    const keep = this.policy === 'lww' ? 'skipped-applied' : 'applied';
    for (const out of outcomes) if (out.status !== 'applied' && out.status !== keep && judged(out.item)) this.detector.cancel(out.item.event, addressOf(out.item));
  }

  failed(items: readonly ApplyItem[]): void {
    for (const item of items) if (judged(item)) this.detector.cancel(item.event, addressOf(item));
  }

  holdBack(topicDc: string, partition: number): bigint | undefined {
    return this.policy === 'lww' ? this.detector.holdBack(topicDc, partition) : undefined;
  }
}

/** Conflict detection judges the client writes of a peer; snapshots carry no stamp, server deletions are not writes. */
function judged(item: ApplyItem): boolean {
  return item.event.kind === 'command' || item.event.kind === 'transaction';
}

function addressOf(item: ApplyItem): { partition: number; offset: bigint; index: number } {
  return { partition: item.record.partition, offset: item.offset, index: item.index };
}
