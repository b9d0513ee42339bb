import { Writable } from 'node:stream';
import { CommandTable } from '../../../services/commands/command-table';
import { EVENT_FLAGS, eventPartition, type ChangeEvent } from '../../../services/shared/change-event';
import { decodeChangeRecord, encodeChangeRecord } from '../../../services/shared/change-record';
import { createLogger } from '../../../services/shared/logger';
import { CHUNK_INDEX_FLAG, RDB_TRANSFER_FLAG, payloadTagOf } from '../../../services/shared/payload-sequence';
import { RestoreAssembler, type Address, type DiscardedSequence } from '../../../services/sink/apply/restore-assembler';
import { EventBuilder } from '../../../services/source/commands/event-builder';
import { SnapshotSink } from '../../../services/source/snapshot-sink';
import { argvOf, loadCommandFixture } from '../commands/command-fixture';
import { loadFixture } from '../rdb/fixture-helpers';

/**
 * The rules that turn a partition's big-key chunk sequences into RESTOREs,
 * on real events: a real RDB (Redis 7.2.6 fixture) goes through the source's
 * SnapshotSink with 1 KiB chunks, each event is framed as the Kafka record the
 * publisher writes and decoded back, and the events are read per partition as
 * the sink reads them (observe every event, then add chunks and complete).
 * A broken transfer is what Kafka holds after one: a prefix of its events.
 */
