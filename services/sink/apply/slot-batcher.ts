import { argBytes, type ApplyItem } from './apply-item';

/**
 * Turns the events of one Kafka partition batch into slot runs (DESIGN §4
 * "Throughput"). Each run becomes one MULTI with one marker carrying the run's
 * last offset, so a run of many events costs one round trip and one marker
 * write.
 *
 * Order: a slot lives in one partition and the batch is in partition order,
 * so grouping a slot's events (wherever they sit in the batch) keeps that
 * slot's order. Different slots are independent: their lanes may run in
 * parallel, while the runs of one lane must run one after the other.
 */
export interface RunLimits {
  maxCommands: number;
  maxBytes: number;
}

export interface SlotRun {
  slot: number;
  origin: string;
  partition: number;
  items: ApplyItem[];
}

/** Consecutive runs of one (slot, origin): apply them in order, one at a time. */
export type SlotLane = SlotRun[];

export function planLanes(items: readonly ApplyItem[], limits: RunLimits): SlotLane[] {
  // Keyed by origin, then slot: a sink's batch has one origin, replay's may have several.
  const byOrigin = new Map<string, Map<number, ApplyItem[]>>();
  for (const item of items) {
    let bySlot = byOrigin.get(item.event.origin);
    if (bySlot === undefined) byOrigin.set(item.event.origin, (bySlot = new Map()));
    let list = bySlot.get(item.event.slot);
    if (list === undefined) bySlot.set(item.event.slot, (list = []));
    list.push(item);
  }
  const lanes: SlotLane[] = [];
  for (const bySlot of byOrigin.values()) for (const list of bySlot.values()) lanes.push(splitRuns(list, limits));
  return lanes;
}

/** Splits one slot's events into runs under the limits; an event is never split, so an oversize event runs alone. */
export function splitRuns(items: readonly ApplyItem[], limits: RunLimits): SlotRun[] {
  const runs: SlotRun[] = [];
  let current: SlotRun | undefined;
  let commands = 0;
  let bytes = 0;
  for (const item of items) {
    const c = item.commands.length;
    const b = argBytes(item.commands);
    if (current !== undefined && (commands + c > limits.maxCommands || bytes + b > limits.maxBytes)) current = undefined;
    if (current === undefined) {
      current = { slot: item.event.slot, origin: item.event.origin, partition: item.record.partition, items: [] };
      runs.push(current);
      commands = 0;
      bytes = 0;
    }
    current.items.push(item);
    commands += c;
    bytes += b;
  }
  return runs;
}
