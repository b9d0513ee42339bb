import { commandBytes, encodeCommand, encodedLength, RespBuffer } from '../../../services/shared/resp';

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
});
