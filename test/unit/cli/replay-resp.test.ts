import { encodeCommand } from '../../../services/shared/resp';
import { progressLine, formatSeconds } from '../../../services/cli/replay/progress';

describe('RESP output for redis-cli --pipe', () => {
  test('a command is an array of bulk strings, byte lengths not character lengths', () => {
    expect(encodeCommand(['SET', 'k', 'v']).toString()).toBe('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n');
    expect(encodeCommand(['SET', 'é', '']).toString()).toBe('*3\r\n$3\r\nSET\r\n$2\r\né\r\n$0\r\n\r\n');
  });

  test('binary arguments pass through unchanged', () => {
    const bin = Buffer.from([0, 0xff, 0x0d, 0x0a]);
    const out = encodeCommand([Buffer.from('SET'), Buffer.from('k'), bin]);
    expect(out.subarray(out.length - 6)).toEqual(Buffer.concat([bin, Buffer.from('\r\n')]));
    expect(out.toString('latin1')).toContain('$4\r\n');
  });
});

describe('progress', () => {
  test('rate and ETA from records done and elapsed time', () => {
    expect(progressLine(500n, 1000n, 10_000, false)).toBe(' 50%  500/1,000 records  50/s  ETA 0:10');
    expect(progressLine(500n, 1000n, 10_000, true)).toBe('[##########----------]  50%  500/1,000 records  50/s  ETA 0:10');
    expect(progressLine(0n, 1000n, 0, false)).toContain('ETA ?');
    expect(formatSeconds(3725)).toBe('1:02:05');
  });
});
