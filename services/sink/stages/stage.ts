import type { Logger } from '../../shared/logger';
import type { ApplyItem } from '../apply/apply-item';
import type { RestoreAssembler } from '../apply/restore-assembler';
import type { SinkSection } from '../config';
import type { FilterContext } from '../filter';
import type { DlqReason } from '../kafka/dlq';
import type { SinkMetrics } from '../metrics';

/**
 * A sink stage: one decision about one decoded event, in the order of
 * `STAGES` (index.ts), before the events that pass every stage are applied
 * in slot runs (batch-processor.ts). A stage answers undefined to pass the
 * event to the next stage, or one verdict:
 *
 *   drop     not applied; counted per batch in tandem_sink_events_dropped_total{reason}
 *   dlq      not applied; kept in the DLQ with the reason and error (`dropped`: also counted as a drop)
 *   apply    applied as this item (a stage may rewrite the commands)
 *   held     kept by the stage itself (a big key's chunk until its last one)
 *   keyless  a barrier: what is collected so far is applied first, then the keyless command
 *
 * A new stage is one file in this folder exporting its StageEntry as
 * `stage`; index.ts loads every file here and runs them by `order`.
 */
export type Verdict =
  | { drop: string }
  | { dlq: DlqReason; error: string; dropped?: string; headers?: Record<string, string> }
  | { apply: ApplyItem }
  | { held: true }
  | { keyless: true };

/** What a stage may read: the batch's partition and topic context, the sink's settings and its helpers. */
export interface StageContext {
  partition: number;
  filter: FilterContext;
  sink: SinkSection;
  /** the big-key assembler of the batch's topic */
  assembler: RestoreAssembler | undefined;
  metrics: SinkMetrics;
  log: Logger;
}

export type Stage = (item: ApplyItem, ctx: StageContext) => Verdict | undefined;

/**
 * A stage's entry in the folder (index.ts loads every file of it): `order`
 * places it, lower first. The stages of this folder use 10, 20, …, which
 * leaves room between any two; two stages may not share an order.
 */
export interface StageEntry {
  readonly name: string;
  readonly order: number;
  readonly run: Stage;
}
