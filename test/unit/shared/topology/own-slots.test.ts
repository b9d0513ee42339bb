import { parseOwnSlots } from '../../../../services/shared/topology/cluster-nodes';
import { textFixture as fixture } from './captures';

/**
 * CLUSTER NODES captured from a 3-master Redis 7.0.15 cluster while
 * 127.0.0.1:16001 migrated slots 100 and 5000 to 127.0.0.1:16002
 * (CLUSTER SETSLOT … MIGRATING / IMPORTING, as redis-cli --cluster reshard does).
 */
const EXPORTER = 'b43080909fd2212ea870c6ab4ff9b28fefa0e6d1';
const IMPORTER = '0d9113566d0ad012298b8fda5ecafe4a87d90f1b';

describe('parseOwnSlots (what a master says of its own slots)', () => {
  test('the exporting master lists its migrating slots and still owns them', () => {
    const own = parseOwnSlots(fixture('cluster-nodes-migrating.txt'));
    expect(own.myId).toBe(EXPORTER);
    expect([...own.migrating]).toEqual([
      [100, IMPORTER],
      [5000, IMPORTER],
    ]);
    expect(own.owned[100]).toBe(1);
    expect(own.owned[5460]).toBe(1);
    expect(own.owned[5461]).toBe(0);
    expect(own.owners.get(5461)).toBe(IMPORTER);
    expect(own.addresses.get(IMPORTER)).toEqual({ host: '127.0.0.1', port: 16002 });
  });

  test('an importing entry is not a migration of the importing master, nor a slot it owns', () => {
    const own = parseOwnSlots(fixture('cluster-nodes-importing.txt'));
    expect(own.myId).toBe(IMPORTER);
    expect(own.migrating.size).toBe(0);
    expect(own.owned[100]).toBe(0);
    expect(own.owners.get(100)).toBe(EXPORTER);
  });
});
