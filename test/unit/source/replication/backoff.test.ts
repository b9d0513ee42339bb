import { backoffDelay } from '../../../../services/source/replication/backoff';

describe('backoffDelay', () => {
  const mid = () => 0.5; // no jitter
  it('grows exponentially from the initial delay', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, { initialDelayMs: 100 }, mid))).toEqual([100, 200, 400, 800]);
  });
  it('is capped', () => {
    expect(backoffDelay(30, { initialDelayMs: 100, maxDelayMs: 5000 }, mid)).toBe(5000);
  });
  it('jitters by at most 20 %', () => {
    expect(backoffDelay(1, { initialDelayMs: 1000 }, () => 0)).toBe(800);
    expect(backoffDelay(1, { initialDelayMs: 1000 }, () => 1)).toBe(1200);
  });
});
