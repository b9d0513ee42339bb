import { EVENT_FLAGS, type ChangeEvent } from '../shared/change-event';
import { decodeChangeRecord, readRecordHeaders } from '../shared/change-record';
import { errorMessage } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { ApplyHook } from './apply/apply-hook';
import type { ApplyItem, ItemOutcome, SourceRecord } from './apply/apply-item';
import type { ControlApplier } from './apply/control-applier';
import type { RestoreAssembler } from './apply/restore-assembler';
import { planLanes } from './apply/slot-batcher';
import { TargetBehindError } from './apply/marker-guard';
import { ApplyLedger, type Writer } from './apply/writer';
import type { SinkSection } from './config';
import { filterRecord, topicDcOf, type FilterContext } from './filter';
import type { PartitionBatch } from './kafka/consumer';
import type { DlqEntry, DlqProducer } from './kafka/dlq';
import type { SinkMetrics } from './metrics';
import { judge, type StageContext } from './stages';

/**
 * One partition batch, from records to the offset to commit:
 *
 * 1. filter whole records on their headers (origins, kinds) without
 *    decoding; decode the rest into their events (a record that does not
 *    decode goes to the DLQ);
 * 2. each event goes through the sink's stages (stages/index.ts: the origin
 *    rule, reserved keys, keyless barriers, snapshots and big keys, server
 *    deletions), which drop it, send it to the DLQ, hold it, or let it be
 *    applied; keyed events collect into slot runs;
 * 3. a keyless (control) event is a barrier: the runs before it are applied
 *    first, then it, so its order against keyed writes of the partition holds;
 *    the hooks (apply/apply-hook.ts: conflict detection) see every run of
 *    slot runs before and after it is applied (flush);
 * 4. the writes are made durable: WAIT for the target's replicas on every
 *    master the batch wrote to (sink.waitReplicas), so that no offset is
 *    committed past a write a failover of the target could still lose;
 * 5. DLQ records are produced, then the offset is returned for commit: past
 *    the batch, or up to the first chunk of a big key still being assembled.
 *    A big key that its transfer left unfinished is discarded (counted, logged
 *    by the assembler's owner) and holds nothing back.
 *
 * A slot found behind what this sink applied (a failover of the target lost
 * writes) throws TargetBehindError once the batch's other lanes finished and
 * its DLQ records are out: the caller rewinds the partition.
 */
export interface BatchProcessorOptions {
  localDc: string;
  sink: SinkSection;
  writer: Writer;
  control: ControlApplier;
  dlq: Pick<DlqProducer, 'send'>;
  assemblers: Map<string, RestoreAssembler>;
  metrics: SinkMetrics;
  log: Logger;
  /** steps around each apply (apply/apply-hook.ts): sink.conflicts' detection */
  hooks?: readonly ApplyHook[];
  /** a batch was processed up to `lastOffset` (sink.conflicts: lww waits for it after a restart) */
  onProcessed?: (topic: string, partition: number, lastOffset: bigint) => void;
}

export class BatchProcessor {
  /** Counter and histogram children per label set, looked up once: prom-client hashes the labels on every labelled call, per batch. */
  private readonly appliedBy = new Map<string, ReturnType<SinkMetrics['eventsApplied']['labels']>>();
  private readonly latencyBy = new Map<string, ReturnType<SinkMetrics['applyLatency']['labels']>>();

  constructor(private readonly o: BatchProcessorOptions) {}

  async process(b: PartitionBatch): Promise<bigint> {
    const { o } = this;
    const topicDc = topicDcOf(b.topic);
    if (topicDc === undefined) throw new Error(`not a changes topic: ${b.topic}`);
    const ctx: FilterContext = { localDc: o.localDc, topicDc };
    const assembler = o.assemblers.get(b.topic);
    const dlq: DlqEntry[] = [];
    const ledger = new ApplyLedger();
    try {
      return await this.run(b, ctx, assembler, dlq, ledger);
    } catch (err) {
      // Events the target rejected were applied (their marker moved past them): their DLQ records must not be lost to the rewind.
      if (err instanceof TargetBehindError) await o.dlq.send(dlq);
      throw err;
    }
  }

