import { errorMessage } from '../../shared/errors';
import { LogSampler } from '../../shared/log-sampler';
import type { Logger } from '../../shared/logger';
import { markerKey } from '../../shared/marker';
import type { RepairRequest, RepairResult } from '../conflicts/conflict-detector';
import type { ClusterRouter } from './cluster-router';
import { classifyApplyError } from './reply-errors';

/**
 * Runs the repairs of `sink.conflicts: lww` (docs/sink.md "Last write
 * wins") on the target cluster, one script per repair:
 *
 *   KEYS[1]  the peer's anti-loop marker of the slot, __tandem:{tag}:o:<peer>
 *   KEYS[2]  the key
 *   ARGV     bound offset, bound index, check, sha1, field, repair command…
 *
 * It runs the repair only when
 * - the marker exists and is not past the bound: no write of the peer applied
 *   after the decision can be overwritten (the detector made sure none of the
 *   peer's writes up to the bound writes the target);
 * - the target still holds what the losing peer write left (the check:
 *   `value`, a string whose SHA1 is sha1; `absent`; `field`, a hash field
 *   whose value's SHA1 is sha1; `field-absent`);
 * and then writes the marker again with the value it holds, before the
 * repair. Redis propagates the script's effects as one MULTI … EXEC
 * (scripts replicate their effects, redis/src/script.c), so the source of
 * this DC sees a transaction whose first write is the peer's marker: it tags
 * the repair with the peer's origin, the peer's sink drops it as its own
 * write (it never travels, it gets no new capture time), and the marker's
 * value, unchanged, moves neither this DC's stamps nor the sink's
 * exactly-once position.
 *
 * Replies: {1, marker} ran; {0, marker} the target changed (a later write);
 * {2, marker} the marker moved past the bound (a later apply of the peer:
 * the detector is asked again); {-1, …} no marker.
 */
export const REPAIR_SCRIPT = `
local m = redis.call('GET', KEYS[1])
if not m then return {-1, ''} end
local o, i = string.match(m, '^%d+:(%d+):?(%d*)$')
if not o then return {-1, m} end
o = tonumber(o)
if i == '' then i = math.huge else i = tonumber(i) end
local bo, bi = tonumber(ARGV[1]), tonumber(ARGV[2])
if o > bo or (o == bo and i > bi) then return {2, m} end
local check = ARGV[3]
local t = redis.call('TYPE', KEYS[2]).ok
if check == 'absent' then
  if t ~= 'none' then return {0, m} end
elseif check == 'value' then
  if t ~= 'string' or redis.sha1hex(redis.call('GET', KEYS[2])) ~= ARGV[4] then return {0, m} end
elseif check == 'field' then
  if t ~= 'hash' then return {0, m} end
  local v = redis.call('HGET', KEYS[2], ARGV[5])
  if not v or redis.sha1hex(v) ~= ARGV[4] then return {0, m} end
elseif check == 'field-absent' then
  if t ~= 'none' and (t ~= 'hash' or redis.call('HEXISTS', KEYS[2], ARGV[5]) == 1) then return {0, m} end
else
  return redis.error_reply('unknown check ' .. check)
end
redis.call('SET', KEYS[1], m)
redis.call(unpack(ARGV, 6))
return {1, m}
`;

