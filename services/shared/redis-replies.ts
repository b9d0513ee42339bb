/**
 * The one table of Redis error replies, for the source's replica link, the
 * sink's writer and the tools. A Redis error reply starts with a code word
 * (redis/src/networking.c addReplyErrorLength: "-ERR" unless the text brings
 * its own), so the class is read from that first word:
 *
 *   -<CODE> <text>\r\n
 *
 * - retriable: "not now": the node is loading, failing over, without its
 *   master, busy with a script, or the cluster is not ready; the same request
 *   may succeed later.
 * - redirect: "not here": MOVED / ASK to the node that has the slot.
 * - target-full: OOM, maxmemory reached under noeviction; nothing is wrong
 *   with the request, the node needs memory.
 * - auth: refused credentials or a missing ACL permission; an operator must act.
 * - fatal: anything else (ERR, WRONGTYPE, BUSYKEY, EXECABORT …): the request
 *   itself is refused, and sending it again gets the same answer.
 */
export type ReplyClass = 'retriable' | 'redirect' | 'target-full' | 'auth' | 'fatal';

const BY_CODE: Readonly<Record<string, ReplyClass>> = {
  LOADING: 'retriable',
  NOMASTERLINK: 'retriable', // a chained replica whose own master link is down (replication.c syncCommand)
  MASTERDOWN: 'retriable',
  BUSY: 'retriable',
  TRYAGAIN: 'retriable',
  CLUSTERDOWN: 'retriable',
  READONLY: 'retriable', // a replica now: the slot map is stale after a failover
  NOREPLICAS: 'retriable',
  UNBLOCKED: 'retriable',
  MOVED: 'redirect',
  ASK: 'redirect',
  OOM: 'target-full',
  NOAUTH: 'auth',
  WRONGPASS: 'auth',
  NOPERM: 'auth',
};

/**
 * Auth failures that do not start with their own code: Redis before 6 said
 * "-ERR operation not permitted"; AUTH without a configured password says
 * "-ERR AUTH <password> called without any password configured"; ioredis
 * reports a refused login in its own words on its 'error' event.
 */
const AUTH_TEXT = /\b(?:NOAUTH|WRONGPASS|NOPERM)\b|operation not permitted|invalid username-password|AUTH failed|ERR AUTH/i;

/** The code word of an error reply ("-LOADING Redis is loading…" → "LOADING"), upper case. */
export function replyCode(reply: string): string {
  const text = reply.startsWith('-') ? reply.slice(1) : reply;
  const space = text.indexOf(' ');
  return (space < 0 ? text : text.slice(0, space)).toUpperCase();
}

/** The class of an error reply or of an error message that carries one. */
export function classifyReply(reply: string): ReplyClass {
  const byCode = BY_CODE[replyCode(reply)];
  if (byCode !== undefined) return byCode;
  return AUTH_TEXT.test(reply) ? 'auth' : 'fatal';
}

/** True when a Redis error text means refused credentials or a missing ACL permission. */
export function isAuthReply(reply: string): boolean {
  return classifyReply(reply) === 'auth';
}
