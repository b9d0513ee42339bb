import type { Cluster } from 'ioredis';
import { SLOT_COUNT } from '../../services/shared/slot';
import { slotTag } from '../../services/shared/slot-tags';
import type { ClusterNodes } from './cluster-nodes';
import { log, nowMs, percentile, sleep, slotsTouched, waitAllVisible, type LoadResult, type Replicator } from './e2e-load';

/**
 * A paced load: `SET <key> <sendTimeMs>` into a at `rate` writes/s for
 * `seconds`, distinct keys, write n in slot n × 7919 mod 16384 (7919 is odd,
 * so every 16384 writes cover every slot once), from one ioredis Cluster
 * client, auto-pipelined, at most 5000 in flight.
 *
 * - Lag: every 5 ms one write is a probe. A second client polls b for the
 *   pending probes (EXISTS, pipelined, every 2 ms, at most 64 per round,
 *   round-robin); lag = first poll reply that sees the key − the moment the
 *   SET was sent to a. An upper bound by one poll period while few probes
 *   are pending; a large lag coarsens the resolution instead of loading the
 *   machine.
 * - Throughput: writes acknowledged by a per second, and writes / (time from
 *   the load's start until DBSIZE over b's masters counts them all).
 */
const PROBE_EVERY_MS = 5;
const POLL_EVERY_MS = 2;
const POLL_BATCH = 64;
const MAX_IN_FLIGHT = 5000;

export interface PacedLoadOptions {
  name: string;
  ca: Cluster;
  cb: Cluster;
  b: ClusterNodes;
  replicator: Replicator;
  rate: number;
  seconds: number;
  drainTimeoutS: number;
  onWritesDone?: () => Promise<void>;
}

export async function pacedLoad(o: PacedLoadOptions): Promise<LoadResult> {
  const prefix = `e2e:${o.name}:${Date.now().toString(36)}`;
  const pending = new Map<string, number>(); // probe key → send time
  const slots = new Uint8Array(SLOT_COUNT);
  const lags: number[] = [];
  let acked = 0;
  let errors = 0;
  let firstError = '';
  let sent = 0;
  let lastProbe = Number.NEGATIVE_INFINITY;
  const send = (): Promise<void> => {
    const n = sent++;
    const t = nowMs();
    const slot = (n * 7919) % SLOT_COUNT;
    const probe = t - lastProbe >= PROBE_EVERY_MS;
    const key = `${prefix}:${probe ? 'p:' : ''}{${slotTag(slot)}}:${n}`;
    if (probe) {
      lastProbe = t;
      pending.set(key, t);
    }
    return o.ca.set(key, String(Date.now())).then(
      () => {
        acked++;
        slots[slot] = 1;
      },
      (err: Error) => {
        errors++;
        firstError ||= err.message;
        pending.delete(key);
      },
    );
  };

  let writing = true;
  const t0 = nowMs();
  const end = t0 + o.seconds * 1000;
  const writer = (async () => {
    const inflight = new Set<Promise<void>>();
    while (nowMs() < end) {
      const due = Math.floor(((nowMs() - t0) / 1000) * o.rate) - sent;
      // Past MAX_IN_FLIGHT the client, not the rate, is the limit.
      for (let i = 0; i < due && inflight.size < MAX_IN_FLIGHT; i++) {
        const p = send();
        inflight.add(p);
        void p.then(() => inflight.delete(p));
      }
      await sleep(1);
    }
    await Promise.all(inflight);
    writing = false;
  })();

  const pollDeadline = end + o.drainTimeoutS * 1000;
  const poller = (async () => {
    let cursor = 0;
    while ((writing || pending.size > 0) && nowMs() < pollDeadline) {
      const all = [...pending.keys()];
      cursor = cursor >= all.length ? 0 : cursor;
      const keys = all.slice(cursor, cursor + POLL_BATCH);
      cursor += POLL_BATCH;
      if (keys.length > 0) {
        const seen = await Promise.all(keys.map((k) => o.cb.exists(k)));
        const t = nowMs();
        keys.forEach((k, i) => {
          const sentAt = pending.get(k);
          if (seen[i] === 1 && sentAt !== undefined) {
            lags.push(t - sentAt);
            pending.delete(k);
          }
        });
      }
      await sleep(POLL_EVERY_MS);
    }
  })();

  await writer;
  const t1 = nowMs();
  await o.onWritesDone?.();
  const target = { expected: acked + slotsTouched(slots) * o.replicator.keysPerSlot, deadline: t1 + o.drainTimeoutS * 1000 };
  const visible = await waitAllVisible(o.b, target, o.replicator);
  await poller;
  const who = `${o.name}/${o.replicator.name}`;
  if (firstError) log(`${who}: ${errors} write errors, e.g. ${firstError}`);
  if (visible.at === null) log(`${who}: NOT all visible in b ${o.drainTimeoutS} s after the writes (DBSIZE ${visible.last} of ${target.expected})`);
  lags.sort((x, y) => x - y);
  const writeSeconds = (t1 - t0) / 1000;
  const visibleS = visible.at === null ? null : (visible.at - t0) / 1000;
  return {
    load: o.name,
    replicator: o.replicator.name,
    targetRate: o.rate,
    writes: acked,
    errors,
    writeSeconds: Number(writeSeconds.toFixed(2)),
    writeRate: Math.round(acked / writeSeconds),
    visibleS: visibleS === null ? null : Number(visibleS.toFixed(2)),
    replicatedRate: visibleS === null ? Number.NaN : Math.round(acked / visibleS),
    probes: lags.length + pending.size,
    lost: pending.size,
    p50: Math.round(percentile(lags, 0.5) * 10) / 10,
    p99: Math.round(percentile(lags, 0.99) * 10) / 10,
    max: Math.round((lags[lags.length - 1] ?? Number.NaN) * 10) / 10,
    rss: {},
  };
}
