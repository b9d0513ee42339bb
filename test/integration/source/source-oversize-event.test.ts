import { randomBytes } from 'node:crypto';
import { ConfigResourceTypes } from 'kafkajs';
import { topicsOf } from '../../../services/shared/kafka-client';
import { markerKey } from '../../../services/shared/marker';
import { keySlot } from '../../../services/shared/slot';
import { clusterClient } from '../../harness/endpoints';
import { createDcTopics, kafka, readEvents, startSource, type SourceProcess } from '../../harness/source-process';

/**
 * An event larger than the changes topic takes (max.message.bytes) can never
 * be committed. The source stops at once with an error that says what and how
 * to fix it, instead of retrying for ever; after the topic's limit is raised,
 * a restart resumes from the checkpoint and the write arrives: nothing lost.
 */
const DC = 'oversize';

async function setMaxMessageBytes(bytes: number): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topicsOf(DC).changes, configEntries: [{ name: 'max.message.bytes', value: String(bytes) }] }],
    });
  } finally {
    await admin.disconnect();
  }
}

describe('source: an event larger than the topic takes', () => {
  let source: SourceProcess | undefined;
  afterAll(async () => {
    await source?.kill();
  });

  test('stops the source with a clear error, and a restart after raising max.message.bytes loses nothing', async () => {
    await createDcTopics(DC);
    await setMaxMessageBytes(1024 * 1024);
    // Big-key chunks of the default 4 MiB cannot fit a 1 MiB topic: refused at start, before any full sync.
    const tooBig = await startSource({ dc: DC, waitReady: false });
    expect(await tooBig.exited).toBe(1);
    expect(tooBig.log()).toMatch(/^tandem: source\.maxEventPayloadBytes \(4194304\) does not fit tandem\.oversize\.changes, whose max\.message\.bytes is 1048576/m);

    // Small snapshot chunks, so that whatever other tests left in cluster a fits the lowered limit.
    const extraYaml = 'source:\n  maxEventPayloadBytes: 65536';
    source = await startSource({ dc: DC, extraYaml });
    const run = Date.now().toString(36);
    const key = `oversize:${run}`;
    const value = randomBytes(2 * 1024 * 1024);
    const cluster = clusterClient('a');
    try {
      // Another DC's big write, as our sink applies it (marker + RESTORE in one MULTI): left out and counted, the source goes on.
      const foreign = `oversize:${run}:foreign`;
      await cluster.multi().set(markerKey(keySlot(foreign), 'zz'), '0:1').set(foreign, randomBytes(2 * 1024 * 1024)).exec();
      for (let i = 0; i < 100 && (await source.metric('tandem_source_commands_not_published_total', { reason: 'too-large-other-origin' })).length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await source.metric('tandem_source_commands_not_published_total', { reason: 'too-large-other-origin' }))[0]).toBeGreaterThan(0);
      expect(source.proc.exitCode).toBeNull();
      // A write made here is another matter: it must not be left out.
      await cluster.set(key, value);
    } finally {
      cluster.disconnect();
    }
    const deadline = Date.now() + 60_000;
    while (source.proc.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(source.proc.exitCode).toBe(1);
    expect(source.log()).toMatch(new RegExp(`^tandem: .*a command event of \\d+ bytes \\(slot \\d+, key "${key}".*max\\.message\\.bytes 1048576.*Raise max\\.message\\.bytes on tandem\\.${DC}\\.changes`, 'm'));

    await setMaxMessageBytes(8 * 1024 * 1024);
    source = await startSource({ dc: DC, extraYaml });
    let found = false;
    for (let i = 0; i < 60 && !found; i++) {
      const events = await readEvents(DC);
      found = events.some((e) => e.kind === 'command' && e.commands.some((c) => c[1]?.toString() === key && c[2]?.equals(value)));
      if (!found) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(found).toBe(true);
    // It resumed from its checkpoint rather than starting over.
    expect(source.log()).toMatch(/partial resync \(\+CONTINUE\)/);
  });
});
