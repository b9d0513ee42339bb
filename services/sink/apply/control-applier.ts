import type Redis from 'ioredis';
import { TandemError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { POLICIES, Retrier } from '../../shared/retry';
import { markerKey } from '../../shared/marker';
import type { ClusterRouter } from './cluster-router';
import { classifyApplyError } from './reply-errors';

/**
 * Keyless commands applied on every master of the target (FUNCTION LOAD /
 * DELETE / FLUSH / RESTORE and SCRIPT LOAD are per node; FLUSHALL & co. when
 * `sink.applyFlush` is on).
 *
 * They must not loop back: target source(X) tags a transaction with the
 * origin of its first write when that is a marker SET. So each master gets
 *
 *   WATCH  <marker of (a slot it serves, origin)>
 *   GET    <marker>                      → v
 *   MULTI
 *   SET    <marker> v                    (rewrites the same value: exactly-once state unchanged)
 *   <the command>
 *   DEL    <marker>                      (only when there was no marker: leave none behind)
 *   EXEC                                 (nil when a keyed apply moved the marker meanwhile → retry)
 *
 * The WATCH makes "read v, write v back" atomic against the sink's own keyed
 * applies of that slot, so the marker never goes backwards.
 */
const IDEMPOTENT_OK = [
  /already exists/i, // FUNCTION LOAD of a library the master has (a repeat after a restart)
  /library not found/i, // FUNCTION DELETE of one it does not have
];

export interface ControlApplierOptions {
  router: ClusterRouter;
  retries: number;
  backoffMs: number;
  log: Logger;
}

export class ControlApplier {
  constructor(private readonly o: ControlApplierOptions) {}

  /** Runs `argv` on every master; returns the per-master errors of the command (empty = success everywhere). */
  async onEveryMaster(argv: Buffer[], origin: string): Promise<string[]> {
    let masters = await this.o.router.masters();
    const errors: string[] = [];
    // OOM waits are not counted, and do not lengthen the delay: a full target is waited for, as in the writer.
    const retrier = new Retrier(POLICIES.keylessApply(this.o.backoffMs), { attempts: this.o.retries });
    for (let i = 0; i < masters.length; i++) {
      const m = masters[i];
      for (;;) {
        try {
          const err = await this.onMaster(m.key, m.slot, argv, origin);
          if (err !== undefined) errors.push(`${m.key}: ${err}`);
          break;
        } catch (err) {
          const c = classifyApplyError(err);
          if (c.kind === 'queue-error') {
            // Refused at queue time (bad arguments): nothing ran on this master; the event goes to the DLQ.
            errors.push(`${m.key}: ${c.message}`);
            break;
          }
          if (c.kind === 'fatal') throw TandemError.wrap('REDIS_UNAVAILABLE', `cannot apply ${argv[0].toString('latin1')} on target master ${m.key}`, err);
          if (!c.full && !retrier.spend()) throw TandemError.exhausted(`cannot apply ${argv[0].toString('latin1')} on target master ${m.key}`, err);
          this.o.log.warn({ node: m.key, attempt: retrier.failures, err }, 'keyless command: transient error, retrying');
          await this.o.router.refresh().catch((e: unknown) => this.o.log.warn({ err: e }, 'cannot refresh the target slot map'));
          await retrier.wait(retrier.failures + 1);
          // The topology may have changed (failover): restart the round on the new masters.
          // A master that already has the command gets it again: the commands are idempotent.
          masters = await this.o.router.masters();
          i = -1;
          errors.length = 0;
          break;
        }
      }
    }
    return errors;
  }

  private async onMaster(node: string, slot: number, argv: Buffer[], origin: string): Promise<string | undefined> {
    const conn: Redis = this.o.router.dedicated(node);
    const mk = markerKey(slot, origin);
    try {
      for (let round = 0; round < 100; round++) {
        await conn.watch(mk);
        const v = await conn.getBuffer(mk);
        const multi = conn.multi();
        multi.set(mk, v ?? '0:0');
        multi.callBuffer(argv[0].toString('latin1'), ...argv.slice(1));
        if (v === null) multi.del(mk);
        const res = (await multi.exec()) as [Error | null, unknown][] | null;
        if (res === null) continue; // the sink applied to that slot meanwhile: read the marker again
        const err = res[1]?.[0];
        if (!err || IDEMPOTENT_OK.some((re) => re.test(err.message))) return undefined;
        return err.message;
      }
      throw new TandemError('REDIS_UNAVAILABLE', `marker ${mk} kept changing under WATCH`);
    } finally {
      conn.disconnect();
    }
  }

  /** PUBLISH / SPUBLISH: once, on the master of the slot (SPUBLISH) or any master; no marker (pub/sub is not in the stream). */
  async publish(argv: Buffer[], slot: number): Promise<void> {
    const { client } = await this.o.router.master(slot >= 0 ? slot : 0);
    await client.callBuffer(argv[0].toString('latin1'), ...argv.slice(1));
  }
}