export interface LwwRepairerOptions {
  router: Pick<ClusterRouter, 'master' | 'client' | 'refresh'> & Partial<Pick<ClusterRouter, 'replicaCount'>>;
  /** sink.waitReplicas / waitTimeoutMs: a repair is settled (its peer write's offset may be committed) once replicas have it */
  durability?: { replicas: 'auto' | number; timeoutMs: number };
  /** the detector's side: the request before each attempt, and the end */
  prepare: (id: number) => { request: RepairRequest } | { result: RepairResult; peer: string } | { gone: true };
  done: (id: number, ran: boolean) => void;
  onResult: (peer: string, result: RepairResult) => void;
  log: Logger;
  /** attempts per repair (marker moved, transient errors) */
  attempts?: number;
  /** repairs in flight at once */
  concurrency?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LwwRepairer {
  private readonly queue: number[] = [];
  private running = 0;
  private stopped = false;
  private readonly failLog = new LogSampler();

  constructor(private readonly o: LwwRepairerOptions) {}

  /** A repair was decided: it runs as soon as a slot among `concurrency` is free. */
  submit(id: number): void {
    this.queue.push(id);
    // Not within the detector's call: the rest of the own records already fetched are read first (a later write there supersedes it).
    setImmediate(() => this.pump());
  }

  stop(): void {
    this.stopped = true;
  }

  get queued(): number {
    return this.queue.length + this.running;
  }

  private pump(): void {
    while (!this.stopped && this.running < (this.o.concurrency ?? 32) && this.queue.length > 0) {
      const id = this.queue.shift()!;
      this.running++;
      void this.run(id).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run(id: number): Promise<void> {
    const attempts = this.o.attempts ?? 20;
    let last = '';
    let peer = '';
    for (let attempt = 0; attempt < attempts && !this.stopped; attempt++) {
      const prepared = this.o.prepare(id);
      if ('gone' in prepared) return;
      if ('result' in prepared) {
        this.o.onResult(prepared.peer, prepared.result);
        return;
      }
      const r = prepared.request;
      peer = r.peer;
      try {
        const { code, node, client } = await this.exec(r);
        // Durable as an apply is (docs/sink.md "Durable apply"): a failover that lost the repair after its
        // peer write's offset was committed would leave the DCs different, with nothing to judge it again.
        if (code === 1) await this.waitReplicas(node, client);
        if (code === 1 || code === 0) {
          this.o.done(id, code === 1);
          this.o.onResult(r.peer, code === 1 ? 'repaired' : 'superseded');
          return;
        }
        if (code === -1) {
          last = `the marker ${markerKey(r.slot, r.peer)} is missing or malformed`;
          break;
        }
        last = 'the peer\'s marker moved past the bound';
        await sleep(Math.min(20 * (attempt + 1), 500));
      } catch (err) {
        last = errorMessage(err);
        const c = classifyApplyError(err);
        // A reply error of the script itself is no passing state of the target: no retry.
        if (c.kind !== 'transient' || c.reason === 'reply-error') break;
        await this.o.router.refresh().catch(() => undefined); // the next attempt fails again and is counted
        await sleep(Math.min(50 * (attempt + 1), 1000));
      }
    }
    this.o.done(id, false);
    if (peer === '') return; // stopped before the first attempt
    this.o.onResult(peer, 'failed');
    this.failLog.sample((suppressed) => this.o.log.warn({ id, peer, err: last, suppressed }, 'lww repair not run; the two DCs may differ on this key (tandem conflicts lists the conflict, tandem verify finds the difference)'));
  }

  /**
   * WAITs on the connection that ran the repair until the replicas
   * sink.waitReplicas asks have it ('auto': 1 where the master has a live
   * replica). A timeout is logged and the WAIT repeated while the sink runs.
   */
  private async waitReplicas(node: string, client: Awaited<ReturnType<ClusterRouter['master']>>['client']): Promise<void> {
    const d = this.o.durability;
    if (d === undefined) return;
    for (let attempt = 0; !this.stopped; attempt++) {
      const want = d.replicas === 'auto' ? Math.min(1, this.o.router.replicaCount?.(node) ?? 0) : d.replicas;
      if (want === 0) return;
      const acked = Number(await client.call('WAIT', String(want), String(d.timeoutMs)));
      if (acked >= want) return;
      if (attempt % 10 === 0) this.o.log.warn({ node, acked, wanted: want, attempt }, 'lww repair not acknowledged by the target\'s replicas in time; waiting again before its offset may be committed');
    }
  }

  private async exec(r: RepairRequest): Promise<{ code: number; node: string; client: Awaited<ReturnType<ClusterRouter['master']>>['client'] }> {
    const { client, key: node } = await this.o.router.master(r.slot);
    const check = r.expected.kind;
    const sha1 = r.expected.kind === 'value' || r.expected.kind === 'field' ? r.expected.sha1 : '';
    const reply = (await client.callBuffer(
      'EVAL', REPAIR_SCRIPT, '2', markerKey(r.slot, r.peer), r.key,
      r.bound.offset.toString(), String(r.bound.index), check, sha1, r.field ?? '', ...r.argv,
    )) as [number, Buffer];
    return { code: Number(reply[0]), node, client };
  }
}
