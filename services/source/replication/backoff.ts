/**
 * runLink: the single retry policy of a replica link. A retriable failure
 * (link lost, master -LOADING / -NOMASTERLINK, connect refused) is retried with
 * exponential backoff and jitter; a fatal one (REPL_AUTH, protocol error, a
 * consumer's non-retriable error) ends the loop and is rethrown. Each retry
 * resumes from the link's own checkpoint, so a lost link costs a +CONTINUE, not
 * a full resync. The failure count resets whenever the link reaches
 * 'streaming', so the bound is on consecutive failures.
 */
import { TandemError, isRetriable } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import type { ReplicaLink } from './replica-link';
import type { ReplicaLinkState } from './types';

export interface BackoffOptions {
  /** First delay. Default 200 ms. */
  initialDelayMs?: number;
  /** Largest delay. Default 30 s. */
  maxDelayMs?: number;
  /** Growth per failure. Default 2. */
  factor?: number;
  /** Consecutive failures before giving up. Default 50 (Infinity: never). */
  maxAttempts?: number;
}

/** Delay before retry number `attempt` (1-based): initial × factor^(attempt-1), capped, with ±20 % jitter. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = Math.min(
    (opts.initialDelayMs ?? 200) * Math.pow(opts.factor ?? 2, Math.max(0, attempt - 1)),
    opts.maxDelayMs ?? 30_000,
  );
  return Math.round(base * (0.8 + 0.4 * random()));
}

export interface RunLinkOptions {
  backoff?: BackoffOptions;
  /** Aborting stops the link and ends runLink normally. */
  signal?: AbortSignal;
  logger?: Logger;
}

export async function runLink(link: ReplicaLink, opts: RunLinkOptions = {}): Promise<void> {
  const { signal, logger } = opts;
  const maxAttempts = opts.backoff?.maxAttempts ?? 50;
  let failures = 0;
  const onState = (state: ReplicaLinkState): void => {
    if (state === 'streaming') failures = 0;
  };
  const onAbort = (): void => void link.stop();
  link.on('state', onState);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    while (!signal?.aborted) {
      try {
        await link.run();
        return; // run() resolves only after stop()
      } catch (err) {
        if (signal?.aborted) return;
        if (!isRetriable(err)) throw err;
        failures++;
        if (failures > maxAttempts) {
          throw TandemError.wrap('REPL_LINK_LOST', `replica link gave up after ${maxAttempts} consecutive failures`, err);
        }
        const delay = backoffDelay(failures, opts.backoff);
        logger?.warn({ err: err instanceof Error ? err.message : String(err), attempt: failures, delayMs: delay }, 'replica link failed; retrying');
        await sleep(delay, signal);
      }
    }
  } finally {
    link.off('state', onState);
    signal?.removeEventListener('abort', onAbort);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
