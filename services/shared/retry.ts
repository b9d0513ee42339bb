/**
 * The one backoff of Tandem: every retry loop takes its delays from a named
 * `BackoffPolicy` below and its bound from a `RetryBudget`, through a
 * `Retrier` (or `retry()` for a plain "call until it works" loop).
 *
 *   delay(n)  exponential: min(initialMs × factor^(n-1), maxMs)
 *             linear:      min(initialMs × n, maxMs)
 *             then ± jitter × delay, uniformly          (n = 1, 2, …)
 *
 * Jitter spreads the retries of many clients that failed together (a broker or
 * a master restart) so that they do not come back in one burst.
 *
 * A budget bounds one use: counted failures (`attempts`), time since the first
 * try (`forMs`), and an AbortSignal (a stop). Failures that must not count (a
 * target out of memory is waited for, however long) simply skip `spend()`.
 */

export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialMs: number;
  /** Largest delay. */
  maxMs: number;
  /** Default 'exponential'. */
  growth?: 'exponential' | 'linear';
  /** Growth per step of an exponential policy; default 2. */
  factor?: number;
  /** Fraction of the delay added or taken at random, 0 ≤ jitter < 1; default 0. */
  jitter?: number;
}

/**
 * The policies in use, one per kind of retry; their values are the ones each
 * site had before they were gathered here.
 */
export const POLICIES = {
  /** A replica link to a master (source/link-runner.ts): 200 ms doubling to 10 s, ±20 %. */
  replicaLink: { initialMs: 200, maxMs: 10_000, jitter: 0.2 },
  /** A failed Kafka transaction of the source (source/kafka/publisher.ts): 500 ms doubling to 10 s. */
  kafkaCommit: { initialMs: 500, maxMs: 10_000 },
  /** Topic metadata right after a broker start or a topic creation (shared/topics.ts): 200 ms doubling to 2 s. */
  topicMetadata: { initialMs: 200, maxMs: 2000 },
  /** ioredis reconnects of the sink's target connections (sink/apply/cluster-router.ts): 100 ms doubling to 2 s. */
  targetReconnect: { initialMs: 100, maxMs: 2000 },
  /** Applying to the target (sink/apply/writer.ts): `sink.retryBackoffMs` doubling to `sink.retryMaxBackoffMs`. */
  targetApply: (initialMs: number, maxMs: number): BackoffPolicy => ({ initialMs, maxMs }),
  /** A keyless command on every target master (sink/apply/control-applier.ts): `sink.retryBackoffMs` × n, up to 20×. */
  keylessApply: (stepMs: number): BackoffPolicy => ({ initialMs: stepMs, maxMs: 20 * stepMs, growth: 'linear' }),
} as const satisfies Record<string, BackoffPolicy | ((...args: number[]) => BackoffPolicy)>;

/** Delay before retry number `n` (1-based) under `policy`; `random` in [0, 1). */
export function backoffDelay(policy: BackoffPolicy, n: number, random: () => number = Math.random): number {
  const step = Math.max(1, n);
  const grown = policy.growth === 'linear' ? policy.initialMs * step : policy.initialMs * Math.pow(policy.factor ?? 2, step - 1);
  const base = Math.min(grown, policy.maxMs);
  const jitter = policy.jitter ?? 0;
  return jitter === 0 ? base : Math.round(base * (1 - jitter + 2 * jitter * random()));
}

export interface RetryBudget {
  /** Counted failures allowed; the one after the last is refused. Default: no bound. */
  attempts?: number;
  /** Time allowed from the Retrier's creation (or last reset); a failure after it is refused. Default: no bound. */
  forMs?: number;
  /** Aborting refuses any further retry and cuts a wait short. */
  signal?: AbortSignal;
}

/**
 * One use of a policy under a budget:
 *
 *   const r = new Retrier(POLICIES.x, { attempts: 5, signal });
 *   for (;;) { try { return await op(); } catch (err) { if (!retriable(err) || !r.spend()) throw err; await r.wait(); } }
 */
export class Retrier {
  /** Failures counted against the budget since the start (or the last reset). */
  failures = 0;
  /** Delays taken since the start (or the last reset); the next one is step waits + 1. */
  waits = 0;
  private started: number;

  constructor(
    readonly policy: BackoffPolicy,
    readonly budget: RetryBudget = {},
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.started = now();
  }

  /** Counts one failure; false when the budget is spent (too many failures, out of time, or aborted). */
  spend(): boolean {
    this.failures++;
    return !this.exhausted;
  }

  /** True once the budget refuses another retry; counts nothing. */
  get exhausted(): boolean {
    const b = this.budget;
    if (b.signal?.aborted === true) return true;
    if (b.attempts !== undefined && this.failures > b.attempts) return true;
    return b.forMs !== undefined && this.now() - this.started > b.forMs;
  }

  /** The next delay; each call is one step further (`step` overrides which). */
  nextDelay(step = this.waits + 1): number {
    this.waits++;
    return backoffDelay(this.policy, step, this.random);
  }

  /** Waits the next delay, or less when the budget's signal aborts. Resolves with the delay chosen. */
  async wait(step?: number): Promise<number> {
    const ms = this.nextDelay(step);
    await sleep(ms, this.budget.signal);
    return ms;
  }

  /** Back to the first delay and a full budget (a link that reached 'streaming' again). */
  reset(): void {
    this.failures = 0;
    this.waits = 0;
    this.started = this.now();
  }
}

export interface RetryOptions {
  policy: BackoffPolicy;
  budget?: RetryBudget;
  /** Whether `err` is worth another try; the others are rethrown at once. */
  retriable: (err: unknown) => boolean;
  /** Told before each wait, e.g. to log. */
  onRetry?: (err: unknown, failures: number, delayMs: number) => void;
}

/** Calls `op` until it resolves; rethrows the last error once it is not retriable or the budget is spent. */
export async function retry<T>(op: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const r = new Retrier(o.policy, o.budget);
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt);
    } catch (err) {
      if (!o.retriable(err) || !r.spend()) throw err;
      const ms = r.nextDelay();
      o.onRetry?.(err, r.failures, ms);
      await sleep(ms, o.budget?.signal);
      if (o.budget?.signal?.aborted === true) throw err;
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
