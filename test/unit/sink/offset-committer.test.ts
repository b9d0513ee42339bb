import { OffsetCommitter, type TopicPartitionOffset } from '../../../services/sink/kafka/offset-committer';

/** Records each OffsetCommit request (its offsets and when it started) and answers it when told to. */
function fakeKafka(clock: { now: number }) {
  const requests: { at: number; offsets: TopicPartitionOffset[]; answer: (err?: Error) => void }[] = [];
  const commit = (offsets: TopicPartitionOffset[]) =>
    new Promise<void>((resolve, reject) => requests.push({ at: clock.now, offsets, answer: (err) => (err ? reject(err) : resolve()) }));
  return { requests, commit };
}

/** A committer at `minIntervalMs` over the fake Kafka, on a clock the test moves. */
function setup(minIntervalMs: number, now = 0) {
  const clock = { now };
  const kafka = fakeKafka(clock);
  return { clock, kafka, c: new OffsetCommitter(kafka.commit, minIntervalMs, () => clock.now) };
}

const settle = () => new Promise<void>((r) => setImmediate(r));
const at = (partition: number, offset: number): TopicPartitionOffset => ({ topic: 't', partition, offset: String(offset) });

describe('OffsetCommitter', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] }));
  afterEach(() => jest.useRealTimers());

  it('sends the first commit at once and the offsets that finish meanwhile together, no sooner than minIntervalMs after it', async () => {
    const { clock, kafka, c } = setup(100, 1000);
    const first = c.commit(at(0, 5));
    await settle();
    expect(kafka.requests).toHaveLength(1);
    expect(kafka.requests[0].offsets).toEqual([at(0, 5)]);

    // Three batches finish while the first request is in flight: the latest offset per partition is kept.
    const later = [c.commit(at(0, 7)), c.commit(at(1, 3)), c.commit(at(0, 9))];
    clock.now += 20;
    kafka.requests[0].answer();
    await first;
    await settle();
    expect(kafka.requests).toHaveLength(1); // 20 ms after the first started: waits for the interval

    clock.now += 79;
    jest.advanceTimersByTime(79);
    await settle();
    expect(kafka.requests).toHaveLength(1);

    clock.now += 1;
    jest.advanceTimersByTime(1);
    await settle();
    expect(kafka.requests).toHaveLength(2);
    expect(kafka.requests[1].at - kafka.requests[0].at).toBe(100);
    expect(kafka.requests[1].offsets).toEqual([at(0, 9), at(1, 3)]);
    kafka.requests[1].answer();
    await Promise.all(later);
  });

  it('does not wait when the last request started longer than minIntervalMs ago', async () => {
    const { clock, kafka, c } = setup(100);
    const one = c.commit(at(0, 1));
    await settle();
    kafka.requests[0].answer();
    await one;
    clock.now += 500;
    void c.commit(at(0, 2));
    await settle();
    expect(kafka.requests).toHaveLength(2);
  });

  it('idle() sends what is pending at once instead of waiting out the interval (the consumer stops)', async () => {
    const { kafka, c } = setup(60_000);
    void c.commit(at(0, 1));
    await settle();
    const pending = c.commit(at(0, 2));
    kafka.requests[0].answer();
    await settle();
    expect(kafka.requests).toHaveLength(1); // waiting out the minute
    const idle = c.idle();
    await settle();
    expect(kafka.requests).toHaveLength(2);
    expect(kafka.requests[1].offsets).toEqual([at(0, 2)]);
    kafka.requests[1].answer();
    await pending;
    await idle;
  });

  it('rejects the callers of a failed request and still sends the offsets that came after it', async () => {
    const { clock, kafka, c } = setup(10);
    const one = c.commit(at(0, 1));
    await settle();
    const two = c.commit(at(0, 2));
    kafka.requests[0].answer(new Error('NOT_COORDINATOR'));
    await expect(one).rejects.toThrow('NOT_COORDINATOR');
    clock.now += 10;
    jest.advanceTimersByTime(10);
    await settle();
    expect(kafka.requests[1].offsets).toEqual([at(0, 2)]);
    kafka.requests[1].answer();
    await two;
  });
});
