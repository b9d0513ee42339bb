import { randomBytes } from 'node:crypto';
import { EVENT_FLAGS, type ChangeEvent } from '../shared/change-event';
import { payloadTagFlags } from '../shared/payload-sequence';
import type { Logger } from '../shared/logger';
import { RdbParser, type RdbEvent, type RdbKeyHeader } from '../rdb';
import type { EventBuilder } from './commands/event-builder';
import { itemFromRdbFunction, itemFromRdbKey } from './commands/link-items';
import type { LinkContext } from './commands/stream-items';
import type { RdbSink } from './replication/types';

export interface SnapshotSinkOptions {
  builder: EventBuilder;
  context: () => LinkContext;
  publish: (events: ChangeEvent[]) => Promise<void>;
  maxEventPayloadBytes: number;
  log: Logger;
  onBytes: (n: number) => void;
  onKey: () => void;
  /** Called when the whole RDB is parsed and published: the link may checkpoint at its offset. */
  onComplete: (info: { replid: string; offset: number; keys: number; bytes: number }) => void;
}

/**
 * Turns the RDB of a full resync into snapshot events, as it streams in.
 *
 * Each key becomes `RESTORE key ttl payload REPLACE ABSTTL […]` (one event).
 * A payload bigger than `maxEventPayloadBytes` cannot be one Kafka message, so
 * it travels as consecutive events of the key's slot: `snapshot` events
 * flagged `payload-chunk`, each with one command `[key, bytes]`, then the
 * RESTORE event flagged `payload-last` whose payload argument is empty; the
 * sink concatenates the chunks into the RESTORE (docs/events.md). Every
 * element of that sequence carries the id of this RDB transfer and its index
 * (`rdb-transfer:<id>`, `chunk:<i>`, shared/payload-sequence.ts): a transfer
 * that breaks inside the key leaves its chunks committed, and readers must
 * tell them from the retry's. The id is random, made when the RDB begins:
 * (replid, offset) of `+FULLRESYNC` repeats when an idle master serves two
 * full syncs.
 *
 * Function libraries become once-per-cluster control events (FUNCTION LOAD
 * REPLACE, see the event builder). AUX, RESIZEDB, SLOT_INFO and module
 * AUX data carry no keys and are skipped.
 *
 * The parser is pulled one event at a time while each is published, so memory
 * stays bounded by the parser's own bound plus one chunk.
 */
export class SnapshotSink implements RdbSink {
  private parser: RdbParser | undefined;
  private replid = '';
  private offset = 0;
  private keys = 0;
  private bytes = 0;
  /** id of the RDB transfer in progress, on every element of a big key's sequence */
  private transfer = '';
  private big: { header: RdbKeyHeader; pending: Buffer[]; pendingBytes: number; total: number; chunks: number } | undefined;

  constructor(private readonly o: SnapshotSinkOptions) {}

  begin(info: { replid: string; offset: number; size: number | null }): void {
    this.parser = new RdbParser({ maxInlinePayloadBytes: this.o.maxEventPayloadBytes });
    this.replid = info.replid;
    this.offset = info.offset;
    this.keys = 0;
    this.bytes = 0;
    this.big = undefined;
    this.transfer = randomBytes(8).toString('hex');
    this.o.log.warn({ replid: info.replid, offset: info.offset, size: info.size ?? 'diskless', transfer: this.transfer }, 'receiving the RDB of a full resync');
  }

  async write(chunk: Buffer): Promise<void> {
    const parser = this.requireParser();
    this.bytes += chunk.length;
    this.o.onBytes(chunk.length);
    parser.push(chunk);
    await this.drain(parser);
  }

  async end(): Promise<void> {
    const parser = this.requireParser();
    parser.end();
    await this.drain(parser);
    this.o.log.info({ keys: this.keys, bytes: this.bytes, replid: this.replid, offset: this.offset, transfer: this.transfer }, 'RDB parsed and published');
    this.o.onComplete({ replid: this.replid, offset: this.offset, keys: this.keys, bytes: this.bytes });
    this.parser = undefined;
  }

  abort(err: Error): void {
    this.o.log.warn(
      { err, keysSoFar: this.keys, transfer: this.transfer, inKey: this.big?.header.key.toString('latin1').slice(0, 200) },
      'RDB transfer aborted; the next attempt starts over (readers discard a big key left unfinished)',
    );
    this.parser = undefined;
    this.big = undefined;
  }

  private requireParser(): RdbParser {
    if (!this.parser) throw new Error('RDB data arrived before begin()');
    return this.parser;
  }

  private async drain(parser: RdbParser): Promise<void> {
    let ev: RdbEvent | undefined;
    while ((ev = parser.next()) !== undefined) await this.handle(ev);
  }

  private async handle(ev: RdbEvent): Promise<void> {
    switch (ev.kind) {
      case 'key':
        this.keys++;
        this.o.onKey();
        await this.o.publish(this.build(ev, ev.payload, []));
        return;
      case 'key-begin':
        this.big = { header: ev, pending: [], pendingBytes: 0, total: 0, chunks: 0 };
        return;
      case 'key-chunk': {
        const big = this.big;
        if (!big) throw new Error('RDB parser sent a key chunk outside a key');
        big.pending.push(ev.data);
        big.pendingBytes += ev.data.length;
        big.total += ev.data.length;
        while (big.pendingBytes >= this.o.maxEventPayloadBytes) await this.flushChunk(big, this.o.maxEventPayloadBytes);
        return;
      }
      case 'key-end': {
        const big = this.big;
        if (!big) throw new Error('RDB parser ended a key it never began');
        while (big.pendingBytes > 0) await this.flushChunk(big, this.o.maxEventPayloadBytes);
        this.big = undefined;
        this.keys++;
        this.o.onKey();
        this.o.log.info({ key: ev.key.toString('latin1').slice(0, 200), payloadBytes: ev.payloadBytes, chunks: big.chunks, transfer: this.transfer }, 'large key sent as payload chunks');
        await this.o.publish(this.build(ev, Buffer.alloc(0), [EVENT_FLAGS.payloadLast, ...payloadTagFlags(this.transfer, big.chunks)]));
        return;
      }
      case 'function':
        await this.o.publish(this.o.builder.build(itemFromRdbFunction(ev, this.offset), this.o.context()));
        return;
      default:
        return; // header, aux, selectdb, resizedb, slot-info, module-aux, end: no data to replicate
    }
  }

  private async flushChunk(big: NonNullable<SnapshotSink['big']>, max: number): Promise<void> {
    const all = big.pending.length === 1 ? big.pending[0] : Buffer.concat(big.pending);
    const part = all.subarray(0, max);
    const rest = all.subarray(max);
    big.pending = rest.length > 0 ? [rest] : [];
    big.pendingBytes = rest.length;
    const [restore] = this.build(big.header, Buffer.alloc(0), [EVENT_FLAGS.payloadChunk, ...payloadTagFlags(this.transfer, big.chunks++)]);
    restore.commands = [[big.header.key, Buffer.from(part)]];
    await this.o.publish([restore]);
  }

  private build(h: RdbKeyHeader, payload: Buffer, flags: string[]): ChangeEvent[] {
    const events = this.o.builder.build(itemFromRdbKey({ ...h, kind: 'key', payload }, this.offset), this.o.context());
    for (const e of events) e.flags.push(...flags);
    return events;
  }
}