  private async run(
    b: PartitionBatch,
    ctx: FilterContext,
    assembler: RestoreAssembler | undefined,
    dlq: DlqEntry[],
    ledger: ApplyLedger,
  ): Promise<bigint> {
    const { o } = this;
    let segment: ApplyItem[] = [];
    const drops = new Map<string, number>();
    const stages: StageContext = { partition: b.partition, filter: ctx, sink: o.sink, assembler, metrics: o.metrics, log: o.log };

    // Counted once per batch: a labelled inc per record hashes its labels each time.
    let received = 0;
    for (const m of b.messages) {
      const record: SourceRecord = { topic: b.topic, partition: b.partition, offset: m.offset, key: m.key, value: m.value, headers: m.headers };
      let events: ChangeEvent[];
      try {
        const summary = readRecordHeaders(m.headers);
        const d = filterRecord(summary, ctx);
        if (d.action === 'drop') {
          received += summary.count ?? 1;
          o.metrics.dropped.inc({ reason: d.reason }, summary.count ?? 1);
          continue;
        }
        if (m.value === null) throw new Error('record has no value');
        events = decodeChangeRecord(m.value);
      } catch (err) {
        o.metrics.dlq.inc({ reason: 'decode' });
        dlq.push({ record, reason: 'decode', error: errorMessage(err), origin: headerText(m.headers?.origins ?? m.headers?.origin) });
        continue;
      }
      received += events.length;
      const offset = BigInt(m.offset);
      for (let index = 0; index < events.length; index++) {
        const event = events[index];
        // Before any stage: an event of the same source node ends a big key it left unfinished.
        assembler?.observe(b.partition, { offset, index }, event);
        const item: ApplyItem = { record, offset, index, event, commands: event.commands };
        const v = judge(item, stages);
        if (v === undefined) segment.push(item); // command, transaction, and an eviction when sink.applyEvictions is on
        else if ('apply' in v) segment.push(v.apply);
        else if ('drop' in v) drops.set(v.drop, (drops.get(v.drop) ?? 0) + 1);
        else if ('dlq' in v) {
          if (v.dropped !== undefined) o.metrics.dropped.inc({ reason: v.dropped });
          this.toDlq(dlq, item, v.dlq, v.error, v.headers);
        } else if ('keyless' in v) {
          await this.flush(segment, dlq, ledger);
          segment = [];
          await this.applyControl(item, dlq);
          await b.heartbeat();
        }
        // held: a stage keeps it (a big key's chunk)
      }
    }
    if (received > 0) o.metrics.eventsIn.inc({ topic: b.topic }, received);
    await this.flush(segment, dlq, ledger);
    for (const [reason, n] of drops) o.metrics.dropped.inc({ reason }, n);
    // No offset is committed past a write the target's replicas have not acknowledged (sink.waitReplicas).
    const [durable, sent] = await Promise.allSettled([o.writer.makeDurable(ledger), o.dlq.send(dlq.splice(0))]);
    if (sent.status === 'rejected') throw sent.reason;
    if (durable.status === 'rejected') throw durable.reason;
    o.metrics.restoreBytesHeld.set([...o.assemblers.values()].reduce((n, a) => n + a.heldBytes, 0));
    const next = b.lastOffset + 1n;
    o.metrics.lag.set({ topic: b.topic, partition: String(b.partition) }, Number(b.highWatermark > next ? b.highWatermark - next : 0n));
    o.onProcessed?.(b.topic, b.partition, b.lastOffset);
    let hold = assembler?.holdBack(b.partition);
    for (const hook of o.hooks ?? []) {
      const held = hook.holdBack(ctx.topicDc, b.partition);
      if (held !== undefined && (hold === undefined || held < hold)) hold = held;
    }
    return hold !== undefined && hold < next ? hold : next;
  }