const P = 4;
const CHUNK = 1024;
const { rdb, expected } = loadFixture('redis-7.2.6', 'standalone');
const BIG = 'db0:hash:big'; // 29903 bytes: 30 chunks
const dumpOf = (key: string) => Buffer.from(expected.dbs['0'][key].dump, 'base64');
const table = CommandTable.fromCommandReply(loadCommandFixture().command);
const silent = createLogger('test', { level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

function builder(): EventBuilder {
  return new EventBuilder({ localDc: 'a', commands: table, now: () => 1_732_540_000_000, onWarning: () => {} });
}

/** The events of one RDB transfer from node `nodeId`, as readers decode them from Kafka. */
async function transfer(nodeId = 'node-1', replid = 'r'.repeat(40), offset = 100): Promise<ChangeEvent[]> {
  const events: ChangeEvent[] = [];
  const sink = new SnapshotSink({
    builder: builder(),
    context: () => ({ nodeId, replId: replid }),
    publish: async (batch) => {
      // one record per event, as a chunk always is: real bytes, read back
      for (const e of batch) events.push(...decodeChangeRecord(encodeChangeRecord([e])));
    },
    maxEventPayloadBytes: CHUNK,
    log: silent,
    onBytes: () => {},
    onKey: () => {},
    onComplete: () => {},
  });
  sink.begin({ replid, offset, size: rdb.length });
  for (let i = 0; i < rdb.length; i += 4096) await sink.write(rdb.subarray(i, i + 4096));
  await sink.end();
  return events.filter((e) => e.db === 0); // keys of other dbs are the same story
}

const keyOf = (e: ChangeEvent): string => (e.flags.includes(EVENT_FLAGS.payloadChunk) ? e.commands[0][0] : e.commands[0][1]).toString('latin1');
const isChunk = (e: ChangeEvent) => e.flags.includes(EVENT_FLAGS.payloadChunk);
const isLast = (e: ChangeEvent) => e.flags.includes(EVENT_FLAGS.payloadLast);

/** `events` up to and including the `n`-th chunk of `key`: what Kafka holds when the transfer broke there. */
function brokenAfterChunk(events: ChangeEvent[], key: string, n: number): ChangeEvent[] {
  let seen = 0;
  const at = events.findIndex((e) => isChunk(e) && keyOf(e) === key && ++seen === n);
  expect(at).toBeGreaterThan(0);
  return events.slice(0, at + 1);
}

/** A command of the link's stream after the RDB, in `key`'s slot. */
function streamCommand(nodeId: string, ...argv: string[]): ChangeEvent {
  const replId = 'r'.repeat(40);
  const command = { argv: argvOf(...argv), db: 0, offsetAfter: 500 };
  const [e] = builder().build({ type: 'command', db: 0, commands: [command], checkpoint: { replid: replId, offset: 500, db: 0 } }, { nodeId, replId });
  return decodeChangeRecord(encodeChangeRecord([e]))[0];
}

interface Read {
  restored: Map<string, Buffer>;
  missing: string[];
  discarded: DiscardedSequence[];
  /** holdBack of each partition after the last event */
  held: (bigint | undefined)[];
}

/** Reads a topic as the sink does: each partition in order, one record per event (offset = position). */
function read(events: ChangeEvent[], a = new RestoreAssembler(1 << 20)): Read & { a: RestoreAssembler } {
  const discarded: DiscardedSequence[] = [];
  const assembler = new RestoreAssembler(a.maxBytes, (d) => discarded.push(d));
  const restored = new Map<string, Buffer>();
  const missing: string[] = [];
  const logs: ChangeEvent[][] = Array.from({ length: P }, () => []);
  for (const e of events) logs[eventPartition(e, P)].push(e);
  logs.forEach((log, partition) => log.forEach((e, i) => take(assembler, partition, { offset: BigInt(i), index: 0 }, e, restored, missing)));
  return { a: assembler, restored, missing, discarded, held: logs.map((_, p) => assembler.holdBack(p)) };
}

function take(a: RestoreAssembler, partition: number, at: Address, e: ChangeEvent, restored: Map<string, Buffer>, missing: string[]): void {
  a.observe(partition, at, e);
  if (isChunk(e)) a.addChunk(partition, at, e);
  else if (isLast(e)) {
    const c = a.complete(partition, at, e);
    if (c.status === 'ok') restored.set(keyOf(e), c.argv[3]);
    else missing.push(keyOf(e));
  }
}

const stripTags = (e: ChangeEvent): ChangeEvent => ({ ...e, flags: e.flags.filter((f) => !f.startsWith(RDB_TRANSFER_FLAG) && !f.startsWith(CHUNK_INDEX_FLAG)) });

describe('big-key sequences: transfer id and index on every element', () => {
  test('each chunk and the payload-last carry the transfer id and their index; a complete transfer rebuilds every big key', async () => {
    const events = await transfer();
    const big = events.filter((e) => (isChunk(e) || isLast(e)) && keyOf(e) === BIG);
    expect(big.length).toBeGreaterThanOrEqual(21); // ≥ 20 chunks + the RESTORE
    const tags = big.map((e) => payloadTagOf(e.flags));
    expect(new Set(tags.map((t) => t.transfer)).size).toBe(1);
    expect(tags[0].transfer).toMatch(/^[0-9a-f]{16}$/);
    expect(tags.map((t) => t.index)).toEqual(big.map((_, i) => i));
    const r = read(events);
    const chunked = [...new Set(events.filter(isLast).map(keyOf))];
    expect(chunked).toContain(BIG);
    for (const key of chunked) expect(r.restored.get(key)?.equals(dumpOf(key))).toBe(true);
    expect(r.discarded).toEqual([]);
    expect(r.held).toEqual([undefined, undefined, undefined, undefined]);
  });

  test('an idle master serving two full syncs (same replid and offset) still gives two transfer ids', async () => {
    const [t1, t2] = [await transfer(), await transfer()];
    const id = (events: ChangeEvent[]) => payloadTagOf(events.find(isChunk)!.flags).transfer;
    expect(t1.find(isChunk)!.replOffset).toBe(t2.find(isChunk)!.replOffset);
    expect(id(t1)).not.toBe(id(t2));
  });
});

describe('a full sync that broke inside a big key', () => {
  test('the retry rebuilds the key from its own chunks only; the orphan is discarded and holds nothing', async () => {
    const broken = brokenAfterChunk(await transfer(), BIG, 7);
    const retry = await transfer();
    const r = read([...broken, ...retry]);
    expect(r.restored.get(BIG)?.equals(dumpOf(BIG))).toBe(true);
    const orphan = r.discarded.filter((d) => d.key.toString() === BIG);
    expect(orphan).toHaveLength(1);
    expect(orphan[0]).toMatchObject({ chunks: 7, transfer: payloadTagOf(broken[broken.length - 1].flags).transfer });
    expect(['superseded', 'transfer-ended']).toContain(orphan[0].reason);
    expect(r.missing).toEqual([]);
    expect(r.held).toEqual([undefined, undefined, undefined, undefined]);
  });

  test('superseded: the next thing in the partition is the retry re-sending the key', async () => {
    const broken = brokenAfterChunk(await transfer(), BIG, 5);
    const again = (await transfer()).filter((e) => (isChunk(e) || isLast(e)) && keyOf(e) === BIG);
    const r = read([...broken, ...again]);
    expect(r.restored.get(BIG)?.equals(dumpOf(BIG))).toBe(true);
    expect(r.discarded.map((d) => [d.key.toString(), d.reason, d.chunks, String(d.firstOffset)])).toEqual([
      [BIG, 'superseded', 5, String(broken.filter((e) => eventPartition(e, P) === eventPartition(again[0], P)).findIndex((e) => isChunk(e) && keyOf(e) === BIG))],
    ]);
    expect(r.discarded[0].endedBy.transfer).toBe(payloadTagOf(again[0].flags).transfer);
  });

  test('transfer-ended: the retried RDB lacks the key; the link\'s next event in the partition releases the commit', async () => {
    const broken = brokenAfterChunk(await transfer(), BIG, 9);
    const p = eventPartition(broken[broken.length - 1], P);
    const before = read(broken);
    expect(before.held[p]).toBeDefined(); // open: the commit waits at its first chunk
    const retry = (await transfer()).filter((e) => !((isChunk(e) || isLast(e)) && keyOf(e) === BIG)); // the key was deleted meanwhile
    const next = streamCommand('node-1', 'DEL', BIG); // the stream after the RDB, same slot
    const r = read([...broken, ...retry, next]);
    expect(r.restored.has(BIG)).toBe(false);
    expect(r.discarded.map((d) => [d.key.toString(), d.reason, d.chunks])).toEqual([[BIG, 'transfer-ended', 9]]);
    expect(r.held[p]).toBeUndefined();
    expect(r.missing).toEqual([]);
  });

  test('another node\'s events interleaved in the partition end nothing', async () => {
    const one = (await transfer('node-1')).filter((e) => (isChunk(e) || isLast(e)) && keyOf(e) === BIG);
    const two = (await transfer('node-2')).map((e) => ({ ...e, commands: e.commands.map((argv) => argv.map((x) => (x.toString() === BIG ? Buffer.from(`${BIG}:2`) : x))) }));
    const twoBig = two.filter((e) => (isChunk(e) || isLast(e)) && keyOf(e) === `${BIG}:2`);
    // `${BIG}:2` is another slot, maybe another partition: read them as one partition's log
    const mixed: ChangeEvent[] = [];
    for (let i = 0; i < Math.max(one.length, twoBig.length); i++) mixed.push(...(one[i] ? [one[i]] : []), ...(twoBig[i] ? [twoBig[i]] : []));
    const discarded: DiscardedSequence[] = [];
    const a = new RestoreAssembler(1 << 20, (d) => discarded.push(d));
    const restored = new Map<string, Buffer>();
    const missing: string[] = [];
    mixed.forEach((e, i) => take(a, 0, { offset: BigInt(i), index: 0 }, e, restored, missing));
    expect(restored.get(BIG)?.equals(dumpOf(BIG))).toBe(true);
    expect(restored.get(`${BIG}:2`)?.equals(dumpOf(BIG))).toBe(true);
    expect(discarded).toEqual([]);
  });

  test('events of older sources (no transfer, no index) are concatenated per key as before; a tagged retry supersedes them', async () => {
    const legacy = (await transfer()).map(stripTags);
    expect(read(legacy).restored.get(BIG)?.equals(dumpOf(BIG))).toBe(true);
    const r = read([...brokenAfterChunk(legacy, BIG, 4), ...(await transfer())]);
    expect(r.restored.get(BIG)?.equals(dumpOf(BIG))).toBe(true);
    expect(r.discarded.map((d) => [d.key.toString(), d.transfer, d.chunks])).toEqual([[BIG, undefined, 4]]);
  });
});

describe('sequences that cannot be completed', () => {
  const bigOnly = async () => (await transfer()).filter((e) => (isChunk(e) || isLast(e)) && keyOf(e) === BIG);

  test('a gap (a chunk missing) makes it incomplete: discarded, and its RESTORE reported without chunks', async () => {
    const seq = await bigOnly();
    const r = read([...seq.slice(0, 6), ...seq.slice(7)]);
    expect(r.restored.has(BIG)).toBe(false);
    expect(r.missing).toEqual([BIG]);
    expect(r.discarded.map((d) => [d.reason, d.chunks])).toEqual([['incomplete', 29]]); // one sequence, reported once
    expect(r.held.every((h) => h === undefined)).toBe(true);
  });

  test('read from its middle (a start offset inside the sequence): never a partial RESTORE, never a held commit', async () => {
    const seq = await bigOnly();
    const discarded: DiscardedSequence[] = [];
    const a = new RestoreAssembler(1 << 20, (d) => discarded.push(d));
    const restored = new Map<string, Buffer>();
    const missing: string[] = [];
    seq.slice(10, -1).forEach((e, i) => take(a, 0, { offset: BigInt(10 + i), index: 0 }, e, restored, missing));
    expect(a.holdBack(0)).toBeUndefined();
    take(a, 0, { offset: BigInt(seq.length), index: 0 }, seq[seq.length - 1], restored, missing);
    expect(missing).toEqual([BIG]);
    expect(discarded.map((d) => d.reason)).toEqual(['incomplete']);
  });

  test('a reader that goes back (rebalance, re-read from the committed offset) starts the sequence over, without duplicates', async () => {
    const seq = await bigOnly();
    const a = new RestoreAssembler(1 << 20);
    const restored = new Map<string, Buffer>();
    const missing: string[] = [];
    seq.slice(0, 12).forEach((e, i) => take(a, 0, { offset: BigInt(100 + i), index: 0 }, e, restored, missing));
    expect(a.holdBack(0)).toBe(100n);
    seq.forEach((e, i) => take(a, 0, { offset: BigInt(100 + i), index: 0 }, e, restored, missing));
    expect(restored.get(BIG)?.equals(dumpOf(BIG))).toBe(true);
    expect(a.holdBack(0)).toBeUndefined();
  });

  test('the commit is held at the first chunk of an open sequence, per partition', async () => {
    const seq = await bigOnly();
    const a = new RestoreAssembler(1 << 20);
    expect(a.holdBack(1)).toBeUndefined();
    a.addChunk(1, { offset: 20n, index: 0 }, seq[0]);
    a.addChunk(1, { offset: 21n, index: 0 }, seq[1]);
    expect(a.holdBack(1)).toBe(20n);
    expect(a.holdBack(2)).toBeUndefined();
  });

  test('a key over maxBytes frees its chunks and completes as overflow', async () => {
    const seq = await bigOnly();
    const a = new RestoreAssembler(2 * CHUNK);
    expect(a.addChunk(1, { offset: 1n, index: 0 }, seq[0])).toBe(false);
    expect(a.addChunk(1, { offset: 2n, index: 0 }, seq[1])).toBe(false);
    expect(a.addChunk(1, { offset: 3n, index: 0 }, seq[2])).toBe(true);
    expect(a.addChunk(1, { offset: 4n, index: 0 }, seq[3])).toBe(false);
    expect(a.heldBytes).toBe(0);
    expect(a.complete(1, { offset: 5n, index: 0 }, { ...seq[seq.length - 1], flags: seq[seq.length - 1].flags.map((f) => (f.startsWith(CHUNK_INDEX_FLAG) ? `${CHUNK_INDEX_FLAG}4` : f)) })).toEqual({
      status: 'overflow', bytes: 4 * CHUNK, firstOffset: 1n, lastOffset: 4n,
    });
  });

  test('revoked partitions drop their open sequences', async () => {
    const seq = await bigOnly();
    const a = new RestoreAssembler(1 << 20);
    a.addChunk(1, { offset: 1n, index: 0 }, seq[0]);
    a.addChunk(2, { offset: 1n, index: 0 }, seq[0]);
    expect(a.retainPartitions((p) => p === 2)).toBe(1);
    expect(a.holdBack(1)).toBeUndefined();
    expect(a.holdBack(2)).toBe(1n);
  });

  test('chunks are copied, so the Kafka batch buffer can be freed', async () => {
    const seq = await bigOnly();
    const a = new RestoreAssembler(1 << 20);
    const chunks = seq.slice(0, -1).map((e) => ({ ...e, commands: [[Buffer.from(e.commands[0][0]), Buffer.from(e.commands[0][1])]] }));
    chunks.forEach((e, i) => a.addChunk(0, { offset: BigInt(i), index: 0 }, e));
    for (const e of chunks) e.commands[0][1].fill(0);
    const c = a.complete(0, { offset: BigInt(chunks.length), index: 0 }, seq[seq.length - 1]);
    expect(c.status === 'ok' && c.argv[3].equals(dumpOf(BIG))).toBe(true);
  });
});
