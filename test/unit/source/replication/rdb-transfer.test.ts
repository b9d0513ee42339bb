import { Readable } from 'node:stream';
import { receiveRdb } from '../../../../services/source/replication/rdb-transfer';
import { SocketReader } from '../../../../services/source/replication/socket-reader';
import type { RdbSink } from '../../../../services/source/replication/types';

const RDB = Buffer.concat([Buffer.from('REDIS0010'), Buffer.alloc(300, 0xab), Buffer.from([0xff, 1, 2, 3, 4, 5, 6, 7, 8])]);
const MARK = Buffer.from('0123456789abcdef0123456789abcdef01234567');
const STREAM = Buffer.from('*1\r\n$4\r\nPING\r\n');

class Sink implements RdbSink {
  size: number | null | undefined;
  chunks: Buffer[] = [];
  ended = false;
  begin(info: { size: number | null }): void {
    this.size = info.size;
  }
  write(chunk: Buffer): void {
    this.chunks.push(Buffer.from(chunk));
  }
  end(): void {
    this.ended = true;
  }
}

/** Feeds `bytes` to the transfer in chunks cut at `cuts`, as a socket would. */
async function transfer(bytes: Buffer, cuts: number[]) {
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > from) chunks.push(bytes.subarray(from, cut));
    from = cut;
  }
  const reader = new SocketReader(Readable.from(chunks), 'test');
  const sink = new Sink();
  const result = await receiveRdb(reader, sink, { replid: 'x', offset: 0 }, 'test');
  const rest: Buffer[] = [];
  try {
    for (;;) rest.push(await reader.next());
  } catch (err) {
    // The end of the input is reported as a lost link; anything else is a failure.
    expect(err).toMatchObject({ code: 'REPL_LINK_LOST' });
  }
  return { sink, result, rest: Buffer.concat(rest) };
}

describe('RDB transfer', () => {
  it('reads a disk RDB of $len bytes after keepalive newlines, at every split point, and leaves the stream after it', async () => {
    const bytes = Buffer.concat([Buffer.from(`\n\n$${RDB.length}\r\n`), RDB, STREAM]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const { sink, result, rest } = await transfer(bytes, [cut]);
      expect(Buffer.concat(sink.chunks)).toEqual(RDB);
      expect(sink.size).toBe(RDB.length);
      expect(sink.ended).toBe(true);
      expect(result).toEqual({ size: RDB.length, diskless: false });
      expect(rest).toEqual(STREAM);
    }
  });

  it('reads a diskless RDB up to its EOF mark, strips the mark, at every split point', async () => {
    const bytes = Buffer.concat([Buffer.from(`\n$EOF:${MARK.toString()}\r\n`), RDB, MARK]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const { sink, result } = await transfer(bytes, [cut]);
      expect(Buffer.concat(sink.chunks)).toEqual(RDB);
      expect(sink.size).toBeNull();
      expect(result).toEqual({ size: RDB.length, diskless: true });
    }
  });

  it('reads a diskless RDB delivered a few bytes at a time', async () => {
    const bytes = Buffer.concat([Buffer.from(`$EOF:${MARK.toString()}\r\n`), RDB, MARK]);
    const cuts = Array.from({ length: Math.floor(bytes.length / 7) }, (_, i) => (i + 1) * 7);
    const { sink } = await transfer(bytes, cuts);
    expect(Buffer.concat(sink.chunks)).toEqual(RDB);
  });

  it('fails with a retriable REPL_LINK_LOST when the link drops mid-RDB', async () => {
    const bytes = Buffer.concat([Buffer.from(`$${RDB.length}\r\n`), RDB.subarray(0, 100)]);
    await expect(transfer(bytes, [])).rejects.toMatchObject({ code: 'REPL_LINK_LOST', retriable: true });
  });

  it('refuses a preamble that is not $len or $EOF', async () => {
    await expect(transfer(Buffer.from('+OK\r\n'), [])).rejects.toMatchObject({ code: 'REPL_HANDSHAKE' });
  });
});