  private async flush(items: ApplyItem[], dlq: DlqEntry[], ledger: ApplyLedger): Promise<void> {
    if (items.length === 0) return;
    const lanes = planLanes(items, { maxCommands: this.o.sink.maxCommandsPerTransaction, maxBytes: this.o.sink.maxTransactionBytes });
    this.o.metrics.transactions.inc(lanes.reduce((n, l) => n + l.length, 0));
    const hooks = this.o.hooks ?? [];
    for (const hook of hooks) hook.beforeApply(items);
    // Settled, not all: when one lane finds its slot behind, the other lanes' outcomes (DLQ records) still count.
    const settled = await Promise.allSettled(lanes.map((lane) => this.o.writer.applyLane(lane, ledger)));
    const behind: TargetBehindError[] = [];
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') {
        for (const hook of hooks) hook.afterApply(s.value);
        this.account(s.value, dlq);
        return;
      }
      // A failed lane is re-read (a rewind, or after a restart): its events are applied again later.
      if (hooks.length > 0) {
        const again = lanes[i].flatMap((run) => run.items);
        for (const hook of hooks) hook.failed(again);
      }
      if (s.reason instanceof TargetBehindError) behind.push(s.reason);
    });
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !(s.reason instanceof TargetBehindError));
    if (failed !== undefined) throw failed.reason;
    if (behind.length > 0) throw TargetBehindError.earliest(behind);
  }

  private account(outcomes: ItemOutcome[], dlq: DlqEntry[]): void {
    const { metrics, log } = this.o;
    const now = Date.now();
    // Counters are incremented once per (label set) and batch: a labelled inc per event was a hot spot.
    // A batch's events mostly share one origin and kind: counted without a map until a second one shows up.
    let applied: Map<string, { origin: string; kind: string; n: number }> | undefined;
    let one: { origin: string; kind: string; n: number } | undefined;
    let latencySource: string | undefined;
    let latency: ReturnType<SinkMetrics['applyLatency']['labels']> | undefined;
    let alreadyApplied = 0;
    let exists = 0;
    let notDue = 0;
    for (const out of outcomes) {
      const e = out.item.event;
      switch (out.status) {
        case 'applied': {
          if (one === undefined) one = { origin: e.origin, kind: e.kind, n: 1 };
          else if (one.origin === e.origin && one.kind === e.kind) one.n++;
          else {
            applied ??= new Map([[`${one.origin}/${one.kind}`, one]]);
            const id = `${e.origin}/${e.kind}`;
            const c = applied.get(id);
            if (c === undefined) applied.set(id, { origin: e.origin, kind: e.kind, n: 1 });
            else c.n++;
          }
          if (latency === undefined || latencySource !== e.source) {
            latencySource = e.source;
            latency = this.latencyBy.get(e.source);
            if (latency === undefined) this.latencyBy.set(e.source, (latency = metrics.applyLatency.labels({ source: e.source })));
          }
          latency.observe(Math.max(0, now - e.capturedAt) / 1000);
          break;
        }
        case 'skipped-applied':
          alreadyApplied++;
          break;
        case 'skipped-not-due':
          notDue++;
          break;
        case 'skipped-exists':
          exists++;
          log.debug({ key: e.commands[0]?.[1]?.toString('latin1').slice(0, 200) }, 'snapshot key exists; if-absent leaves it');
          break;
        case 'rejected':
          this.toDlq(dlq, out.item, 'rejected', out.error);
          break;
      }
    }
    for (const c of applied?.values() ?? (one === undefined ? [] : [one])) this.appliedCounter(c.origin, c.kind).inc(c.n);
    if (alreadyApplied > 0) metrics.dropped.inc({ reason: 'already-applied' }, alreadyApplied);
    if (exists > 0) metrics.dropped.inc({ reason: 'snapshot-exists' }, exists);
    if (notDue > 0) metrics.dropped.inc({ reason: 'expiry-not-due' }, notDue);
  }

  private appliedCounter(origin: string, kind: string): ReturnType<SinkMetrics['eventsApplied']['labels']> {
    const id = `${origin}/${kind}`;
    let c = this.appliedBy.get(id);
    if (c === undefined) this.appliedBy.set(id, (c = this.o.metrics.eventsApplied.labels({ origin, kind })));
    return c;
  }

  private async applyControl(item: ApplyItem, dlq: DlqEntry[]): Promise<void> {
    const { sink, metrics, log, control } = this.o;
    const e = item.event;
    const argv = e.commands[0];
    const name = argv?.[0]?.toString('latin1').toLowerCase() ?? '';
    const full = ['function', 'script'].includes(name) && argv.length > 1 ? `${name} ${argv[1].toString('latin1').toLowerCase()}` : name;
    if (argv === undefined || e.commands.length !== 1) {
      this.toDlq(dlq, item, 'invalid-event', 'control event must carry exactly one command');
      return;
    }
    const onEveryMaster = async () => {
      const errors = await control.onEveryMaster(argv, e.origin);
      if (errors.length > 0) {
        this.toDlq(dlq, item, 'rejected', errors.join('; '));
      } else {
        metrics.controlApplied.inc({ command: full });
        metrics.eventsApplied.inc({ origin: e.origin, kind: e.kind });
        log.info({ command: full, origin: e.origin }, 'keyless command applied on every target master');
      }
    };
    if (e.flags.includes(EVENT_FLAGS.oncePerCluster)) return onEveryMaster();
    if (e.flags.includes(EVENT_FLAGS.auditOnly)) {
      if (sink.applyFlush) return onEveryMaster();
      metrics.dropped.inc({ reason: 'audit-only' });
      log.warn({ command: full, origin: e.origin, topic: item.record.topic, offset: item.record.offset }, 'audit-only command not applied (sink.applyFlush is off)');
      return;
    }
    if (e.flags.includes(EVENT_FLAGS.publish)) {
      if (!sink.applyPublish) {
        metrics.dropped.inc({ reason: 'publish' });
        return;
      }
      await control.publish(argv, e.slot);
      metrics.eventsApplied.inc({ origin: e.origin, kind: e.kind });
      return;
    }
    this.toDlq(dlq, item, 'control-unknown', `keyless command ${full} has no sink rule (flags: ${e.flags.join(',') || 'none'})`);
  }

  private toDlq(dlq: DlqEntry[], item: ApplyItem, reason: DlqEntry['reason'], error: string, extraHeaders?: Record<string, string>): void {
    this.o.metrics.dlq.inc({ reason });
    dlq.push({ record: item.record, event: { event: item.event, index: item.index }, reason, error, origin: item.event.origin, extraHeaders });
  }
}

function headerText(v: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : one.toString();
}
