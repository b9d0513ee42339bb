import { markerKey } from '../../../services/shared/marker';
import { keySlot } from '../../../services/shared/slot';
import { clusterClient } from '../../harness/endpoints';
import { createDcTopics, readEvents, sleep, startSource, waitCaughtUp, type SourceProcess } from '../../harness/source-process';

/**
 * Stamps (docs/events.md "Stamps"): the source stamps each local event with
 * its slot's version vector, read from the markers in Redis at start, then
 * from the markers its stream shows. A marker written before the source
 * starts is known only through the prime; one written later, through the stream.
 */
describe('source: stamps local events with the slot\'s version vector', () => {
  let source: SourceProcess | undefined;
  afterEach(async () => {
    await source?.kill('SIGTERM');
  });

  test('the marker read in Redis at start, then the ones the stream shows; {} where none', async () => {
    const run = Date.now().toString(36);
    const [dc, peer] = [`stamp${run}`, `stamppeer${run}`];
    await createDcTopics(dc);
    await createDcTopics(peer);
    const c = clusterClient('a');
    try {
      const slot = keySlot('{st1}');
      await c.set(markerKey(slot, peer), '3:100:2'); // what a sink of this DC had applied of the peer before the source started
      source = await startSource({ dc });
      // Each link reads its master's markers once it streams; they count from the master's next item on.
      for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
        if ((await source.metric('tandem_source_vector_primes_total', { result: 'ok' })).reduce((a, b) => a + b, 0) === 3) break;
        await sleep(100);
      }
      await c.set(`{st1}${run}:first`, '0');
      await c.set(`{st1}${run}:primed`, '1');
      // A sink of this DC applies a peer event: marker first, in one MULTI.
      await c.multi().set(markerKey(slot, peer), '3:250:0').set(`{st1}${run}:fromPeer`, 'p').exec();
      await c.set(`{st1}${run}:after`, '2');
      await c.set(`{st2}${run}:elsewhere`, '3');
      await waitCaughtUp(source, 'a');

      const events = await readEvents(dc);
      const byKey = new Map(events.filter((e) => e.kind !== 'marker').map((e) => [e.commands[0][1].toString(), e]));
      // The first item past the markers' read is already stamped.
      expect(byKey.get(`{st1}${run}:first`)).toMatchObject({ origin: dc, stamp: { [peer]: '3:100:2' } });
      expect(byKey.get(`{st1}${run}:primed`)).toMatchObject({ origin: dc, stamp: { [peer]: '3:100:2' } });
      expect(byKey.get(`{st1}${run}:fromPeer`)).toMatchObject({ origin: peer, stamp: null });
      expect(byKey.get(`{st1}${run}:after`)).toMatchObject({ origin: dc, stamp: { [peer]: '3:250:0' } });
      // Known, and no marker of the peer in that slot: the peer is not named.
      expect(byKey.get(`{st2}${run}:elsewhere`)?.stamp?.[peer]).toBeUndefined();
      expect(byKey.get(`{st2}${run}:elsewhere`)?.stamp).not.toBeNull();
      expect((await source.metric('tandem_source_vector_primes_total', { result: 'ok' })).reduce((a, b) => a + b, 0)).toBe(3);
      expect((await source.metric('tandem_source_stamp_known_slots'))[0]).toBeGreaterThan(5000); // at least the slots of {st1}'s master
    } finally {
      c.disconnect();
    }
  });
});
