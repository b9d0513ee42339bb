/**
 * Turns what a replica link yields (stream-items.ts: the link's
 * ReplicationEvents and the RDB's keys) into ChangeEvents. Pure:
 * no sockets, no Kafka. Rules (docs/events.md "Building events"):
 *
 * - A keyed command is one `command` event in the slot of its keys. A command
 *   whose keys span slots is refused: cluster mode forbids it, so it means the
 *   master is not in cluster mode, which Tandem does not support.
 * - A MULTI…EXEC group is one `transaction` event (a `command` event when one
 *   command remains). If its commands span slots (scripts declared with
 *   `allow-cross-slot-keys` can do that on one node), it is split into one
 *   event per slot, in order, each flagged cross-slot-split, and counted:
 *   slots map to different partitions, so atomicity across them cannot be kept
 *   anyway, and refusing would lose data.
 * - Anti-loop (DESIGN §3): a group whose first write is `SET __tandem:{tag}:o:<dc> …`
 *   was applied by a sink. The SET becomes a `marker` event and every other
 *   event of the group gets origin <dc>. Everything else has origin = local DC.
 *   A lone marker SET (the sink's other commands changed nothing, so Redis
 *   dropped the MULTI) is a `marker` event too.
 * - Any other write of a `__tandem:` key is emitted, flagged reserved-key and
 *   counted; the sink refuses it.
 * - Keyless commands follow policy.ts; those without a row become `control`
 *   events in slot -1 and are counted.
 * - Stamps (docs/events.md "Stamps"): every keyed event of local origin
 *   carries its slot's version vector (slot-vectors.ts), built from the
 *   markers this builder reads; null while the slot's vector is unknown.
 */
import { EVENT_FLAGS, NO_SLOT, type ChangeEvent, type EventKind } from '../../shared/change-event';
import { TandemError } from '../../shared/errors';
import { isReservedKey, parseMarkerKey, type MarkerKey } from '../../shared/marker';
import { keySlot } from '../../shared/slot';
import type { CommandTable } from '../../commands/command-table';
import { argIs } from '../../commands/native-getkeys';
import type { ReplicatedCommand, ReplicationEvent } from '../replication/types';
import { effectiveAction, policyFor, type PolicyOptions } from './policy';
import type { SlotVectors } from './slot-vectors';
import { dedupeKeyOf, functionLoadArgv, snapshotEvent, type EventStamp } from './snapshot-events';
import type { LinkContext, StreamItem } from './stream-items';

/** A command and the db it runs in: what the builder reads of a ReplicatedCommand. */
type StreamCommand = Pick<ReplicatedCommand, 'argv' | 'db'>;

export type BuilderWarningCode = 'cross-slot-transaction' | 'reserved-key-write' | 'unknown-command' | 'keyless-command';

export interface BuilderWarning {
  code: BuilderWarningCode;
  message: string;
  /** lowercase command name */
  command: string;
}

export interface EventBuilderOptions extends PolicyOptions {
  localDc: string;
  commands: CommandTable;
  /** clock for capturedAt (tests pin it) */
  now?: () => number;
  /** every counted anomaly; the caller logs it (rate-limited) */
  onWarning?: (warning: BuilderWarning) => void;
  /** The version vectors that stamp local events; without it every stamp is null. */
  vectors?: SlotVectors;
  /** A node's vectors are unknown and no prime of it is under way: start one (vector-primer.ts). */
  onPrimeNeeded?: (nodeId: string) => void;
}

/** Monotonic counts for metrics; the caller exports them. */
export interface BuilderCounters {
  events: number;
  markers: number;
  /** PING / REPLCONF */
  neverReplicated: number;
  /** PUBLISH / SPUBLISH while disabled */
  publishDropped: number;
  auditOnly: number;
  oncePerCluster: number;
  keylessOther: number;
  unknownCommands: number;
  reservedKeyWrites: number;
  crossSlotSplits: number;
}

type Classified =
  | { type: 'skip' }
  | { type: 'control'; slot: number; flags: string[]; dedupeKey: string | null }
  | { type: 'keyed'; slot: number; reserved: boolean };

/** A stream event: what the grouping decided, stamped with the link's position. */
function streamEvent(
  origin: string,
  stamp: EventStamp,
  seq: number,
  u: { kind: EventKind; slot: number; db: number; commands: Buffer[][]; flags: string[]; dedupeKey: string | null },
): ChangeEvent {
  return {
    origin, source: stamp.source, kind: u.kind, slot: u.slot, db: u.db, commands: u.commands,
    replId: stamp.link.replId, replOffset: stamp.offset, nodeId: stamp.link.nodeId, capturedAt: stamp.capturedAt,
    seq, flags: u.flags, dedupeKey: u.dedupeKey,
  };
}

interface Unit {
  kind: 'group' | 'control';
  db: number;
  slot: number;
  commands: Buffer[][];
  flags: Set<string>;
  dedupeKey: string | null;
}

