import type { PartitionRange, ReadPartitionsResult } from '../../shared/partition-reader';
import type { WriteResult } from '../../sink/apply/target';
import type { ReplayItem } from './select';

/**
 * What a replay did, as text or JSON (--json). `selected` counts the events
 * (and their commands) that passed the filters, by kind, origin and
 * partition; `applied` the events the output took (for --dry-run: would have
 * taken), so a dry run's `selected` equals a real run's `applied + rejected`.
 */
interface Counts {
  events: number;
  commands: number;
  byKind: Record<string, number>;
  byOrigin: Record<string, number>;
  byPartition: Record<string, number>;
}

export class ReplaySummary {
  private readonly counts: Counts = { events: 0, commands: 0, byKind: {}, byOrigin: {}, byPartition: {} };
  applied = 0;
  readonly rejected: WriteResult['rejected'] = [];
  skipped: Record<string, number> = {};
  interrupted = false;
  private records = 0;
  private partitionsRead: number[] = [];
  private readonly started = Date.now();

  constructor(
    private readonly topic: string,
    private readonly output: string,
    private readonly dryRun: boolean,
    private readonly ranges: PartitionRange[],
  ) {}

  selected(items: ReplayItem[]): void {
    const c = this.counts;
    for (const i of items) {
      c.events++;
      c.commands += i.commands.length;
      c.byKind[i.event.kind] = (c.byKind[i.event.kind] ?? 0) + 1;
      c.byOrigin[i.event.origin] = (c.byOrigin[i.event.origin] ?? 0) + 1;
      c.byPartition[i.partition] = (c.byPartition[i.partition] ?? 0) + 1;
    }
  }

  written(r: WriteResult): void {
    this.applied += r.applied;
    this.rejected.push(...r.rejected);
  }

  read(r: ReadPartitionsResult): void {
    this.records = r.messages;
    this.partitionsRead = r.partitionsRead;
  }

  toJSON(): Record<string, unknown> {
    return {
      topic: this.topic,
      output: this.output,
      dryRun: this.dryRun,
      ranges: this.ranges.map((r) => ({ partition: r.partition, from: String(r.from), to: r.to === undefined ? null : String(r.to) })),
      partitionsRead: this.partitionsRead,
      records: this.records,
      selected: this.counts,
      applied: this.applied,
      rejected: this.rejected.length,
      rejections: this.rejected.slice(0, 20),
      skipped: this.skipped,
      interrupted: this.interrupted,
      durationMs: Date.now() - this.started,
    };
  }

  toText(): string {
    const c = this.counts;
    const kv = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    const lines = [
      `${this.dryRun ? 'dry run of' : 'replayed'} ${this.topic} → ${this.output}${this.interrupted ? ' (interrupted)' : ''}`,
      `  read       ${this.records} records from ${this.ranges.length} partition${this.ranges.length === 1 ? '' : 's'}`,
      `  selected   ${c.events} events, ${c.commands} commands (${kv(c.byKind)}; origins: ${kv(c.byOrigin)})`,
      `  ${this.dryRun ? 'would apply' : 'applied   '} ${this.applied} events`,
      `  skipped    ${kv(this.skipped)}`,
    ];
    if (this.rejected.length > 0) {
      lines.push(`  rejected   ${this.rejected.length} events by the target, e.g.:`);
      for (const r of this.rejected.slice(0, 5)) lines.push(`             partition ${r.partition} offset ${r.offset}: ${r.error}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
