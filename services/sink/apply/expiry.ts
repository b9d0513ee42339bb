import type { ApplyItem } from './apply-item';

/**
 * How a peer's expiry is applied (DESIGN §5 hazard 2). TTLs replicate as
 * absolute deadlines (PXAT), so the target's copy of a key that expired in
 * the peer expires at the same moment by itself. The event deletes the key
 * here only where the copy is itself due: it has a deadline at or before the
 * event's capture time plus `skewMs`. A key re-written since without a TTL,
 * or with a later deadline, is left alone: the expiry of the old value must
 * not delete the new one (the cache-aside re-fill).
 *
 * The check and the delete are one script, inside the sink's MULTI with the
 * marker, so nothing can write the key in between. PEXPIRETIME needs
 * Redis 7.0 or later on the target.
 */
export const EXPIRE_IF_DUE = `local t = redis.call('PEXPIRETIME', KEYS[1])
if t >= 0 and t <= tonumber(ARGV[1]) then return redis.call('DEL', KEYS[1]) end
return 0`;

const EVAL = Buffer.from('EVAL');
const SCRIPT = Buffer.from(EXPIRE_IF_DUE);
const ONE = Buffer.from('1');

/** The expiry event as a conditional delete of its key; undefined when it is not a one-key DEL/UNLINK. */
export function expiryItem(item: ApplyItem, skewMs: number): ApplyItem | undefined {
  const argv = item.event.commands[0];
  if (item.event.commands.length !== 1 || argv?.length !== 2) return undefined;
  const deadline = Buffer.from(String(item.event.capturedAt + skewMs));
  return { ...item, commands: [[EVAL, SCRIPT, ONE, argv[1], deadline]], conditional: true };
}
