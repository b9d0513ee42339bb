import { KafkaJSError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { membershipError, withHeartbeats } from '../../../services/sink/kafka/group-membership';

/**
 * Regression (combined-failures e2e test): sink(b) retried its MULTI/EXECs
 * for ~10 s while a master of its target failed over, sent no heartbeat
 * meanwhile, was expelled from its group (6 s session), and its offset commit
 * failed with UNKNOWN_MEMBER_ID wrapped by kafkajs in a type-less
 * KafkaJSNonRetriableError: the consumer crashed and the sink exited.
 */

// kafkajs' typings omit the `{ cause }` option its errors take at run time (kafkajs/src/errors.js).
type WrapperCtor = new (e: Error, o: { cause: Error }) => Error;
const NonRetriable = KafkaJSNonRetriableError as unknown as WrapperCtor;
const RetriesExceeded = KafkaJSNumberOfRetriesExceeded as unknown as WrapperCtor;

/** The error kafkajs' commitOffsets rejects with after the coordinator expelled us (retry/index.js wraps it). */
function wrapped(type: string, code: number): Error {
  const protocol = new KafkaJSProtocolError({ message: 'The coordinator is not aware of this member', type, code, retriable: false } as unknown as Error);
  return new NonRetriable(protocol, { cause: protocol });
}

describe('sink consumer: a lost group membership makes kafkajs rejoin, not crash', () => {
  test('finds UNKNOWN_MEMBER_ID inside the NonRetriable wrapper, keeping its type for the runner', () => {
    const err = wrapped('UNKNOWN_MEMBER_ID', 25);
    expect((err as { type?: string }).type).toBeUndefined(); // why kafkajs' runner crashes on it
    const found = membershipError(err);
    expect(found).toBeInstanceOf(KafkaJSProtocolError);
    expect((found as { type?: string }).type).toBe('UNKNOWN_MEMBER_ID');
  });

  test('recognises the rebalancing types, bare or wrapped after retries', () => {
    for (const type of ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'NOT_COORDINATOR_FOR_GROUP']) {
      const protocol = new KafkaJSProtocolError({ message: type, type, code: 27, retriable: true } as unknown as Error);
      expect(membershipError(protocol)).toBe(protocol);
      expect(membershipError(new RetriesExceeded(protocol, { cause: protocol }))).toBe(protocol);
    }
  });

  test('leaves every other error alone (it stays fatal or retriable as before)', () => {
    expect(membershipError(wrapped('OFFSET_METADATA_TOO_LARGE', 12))).toBeUndefined();
    expect(membershipError(new KafkaJSError('connection closed'))).toBeUndefined();
    expect(membershipError(new Error('boom'))).toBeUndefined();
    expect(membershipError('not an error')).toBeUndefined();
  });
});

describe('sink consumer: a long batch keeps heartbeating', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  test('heartbeats while the batch runs, and stops when it ends', async () => {
    let beats = 0;
    const result = await withHeartbeats(async () => {
      // A batch that lasts until it has seen three heartbeats (bounded: a loaded machine delays timers).
      for (let i = 0; i < 500 && beats < 3; i++) await sleep(10);
      return 'done';
    }, async () => {
      beats++;
    }, 20, () => {
      throw new Error('no failure expected');
    });
    expect(result).toBe('done');
    expect(beats).toBeGreaterThanOrEqual(3);
    const after = beats;
    await sleep(100);
    expect(beats).toBe(after);
  });

  test('the first heartbeat failure is reported once and stops the heartbeats; the batch still completes', async () => {
    let beats = 0;
    const errors: unknown[] = [];
    const result = await withHeartbeats(async () => {
      await sleep(200);
      return 7;
    }, async () => {
      beats++;
      throw new Error('REBALANCE_IN_PROGRESS');
    }, 20, (err) => errors.push(err));
    expect(result).toBe(7);
    expect(beats).toBe(1);
    expect(errors).toHaveLength(1);
  });

  test('a failing batch rejects with its own error and clears the timer', async () => {
    let beats = 0;
    await expect(withHeartbeats(async () => {
      await sleep(50);
      throw new Error('apply failed');
    }, async () => {
      beats++;
    }, 10, () => undefined)).rejects.toThrow('apply failed');
    const after = beats;
    await sleep(60);
    expect(beats).toBe(after);
  });
});
