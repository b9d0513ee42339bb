import { POLICIES, Retrier, backoffDelay, retry, sleep } from '../../../services/shared/retry';

const steps = (policy: Parameters<typeof backoffDelay>[0], n: number, random = () => 0.5) =>
  Array.from({ length: n }, (_, i) => backoffDelay(policy, i + 1, random));

describe('backoffDelay', () => {
  it('grows exponentially from the initial delay, up to the cap', () => {
    expect(steps({ initialMs: 100, maxMs: 1000 }, 6)).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay({ initialMs: 100, maxMs: 5000 }, 3000)).toBe(5000); // 2^2999 is Infinity: still the cap
  });

  it('grows linearly when asked, up to the cap', () => {
    expect(steps(POLICIES.keylessApply(50), 22).slice(0, 3)).toEqual([50, 100, 150]);
    expect(steps(POLICIES.keylessApply(50), 22).slice(-3)).toEqual([1000, 1000, 1000]);
  });

  it('jitters by at most the policy\'s fraction, both ways', () => {
    const p = { initialMs: 1000, maxMs: 10_000, jitter: 0.2 };
    expect(backoffDelay(p, 1, () => 0)).toBe(800);
    expect(backoffDelay(p, 1, () => 0.5)).toBe(1000);
    expect(backoffDelay(p, 1, () => 0.999999)).toBe(1200);
  });

  // The values each retry site had before the policies were gathered in retry.ts.
  it('keeps the replica link\'s delays: 200 ms doubling to 10 s, ±20 %', () => {
    expect(steps(POLICIES.replicaLink, 8)).toEqual([200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
  });

  it('keeps the Kafka commit\'s delays: min(10 s, 250 × 2^min(failures, 6))', () => {
    const old = (f: number) => Math.min(10_000, 250 * 2 ** Math.min(f, 6));
    expect(steps(POLICIES.kafkaCommit, 10)).toEqual(Array.from({ length: 10 }, (_, i) => old(i + 1)));
  });

  it('keeps the topic metadata\'s delays: min(2 s, 100 × 2^attempt)', () => {
    const old = (a: number) => Math.min(2000, 100 * 2 ** a);
    expect(steps(POLICIES.topicMetadata, 8)).toEqual(Array.from({ length: 8 }, (_, i) => old(i + 1)));
  });

  it('keeps the target reconnect\'s delays: min(50 × 2^min(times, 6), 2 s)', () => {
    const old = (t: number) => Math.min(50 * 2 ** Math.min(t, 6), 2000);
    expect(steps(POLICIES.targetReconnect, 8)).toEqual(Array.from({ length: 8 }, (_, i) => old(i + 1)));
  });

  it('keeps the apply\'s delays: retryBackoffMs doubling to retryMaxBackoffMs', () => {
    expect(steps(POLICIES.targetApply(100, 2000), 7)).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
  });
});

describe('Retrier', () => {
  it('refuses the failure after the last allowed attempt', () => {
    const r = new Retrier({ initialMs: 1, maxMs: 1 }, { attempts: 2 });
    expect([r.spend(), r.spend(), r.spend()]).toEqual([true, true, false]);
    expect(r.exhausted).toBe(true);
  });

  it('refuses a failure after its time is up', () => {
    let now = 1000;
    const r = new Retrier({ initialMs: 1, maxMs: 1 }, { forMs: 500 }, () => now);
    expect(r.spend()).toBe(true);
    now = 1500;
    expect(r.spend()).toBe(true); // at the limit, not past it
    now = 1501;
    expect(r.spend()).toBe(false);
  });

  it('refuses any retry once aborted', () => {
    const stop = new AbortController();
    const r = new Retrier({ initialMs: 1, maxMs: 1 }, { signal: stop.signal });
    expect(r.spend()).toBe(true);
    stop.abort();
    expect(r.spend()).toBe(false);
  });

  it('steps its delays and starts over on reset, budget included', () => {
    const r = new Retrier({ initialMs: 10, maxMs: 1000 }, { attempts: 1 });
    expect([r.nextDelay(), r.nextDelay(), r.nextDelay()]).toEqual([10, 20, 40]);
    r.spend();
    expect(r.spend()).toBe(false);
    r.reset();
    expect(r.spend()).toBe(true);
    expect(r.nextDelay()).toBe(10);
  });

  it('takes the step it is given, e.g. one that follows counted failures only', () => {
    const r = new Retrier(POLICIES.keylessApply(10));
    expect([r.nextDelay(3), r.nextDelay(3), r.nextDelay()]).toEqual([30, 30, 30]);
  });

  it('waits its delay, or less when aborted', async () => {
    const stop = new AbortController();
    const r = new Retrier({ initialMs: 60_000, maxMs: 60_000 }, { signal: stop.signal });
    const t = Date.now();
    const waiting = r.wait();
    stop.abort();
    expect(await waiting).toBe(60_000);
    expect(Date.now() - t).toBeLessThan(1000);
  });
});

describe('retry', () => {
  const transient = Object.assign(new Error('not yet'), { retriable: true });
  const fatal = new Error('never');
  const isTransient = (err: unknown) => (err as { retriable?: boolean }).retriable === true;

  it('calls until the operation succeeds, telling each retry', async () => {
    const told: [number, number][] = [];
    let calls = 0;
    const result = await retry(
      async () => {
        if (++calls < 3) throw transient;
        return 'done';
      },
      { policy: { initialMs: 1, maxMs: 4 }, retriable: isTransient, onRetry: (_err, failures, ms) => told.push([failures, ms]) },
    );
    expect(result).toBe('done');
    expect(told).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('rethrows an error that is not retriable at once', async () => {
    let calls = 0;
    const op = async () => {
      calls++;
      throw fatal;
    };
    await expect(retry(op, { policy: { initialMs: 1, maxMs: 1 }, retriable: isTransient })).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });

  it('rethrows the last error once the attempts are spent', async () => {
    let calls = 0;
    const op = async () => {
      calls++;
      throw transient;
    };
    await expect(retry(op, { policy: { initialMs: 1, maxMs: 1 }, budget: { attempts: 3 }, retriable: isTransient })).rejects.toBe(transient);
    expect(calls).toBe(4); // the first try and 3 retries
  });

  it('stops retrying when aborted during a wait', async () => {
    const stop = new AbortController();
    let calls = 0;
    const op = async () => {
      calls++;
      throw transient;
    };
    const running = retry(op, { policy: { initialMs: 60_000, maxMs: 60_000 }, budget: { signal: stop.signal }, retriable: isTransient });
    await sleep(10);
    stop.abort();
    await expect(running).rejects.toBe(transient);
    expect(calls).toBe(1);
  });
});
