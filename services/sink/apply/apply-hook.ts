import type { ApplyItem, ItemOutcome } from './apply-item';

/**
 * A step around the apply of a partition batch (batch-processor.ts), where a
 * stage (stages/) cannot be: it needs to know what is about to be written
 * and what came of it. Conflict detection (sink.conflicts) is one: it must
 * expect a peer write before its MULTI is sent (the marker may come back
 * through the own topic any time after), forget those that were not applied,
 * and, under lww, hold the offset of writes it has not judged yet. The sink
 * passes its hooks to the BatchProcessor; a new one is one file implementing
 * this, and its line where the sink builds its hooks (sink-service.ts).
 */
export interface ApplyHook {
  /** Before the MULTIs of these items are sent. */
  beforeApply(items: readonly ApplyItem[]): void;
  /** What came of one lane that ran to its end. */
  afterApply(outcomes: readonly ItemOutcome[]): void;
  /** A lane that failed (a rewind, a restart): its items will be read and applied again. */
  failed(items: readonly ApplyItem[]): void;
  /** The lowest offset of the partition that may not be committed yet, if the hook holds one. */
  holdBack(topicDc: string, partition: number): bigint | undefined;
}
