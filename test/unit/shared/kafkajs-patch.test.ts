import { kafkajsPatched } from '../../../services/shared/kafkajs-patch';

/**
 * patches/kafkajs+2.2.4.patch (applied by `npm install`'s postinstall): the
 * transactional producer keeps its transaction coordinator instead of asking
 * FindCoordinator before every AddPartitionsToTxn and EndTxn, and forgets it
 * when a request to it fails (not on CONCURRENT_TRANSACTIONS). Driven through
 * kafkajs's own transaction manager with a cluster that counts the lookups;
 * the real broker's side is test/integration/source/kafkajs-transactions.test.ts.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const createEosManager = require('kafkajs/src/producer/eosManager') as (o: object) => {
  initProducerId(): Promise<void>;
  beginTransaction(): Promise<void>;
  addPartitionsToTransaction(topics: { topic: string; partitions: { partition: number }[] }[]): Promise<void>;
  commit(): Promise<void>;
};

function protocolError(type: string): Error {
  return Object.assign(new Error(type), { name: 'KafkaJSProtocolError', type, retriable: true });
}

function fakeCluster(failures: { addPartitions?: string[] }) {
  const calls = { findCoordinator: 0, addPartitions: 0, endTxn: 0 };
  const broker = {
    initProducerId: async () => ({ producerId: 7, producerEpoch: 0 }),
    addPartitionsToTxn: async () => {
      calls.addPartitions++;
      const type = failures.addPartitions?.shift();
      if (type !== undefined) throw protocolError(type);
    },
    endTxn: async () => {
      calls.endTxn++;
    },
  };
  const cluster = {
    retry: { retries: 0 },
    refreshMetadataIfNecessary: async () => undefined,
    findGroupCoordinator: async () => {
      calls.findCoordinator++;
      return broker;
    },
  };
  return { cluster, calls };
}

const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const partitions = (p: number) => [{ topic: 't', partitions: [{ partition: p }] }];

async function transaction(eos: ReturnType<typeof createEosManager>, p: number): Promise<void> {
  await eos.beginTransaction();
  await eos.addPartitionsToTransaction(partitions(p));
  await eos.commit();
}

describe('kafkajs patch: the transaction coordinator is looked up once', () => {
  it('is applied to the installed kafkajs', () => {
    expect(kafkajsPatched()).toBe(true);
  });

  it('ten transactions ask FindCoordinator once (at InitProducerId), not before every request', async () => {
    const { cluster, calls } = fakeCluster({});
    const eos = createEosManager({ logger, cluster, transactional: true, transactionalId: 'tx' });
    await eos.initProducerId();
    for (let i = 0; i < 10; i++) await transaction(eos, i);
    expect(calls).toEqual({ findCoordinator: 1, addPartitions: 10, endTxn: 10 });
  });

  it('keeps the coordinator after CONCURRENT_TRANSACTIONS, and looks it up again after any other error', async () => {
    const { cluster, calls } = fakeCluster({ addPartitions: ['CONCURRENT_TRANSACTIONS'] });
    const eos = createEosManager({ logger, cluster, transactional: true, transactionalId: 'tx' });
    await eos.initProducerId();
    await eos.beginTransaction();
    await expect(eos.addPartitionsToTransaction(partitions(0))).rejects.toThrow('CONCURRENT_TRANSACTIONS');
    await eos.addPartitionsToTransaction(partitions(0));
    expect(calls.findCoordinator).toBe(1);

    const { cluster: moved, calls: after } = fakeCluster({ addPartitions: ['NOT_COORDINATOR'] });
    const eos2 = createEosManager({ logger, cluster: moved, transactional: true, transactionalId: 'tx' });
    await eos2.initProducerId();
    await eos2.beginTransaction();
    await expect(eos2.addPartitionsToTransaction(partitions(0))).rejects.toThrow('NOT_COORDINATOR');
    await eos2.addPartitionsToTransaction(partitions(0));
    expect(after.findCoordinator).toBe(2);
  });
});

/**
 * The patched encoder writes a varint into its buffer instead of building an
 * array and a Buffer for each. Its bytes must stay exactly Kafka's: zigzag,
 * then base-128 little-endian groups (the record format's varint, KIP-98),
 * checked against a reference written here and read back by kafkajs's own
 * decoder, between fixed-width fields so that offsets are checked too.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Encoder = require('kafkajs/src/protocol/encoder') as new () => {
  writeVarInt(v: number): unknown;
  writeUVarInt(v: number): unknown;
  writeInt8(v: number): unknown;
  buffer: Buffer;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => { readVarInt(): number; readUVarInt(): number; readInt8(): number };

function leb128(u: number): number[] {
  const out: number[] = [];
  let z = u >>> 0;
  while (z >= 0x80) {
    out.push((z & 0x7f) | 0x80);
    z >>>= 7;
  }
  out.push(z);
  return out;
}

const zigzag = (v: number) => ((v << 1) ^ (v >> 31)) >>> 0;

const VALUES = [0, 1, -1, 2, -2, 63, -64, 64, -65, 127, 128, 255, 300, 8191, 8192, -8193, 2 ** 20, 2 ** 27 - 1, 2 ** 27, 2 ** 31 - 1, -(2 ** 31)];

describe('kafkajs varints (patches/kafkajs+2.2.4.patch)', () => {
  it.each(VALUES)('writeVarInt(%d) gives the zigzag LEB128 bytes', (v) => {
    const e = new Encoder();
    e.writeVarInt(v);
    expect([...e.buffer]).toEqual(leb128(zigzag(v)));
  });

  it('a run of varints between fixed-width fields reads back as written', () => {
    const e = new Encoder();
    for (const v of VALUES) {
      e.writeInt8(7);
      e.writeVarInt(v);
      e.writeUVarInt(Math.abs(v) % 2 ** 31);
    }
    e.writeInt8(9);
    const expected = VALUES.flatMap((v) => [7, ...leb128(zigzag(v)), ...leb128(Math.abs(v) % 2 ** 31)]).concat([9]);
    expect([...e.buffer]).toEqual(expected);
    const d = new Decoder(e.buffer);
    for (const v of VALUES) {
      expect(d.readInt8()).toBe(7);
      expect(d.readVarInt()).toBe(v);
      expect(d.readUVarInt()).toBe(Math.abs(v) % 2 ** 31);
    }
    expect(d.readInt8()).toBe(9);
  });

  it('grows the buffer when a varint does not fit', () => {
    const e = new Encoder();
    for (let i = 0; i < 1000; i++) e.writeVarInt(-(2 ** 31));
    expect(e.buffer.length).toBe(5000);
    expect([...e.buffer.subarray(4995)]).toEqual(leb128(zigzag(-(2 ** 31))));
  });
});
