import { TandemError } from '../shared/errors';

/**
 * LZF decompression, as in Redis's deps (lzf_d.c). The stream is a sequence of
 *
 *   literal:  000LLLLL <L+1 bytes>                     (ctrl < 32)
 *   backref:  LLLooooo [LLLLLLLL if LLL = 7] oooooooo  copy len+2 bytes from
 *             out[pos - (o + 1)], overlapping copies allowed (RLE-style)
 *
 * Redis stores compressed strings as <clen><ulen><clen bytes>; ulen must be
 * exactly what decompression produces, so any mismatch is corruption.
 */
export function lzfDecompress(input: Uint8Array, expectedLength: number): Buffer {
  const out = Buffer.allocUnsafe(expectedLength);
  let ip = 0;
  let op = 0;
  const inEnd = input.length;
  while (ip < inEnd) {
    const ctrl = input[ip++];
    if (ctrl < 32) {
      const len = ctrl + 1;
      if (op + len > expectedLength) throw lzfError(`literal run of ${len} bytes overflows the ${expectedLength}-byte output`);
      if (ip + len > inEnd) throw lzfError(`literal run of ${len} bytes runs past the compressed input`);
      out.set(input.subarray(ip, ip + len), op);
      ip += len;
      op += len;
      continue;
    }
    let len = ctrl >> 5;
    if (len === 7) {
      if (ip >= inEnd) throw lzfError('back reference length byte missing');
      len += input[ip++];
    }
    if (ip >= inEnd) throw lzfError('back reference offset byte missing');
    const ref = op - ((ctrl & 0x1f) << 8) - input[ip++] - 1;
    len += 2;
    if (ref < 0) throw lzfError(`back reference points ${-ref} bytes before the output start`);
    if (op + len > expectedLength) throw lzfError(`back reference of ${len} bytes overflows the ${expectedLength}-byte output`);
    if (ref + len <= op) {
      out.copyWithin(op, ref, ref + len);
      op += len;
    } else {
      // Overlapping copy: byte by byte repeats the pattern, as lzf_d.c does.
      for (let i = 0; i < len; i++) out[op++] = out[ref + i];
    }
  }
  if (op !== expectedLength) throw lzfError(`decompressed to ${op} bytes, header says ${expectedLength}`);
  return out;
}

function lzfError(what: string): TandemError {
  return new TandemError('RDB_CORRUPT', `LZF data corrupt: ${what}`);
}
