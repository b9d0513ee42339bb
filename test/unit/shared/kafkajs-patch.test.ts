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
