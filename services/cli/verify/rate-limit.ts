/**
 * A pacing token bucket shared by every reader of both sides: `take(n)`
 * reserves n tokens at `rate` per second and resolves when they are due. The
 * reservation is synchronous, so concurrent callers queue in order and the
 * total never exceeds the rate (plus a burst of `burst` tokens).
 */
import { sleep } from '../../shared/retry';

export class RateLimiter {
  private next = 0;

  constructor(
    private readonly rate: number,
    private readonly burst = Math.max(1, Math.floor(rate / 20)),
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Milliseconds to wait before n tokens are available; reserves them. */
  reserve(n = 1): number {
    // GCRA: `next` is the theoretical arrival time; a request may run `burst` tokens ahead of it.
    const now = this.now();
    const period = 1000 / this.rate;
    this.next = Math.max(this.next, now) + n * period;
    return Math.max(0, this.next - this.burst * period - now);
  }

  async take(n = 1): Promise<void> {
    const wait = this.reserve(n);
    if (wait > 0) await sleep(wait);
  }
}
