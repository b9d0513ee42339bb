import { TandemError, errorMessage } from '../../shared/errors';
import { classifyReply, replyCode } from '../../shared/redis-replies';

/**
 * What a failed MULTI/EXEC means for the writer. Redis answers a transaction in
 * two places: at queue time (each command gets QUEUED or an error; any error
 * makes EXEC answer EXECABORT and nothing runs) and at run time (EXEC's array
 * holds an error for each command that failed; the others ran).
 *
 * - transient: nothing or something may have run (connection loss), or the
 *   cluster redirected / was not ready; re-read the marker, retry under a bound.
 *   OOM (maxmemory reached under noeviction) is transient too, and `full`:
 *   the target must be given memory, so it is retried without a bound (the
 *   partition waits, in order, with tandem_sink_target_full raised); sending
 *   the event to the DLQ would apply the slot's later events to a wrong base.
 * - queue-error: EXECABORT for a reason of the command itself (syntax, unknown
 *   command, OOM): nothing ran; isolate the bad event and send it to the DLQ.
 * - fatal: stop the sink (a broken marker, a changed partition count).
 */
export type Classified =
  | { kind: 'transient'; reason: string; message: string; refresh: boolean; ask?: string; full?: boolean }
  | { kind: 'queue-error'; message: string }
  | { kind: 'fatal'; message: string };

/**
 * The code of a reply error that says "not now / not here", never "not this
 * command" (shared/redis-replies.ts: retriable, redirect or target-full), e.g.
 * "MOVED" or "OOM"; undefined for any other.
 */
export function transientReason(message: string): string | undefined {
  const c = classifyReply(message);
  return c === 'retriable' || c === 'redirect' || c === 'target-full' ? replyCode(message) : undefined;
}

export function isReplyError(err: unknown): err is Error & { previousErrors?: Error[] } {
  return err instanceof Error && err.name === 'ReplyError';
}

export function classifyApplyError(err: unknown): Classified {
  if (err instanceof TandemError) {
    return err.retriable
      ? { kind: 'transient', reason: err.code, message: err.message, refresh: true }
      : { kind: 'fatal', message: err.message };
  }
  if (isReplyError(err)) {
    const previous = err.previousErrors ?? [];
    // EXECABORT: look at why the commands failed to queue.
    const redirect = previous.map((e) => e.message).concat(err.message).find((m) => transientReason(m) !== undefined);
    if (redirect !== undefined) {
      const reason = transientReason(redirect)!;
      const ask = reason === 'ASK' ? redirect.split(' ')[2] : undefined;
      if (reason === 'OOM') return { kind: 'transient', reason, message: redirect, refresh: false, full: true };
      return { kind: 'transient', reason, message: redirect, refresh: reason !== 'ASK' && reason !== 'LOADING' && reason !== 'BUSY', ask };
    }
    if (err.message.startsWith('EXECABORT')) {
      const why = previous.map((e) => e.message).join('; ');
      return { kind: 'queue-error', message: why.length > 0 ? why : err.message };
    }
    // A reply error outside a transaction's commands (e.g. on MULTI itself) says nothing about one event.
    return { kind: 'transient', reason: 'reply-error', message: err.message, refresh: true };
  }
  // Connection closed, timeouts, MaxRetriesPerRequestError: the EXEC may or may not have run.
  return { kind: 'transient', reason: 'connection', message: errorMessage(err), refresh: true };
}
