import { commandBytes, encodeCommand, encodedLength, encodePrefix, RespBuffer } from '../../../services/shared/resp';

const manual = (argv: (string | Buffer)[]) =>
  Buffer.concat([
    Buffer.from(`*${argv.length}\r\n`),
    ...argv.flatMap((a) => {
      const b = typeof a === 'string' ? Buffer.from(a) : a;
      return [Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')];
    }),
  ]);

describe('RESP encoding', () => {
  test('a command is canonical multibulk; its length is what it adds to a replication offset', () => {
    const argv = [Buffer.from('SET'), Buffer.from('k\u00e9'), Buffer.alloc(300, 0x0d)];
    expect(encodeCommand(argv).equals(manual(argv))).toBe(true);
    expect(encodedLength(argv)).toBe(manual(argv).length);
    expect(commandBytes(['SET', 'é', ''])).toBe(manual(['SET', 'é', '']).length);
  });

  test('many commands in one buffer, grown past its first size, equal their encodings one after the other', () => {
    const commands: (string | Buffer)[][] = [['MULTI'], ['SET', '__tandem:{a}:o:x', '3:10:2'], ['SET', Buffer.from([0, 0xff]), Buffer.alloc(5000, 7)], ['EXEC']];
    const out = new RespBuffer(16);
    for (const c of commands) out.command(c);
    expect(out.finish().equals(Buffer.concat(commands.map(manual)))).toBe(true);
  });

  test('lengths of every digit count are written as their decimal text', () => {
    for (const len of [0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65536, 1234567]) {
      const argv = ['SET', Buffer.alloc(len, 0x61)];
      const out = new RespBuffer(8);
      out.command(argv);
      expect(out.finish().equals(manual(argv))).toBe(true);
    }
  });

  test('a constant head plus bulk arguments equals the whole command encoded at once', () => {
    const script = 'return 1\r\n'.repeat(30);
    const head = encodePrefix(6, ['EVAL', script, '1']);
    const out = new RespBuffer(4);
    out.raw(head);
    for (const a of ['__tandem:{a}:o:x', '3:10:2', Buffer.alloc(12345, 0x0a)]) out.bulk(a);
    expect(out.finish().equals(manual(['EVAL', script, '1', '__tandem:{a}:o:x', '3:10:2', Buffer.alloc(12345, 0x0a)]))).toBe(true);
  });
});
