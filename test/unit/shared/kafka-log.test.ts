import { Writable } from 'node:stream';
import { logLevel } from 'kafkajs';
import { pinoLogCreator } from '../../../services/shared/kafka-client';
import { createLogger } from '../../../services/shared/logger';

function capture(): { lines: { level: string; msg: string }[]; log: ReturnType<typeof createLogger> } {
  const lines: { level: string; msg: string }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: string; msg: string });
      done();
    },
  });
  return { lines, log: createLogger('test', { level: 'debug', destination }) };
}

describe('kafkajs logs through pino', () => {
  test('an attempt kafkajs retries (CONCURRENT_TRANSACTIONS between back-to-back transactions) is debug, not error', async () => {
    const { lines, log } = capture();
    const entry = pinoLogCreator(log)(logLevel.WARN);
    entry({ namespace: 'Producer', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 't', message: 'Failed to send messages: The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing', retryCount: 0, retryTime: 6 } });
    entry({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 't', message: 'Response AddPartitionsToTxn(key: 24, version: 1)', error: 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing' } });
    entry({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 't', message: 'Connection error: ECONNREFUSED' } });
    entry({ namespace: 'Consumer', level: logLevel.INFO, label: 'INFO', log: { timestamp: 't', message: 'Consumer has joined the group' } });
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.level, l.msg.slice(0, 24)])).toEqual([
      ['debug', 'Failed to send messages:'],
      ['debug', 'Response AddPartitionsTo'],
      ['error', 'Connection error: ECONNR'],
      ['debug', 'Consumer has joined the '],
    ]);
  });
});