export class EventBuilder {
  readonly counters: BuilderCounters = {
    events: 0, markers: 0, neverReplicated: 0, publishDropped: 0, auditOnly: 0,
    oncePerCluster: 0, keylessOther: 0, unknownCommands: 0, reservedKeyWrites: 0, crossSlotSplits: 0,
  };
  private table: CommandTable;
  private readonly now: () => number;

  constructor(private readonly opts: EventBuilderOptions) {
    this.table = opts.commands;
    this.now = opts.now ?? Date.now;
  }

  /** A link to the node streams: read its markers now rather than at its first item (slot-vectors.ts). */
  linkStreaming(nodeId: string): void {
    if (this.opts.vectors?.needsPrime(nodeId)) this.opts.onPrimeNeeded?.(nodeId);
  }

  /** A full resync of the node: its slots' vectors are unknown until primed again (slot-vectors.ts). */
  forgetVectors(nodeId: string): void {
    this.opts.vectors?.forgetNode(nodeId);
  }

  /** Swap in a re-read COMMAND table (after MODULE LOAD, or when unknownCommands grows). */
  setCommandTable(table: CommandTable): void {
    this.table = table;
  }

  build(item: StreamItem, link: LinkContext): ChangeEvent[] {
    const fromStream = item.type === 'command' || item.type === 'transaction';
    const offset = 'checkpoint' in item ? item.checkpoint.offset : item.offset;
    const stamp: EventStamp = { source: this.opts.localDc, link, offset, capturedAt: this.now() };
    const vectors = this.opts.vectors;
    if (vectors !== undefined && fromStream) {
      if (vectors.needsPrime(link.nodeId)) this.opts.onPrimeNeeded?.(link.nodeId);
      vectors.advance(link.nodeId, offset);
    }
    let events: ChangeEvent[];
    switch (item.type) {
      case 'command':
      case 'transaction':
        events = this.fromStream(item, stamp);
        break;
      case 'snapshot':
        events = [snapshotEvent(item, stamp)];
        break;
      case 'snapshot-function':
        events = this.fromCommands([{ argv: functionLoadArgv(item), db: 0 }], this.opts.localDc, stamp, 0);
        break;
    }
    for (const e of events) {
      if (e.kind === 'marker') {
        this.counters.markers++;
        const argv = e.commands[0];
        if (vectors !== undefined && argv?.length === 3) vectors.onMarker(e.slot, e.origin, argv[2]);
      }
      // Only a local client's keyed write is judged against peers' writes (docs/sink.md "Conflicts").
      const local = e.origin === this.opts.localDc && e.slot !== NO_SLOT && (e.kind === 'command' || e.kind === 'transaction');
      e.stamp = local && vectors !== undefined ? vectors.stamp(e.slot) : null;
      if (e.flags.includes(EVENT_FLAGS.reservedKey)) this.counters.reservedKeyWrites++;
    }
    this.counters.events += events.length;
    return events;
  }

  /**
   * A command or a MULTI … EXEC group of the stream. Its first write decides
   * the origin: a marker SET means a sink applied the group (DESIGN §3).
   */
  private fromStream(item: ReplicationEvent, stamp: EventStamp): ChangeEvent[] {
    const [first, ...rest] = item.commands;
    const marker = markerOf(first.argv);
    if (marker === undefined) return this.fromCommands(item.commands, this.opts.localDc, stamp, 0);
    const events = [markerEvent(first.argv, first.db, marker, stamp, 0)];
    return rest.length === 0 ? events : events.concat(this.fromCommands(rest, marker.origin, stamp, 1));
  }

  /** Groups commands by (db, slot) in order of first appearance; keyless ones become control units. */
  private fromCommands(commands: readonly StreamCommand[], origin: string, stamp: EventStamp, seq0: number): ChangeEvent[] {
    // One command, the stream's common case: its event without the grouping's map, sets and keys (the same event).
    if (commands.length === 1) return this.fromCommand(commands[0], origin, stamp, seq0);
    const units: Unit[] = [];
    const groups = new Map<string, Unit>();
    for (const { argv, db } of commands) {
      const c = this.classify(argv);
      if (c.type === 'skip') continue;
      if (c.type === 'control') {
        units.push({ kind: 'control', db, slot: c.slot, commands: [argv], flags: new Set(c.flags), dedupeKey: c.dedupeKey });
      } else {
        const id = `${db}:${c.slot}`;
        let group = groups.get(id);
        if (group === undefined) {
          group = { kind: 'group', db, slot: c.slot, commands: [], flags: new Set(), dedupeKey: null };
          groups.set(id, group);
          units.push(group);
        }
        group.commands.push(argv);
        if (c.reserved) group.flags.add(EVENT_FLAGS.reservedKey);
      }
    }
    if (groups.size > 1) {
      this.counters.crossSlotSplits++;
      for (const g of groups.values()) g.flags.add(EVENT_FLAGS.crossSlotSplit);
      this.warn('cross-slot-transaction', commands[0]?.argv ?? [], `transaction spans ${groups.size} slots/dbs (${[...groups.keys()].join(', ')}); split into one event each`);
    }
    return units.map((u, n) => {
      const kind: EventKind = u.kind === 'control' ? 'control' : u.commands.length > 1 ? 'transaction' : 'command';
      return streamEvent(origin, stamp, seq0 + n, { kind, slot: u.slot, db: u.db, commands: u.commands, flags: [...u.flags], dedupeKey: u.dedupeKey });
    });
  }

