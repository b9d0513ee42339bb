import { TandemError } from '../../shared/errors';
import { formatMarkerValue, isCoveredBy, parseMarkerValue, type MarkerValue } from '../../shared/marker';
import { SLOT_COUNT } from '../../shared/slot';

/**
 * The address of the last event applied per (slot, origin), as stored in the
 * target's marker key (DESIGN §4 "Exactly-once apply"). Read lazily with GET the
 * first time a slot is met, then kept up to date by the sink's own applies.
 *
 * It is cleared whenever the partition assignment changes (another sink may
 * have applied meanwhile) and an entry is dropped whenever an apply fails
 * ambiguously (a lost connection may or may not have run the EXEC), so the
 * next attempt re-reads the truth from Redis.
 */
export type MarkerReader = (slot: number, origin: string) => Promise<Buffer | string | null>;

/** A marker as the cache knows it, with the exact text stored in Redis (what the writer's guard compares). */
export type CachedMarker = MarkerValue & { raw: string };

export class MarkerCache {
  /** Per origin, per slot: the value; null: read, no marker; undefined: not read. */
  private readonly values = new Map<string, (CachedMarker | null | undefined)[]>();
  private count = 0;

  constructor(private readonly read: MarkerReader) {}

  private slots(origin: string): (CachedMarker | null | undefined)[] {
    let slots = this.values.get(origin);
    if (slots === undefined) this.values.set(origin, (slots = new Array<CachedMarker | null | undefined>(SLOT_COUNT)));
    return slots;
  }

  /** The cached marker without reading Redis: undefined when it is not cached (then `get` reads it). */
  peek(slot: number, origin: string): CachedMarker | null | undefined {
    return this.values.get(origin)?.[slot];
  }

  async get(slot: number, origin: string): Promise<CachedMarker | null> {
    const slots = this.slots(origin);
    const cached = slots[slot];
    if (cached !== undefined) return cached;
    const raw = await this.read(slot, origin);
    let value: CachedMarker | null = null;
    if (raw !== null) {
      const parsed = parseMarkerValue(raw);
      // Never read a malformed marker as "no marker": that would re-apply history.
      if (parsed === undefined) {
        throw new TandemError('TARGET_REJECTED', `marker of slot ${slot}, origin ${origin} holds ${JSON.stringify(String(raw).slice(0, 80))}, not <partition>:<offset>[:<index>]; fix or delete it by hand after checking the data`);
      }
      value = { ...parsed, raw: typeof raw === 'string' ? raw : raw.toString('latin1') };
    }
    this.put(slots, slot, value);
    return value;
  }

  /** What the sink's own EXEC just wrote (always with an index); `raw`, the text it wrote, when the caller has it. */
  set(slot: number, origin: string, value: MarkerValue & { index: number }, raw?: string): void {
    this.put(this.slots(origin), slot, { partition: value.partition, offset: value.offset, index: value.index, raw: raw ?? formatMarkerValue(value.partition, value.offset, value.index) });
  }

  invalidate(slot: number, origin: string): void {
    const slots = this.values.get(origin);
    if (slots?.[slot] === undefined) return;
    slots[slot] = undefined;
    this.count--;
  }

  clear(): void {
    this.values.clear();
    this.count = 0;
  }

  get size(): number {
    return this.count;
  }

  private put(slots: (CachedMarker | null | undefined)[], slot: number, value: CachedMarker | null): void {
    if (slots[slot] === undefined) this.count++;
    slots[slot] = value;
  }
}

/**
 * True when the event at (partition, offset, index) is at or below the
 * marker, i.e. was applied already. A marker of another partition means the topic's
 * partition count changed (which moves slots) or someone else wrote the key:
 * guessing either way could lose or double writes, so it stops the sink.
 */
export function isApplied(marker: MarkerValue | null, partition: number, offset: bigint, index: number, where: { toString(): string }): boolean {
  if (marker === null) return false;
  if (marker.partition !== partition) {
    throw new TandemError(
      'TOPIC_MISMATCH',
      `${String(where)}: marker says partition ${marker.partition} but the event is in partition ${partition}; ` +
        'the changes topic\'s partition count changed, which splits slot histories. Restore it or re-seed this DC.',
    );
  }
  return isCoveredBy(marker, offset, index);
}
