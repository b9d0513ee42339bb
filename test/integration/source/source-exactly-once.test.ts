import { keySlot } from '../../../services/shared/slot';
import { slotTag } from '../../../services/shared/slot-tags';
import { clusterClient } from '../../harness/endpoints';
import { createDcTopics, readEvents, startSource, waitCaughtUp, waitReady, type SourceProcess } from '../../harness/source-process';

/**
 * Exactly-once into Kafka: 50,000 commands (INCR and RPUSH with sequence
 * numbers) while the source is SIGKILLed at random moments, 3 times. The
 * committed events hold every command exactly once, in order per key, and the
 * restarts continue with +CONTINUE (partial resync from the checkpoint).
 */
const DC = 'eonce';
const KEYS = 64;
const TOTAL = 50_000;

describe('source: exactly once under SIGKILL', () => {
  const sources: SourceProcess[] = [];
  afterAll(async () => {
    for (const s of sources) await s.kill('SIGKILL');
  });

  test('50,000 INCR/RPUSH with 3 random SIGKILLs: every command committed exactly once, in order; restarts use +CONTINUE', async () => {
    await createDcTopics(DC);
    sources.push(await startSource({ dc: DC }));
    const run = Date.now().toString(36);
    // Keys spread over all slots (and so all masters and many partitions).
    const counter = (i: number) => `eo:${run}:{${slotTag((i * 2731) % 16384)}}:c`;
    const list = (i: number) => `eo:${run}:{${slotTag((i * 2731) % 16384)}}:l`;
    const cluster = clusterClient('a');
    const pushed: string[][] = Array.from({ length: KEYS }, () => []);
    const incrs = new Array<number>(KEYS).fill(0);

    // Kill at 3 random points of the load (between 15 % and 85 %).
    const killAt = new Set(Array.from({ length: 3 }, (_, n) => Math.floor(TOTAL * (0.15 + 0.25 * n + Math.random() * 0.2))));
    const BATCH = 500;
    for (let done = 0; done < TOTAL; done += BATCH) {
      const ops: Promise<unknown>[] = [];
      // Each step is two commands: INCR and RPUSH of its sequence number.
      for (let seq = done / 2; seq < (done + BATCH) / 2; seq++) {
        const k = seq % KEYS;
        incrs[k]++;
        pushed[k].push(String(seq));
        ops.push(cluster.incr(counter(k)), cluster.rpush(list(k), String(seq)));
      }
      await Promise.all(ops);
      if ([...killAt].some((at) => at >= done && at < done + BATCH)) {
        const current = sources[sources.length - 1];
        // A kill is only meaningful once the instance streams and commits.
        await waitReady(current);
        await current.kill('SIGKILL');
        // Restart at once, and write on while it syncs: the stream waits in the master's backlog.
        sources.push(await startSource({ dc: DC, waitReady: false }));
      }
    }
    cluster.disconnect();
    const last = sources[sources.length - 1];
    await waitCaughtUp(last, 'a');
    await last.kill('SIGTERM');

    // Every restart resumed from its checkpoint.
    const restarts = sources.slice(1);
    expect(restarts).toHaveLength(3);
    for (const s of restarts) {
      expect(s.log()).toContain('partial resync (+CONTINUE)');
      expect(s.log()).not.toContain('FULL RESYNC');
    }

    const events = await readEvents(DC);
    const seenPush = new Map<string, string[]>();
    const seenIncr = new Map<string, number>();
    for (const e of events) {
      for (const argv of e.commands) {
        const key = argv[1]?.toString();
        if (!key?.startsWith(`eo:${run}:`)) continue;
        expect(e.slot).toBe(keySlot(key));
        const cmd = argv[0].toString().toLowerCase();
        if (cmd === 'rpush') seenPush.set(key, [...(seenPush.get(key) ?? []), ...argv.slice(2).map((a) => a.toString())]);
        else if (cmd === 'incr') seenIncr.set(key, (seenIncr.get(key) ?? 0) + 1);
        else throw new Error(`unexpected command ${cmd} on ${key}`);
      }
    }
    for (let k = 0; k < KEYS; k++) {
      expect(seenPush.get(list(k))).toEqual(pushed[k]); // exactly once, in order
      expect(seenIncr.get(counter(k))).toBe(incrs[k]);
    }
  });
});