  private fromCommand({ argv, db }: StreamCommand, origin: string, stamp: EventStamp, seq: number): ChangeEvent[] {
    const c = this.classify(argv);
    if (c.type === 'skip') return [];
    const control = c.type === 'control';
    return [
      streamEvent(origin, stamp, seq, {
        kind: control ? 'control' : 'command', slot: c.slot, db, commands: [argv],
        flags: control ? [...new Set(c.flags)] : c.reserved ? [EVENT_FLAGS.reservedKey] : [], dedupeKey: control ? c.dedupeKey : null,
      }),
    ];
  }

  private classify(argv: Buffer[]): Classified {
    const row = policyFor(argv);
    if (row !== undefined) {
      const action = effectiveAction(row, this.opts);
      switch (action) {
        case 'never':
          this.counters.neverReplicated++;
          return { type: 'skip' };
        case 'group':
        case 'track':
          // MULTI/EXEC and SELECT: the link's CommandStream grouped the
          // transaction and gave each command the db SELECT chose.
          return { type: 'skip' };
        case 'dropped':
          this.counters.publishDropped++;
          return { type: 'skip' };
        case 'audit-only':
          this.counters.auditOnly++;
          return { type: 'control', slot: NO_SLOT, flags: [EVENT_FLAGS.auditOnly], dedupeKey: null };
        case 'once-per-cluster':
          this.counters.oncePerCluster++;
          return { type: 'control', slot: NO_SLOT, flags: [EVENT_FLAGS.oncePerCluster], dedupeKey: dedupeKeyOf(argv) };
        case 'control': {
          const keys = this.keysOf(argv);
          return { type: 'control', slot: keys.length > 0 ? oneSlot(argv, keys) : NO_SLOT, flags: [EVENT_FLAGS.publish], dedupeKey: null };
        }
        case 'opt-in':
          throw new TandemError('INTERNAL', 'effectiveAction left an opt-in row unresolved');
      }
    }
    const keys = this.table.extractKeys(argv, { includeNotKeys: true });
    if (keys === undefined) {
      this.counters.unknownCommands++;
      this.warn('unknown-command', argv, 'command missing from the COMMAND table; emitted as a control event (refresh the table)');
      return { type: 'control', slot: NO_SLOT, flags: [EVENT_FLAGS.unknownCommand], dedupeKey: null };
    }
    if (keys.length === 0) {
      this.counters.keylessOther++;
      this.warn('keyless-command', argv, 'keyless command without a policy row; emitted as a control event');
      return { type: 'control', slot: NO_SLOT, flags: [], dedupeKey: null };
    }
    const reserved = keys.some((k) => isReservedKey(k));
    if (reserved) this.warn('reserved-key-write', argv, 'write to a reserved __tandem: key outside the marker pattern; emitted flagged, the sink refuses it');
    return { type: 'keyed', slot: oneSlot(argv, keys), reserved };
  }

  private keysOf(argv: Buffer[]): Buffer[] {
    const keys = this.table.extractKeys(argv, { includeNotKeys: true });
    if (keys === undefined) throw new TandemError('EVENT_ENCODE', `unknown command ${commandName(argv)} in snapshot commands`);
    return keys;
  }

  private warn(code: BuilderWarningCode, argv: Buffer[], message: string): void {
    this.opts.onWarning?.({ code, command: commandName(argv), message: `${commandName(argv)}: ${message}` });
  }
}

/** The slot of all keys; refuses keys in several slots (cluster mode forbids them). */
export function oneSlot(argv: Buffer[], keys: Buffer[]): number {
  const slot = keySlot(keys[0]);
  for (let i = 1; i < keys.length; i++) {
    const other = keySlot(keys[i]);
    if (other !== slot) {
      throw new TandemError(
        'EVENT_ENCODE',
        `${commandName(argv)} touches keys in slots ${slot} and ${other}: a cluster-mode master refuses that (CROSSSLOT), ` +
          'so this master is not in cluster mode or a module bypasses the check; Tandem needs every command in one slot',
      );
    }
  }
  return slot;
}

/** `SET <marker key> <value>` exactly as the sink writes it. */
function markerOf(argv: Buffer[]): MarkerKey | undefined {
  if (argv.length !== 3 || !argIs(argv[0], 'set')) return undefined;
  return parseMarkerKey(argv[1]);
}

function markerEvent(argv: Buffer[], db: number, marker: MarkerKey, stamp: EventStamp, seq: number): ChangeEvent {
  return {
    origin: marker.origin, source: stamp.source, kind: 'marker', slot: marker.slot, db, commands: [argv],
    replId: stamp.link.replId, replOffset: stamp.offset, nodeId: stamp.link.nodeId, capturedAt: stamp.capturedAt,
    seq, flags: [], dedupeKey: null,
  };
}

function commandName(argv: Buffer[]): string {
  return argv.length > 0 ? argv[0].toString('latin1').toLowerCase().slice(0, 64) : '(empty)';
}
