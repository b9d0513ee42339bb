import { parsePsyncReply, psyncArgs } from '../../../../services/source/replication/psync';
import { replyError } from '../../../../services/source/replication/reply-errors';

const ID = '0123456789abcdef0123456789abcdef01234567';

describe('PSYNC request', () => {
  it('asks for a full resync without a checkpoint', () => {
    expect(psyncArgs(undefined)).toEqual(['PSYNC', '?', '-1']);
  });
  it('asks for the byte after the checkpoint offset', () => {
    expect(psyncArgs({ replid: ID, offset: 1000 })).toEqual(['PSYNC', ID, '1001']);
  });
});

describe('PSYNC reply', () => {
  it('reads +FULLRESYNC', () => {
    expect(parsePsyncReply(`+FULLRESYNC ${ID} 4242`, 'PSYNC', 'm')).toEqual({ kind: 'full', replid: ID, offset: 4242 });
  });
  it('reads +CONTINUE with and without a new replid', () => {
    expect(parsePsyncReply('+CONTINUE', 'PSYNC', 'm')).toEqual({ kind: 'continue', replid: null });
    expect(parsePsyncReply(`+CONTINUE ${ID}`, 'PSYNC', 'm')).toEqual({ kind: 'continue', replid: ID });
  });
  it('refuses malformed replies', () => {
    expect(() => parsePsyncReply('+FULLRESYNC nope 1', 'PSYNC', 'm')).toThrow(/malformed/);
    expect(() => parsePsyncReply('+OK', 'PSYNC', 'm')).toThrow(/unexpected reply/);
  });
  it('makes -LOADING and -NOMASTERLINK retriable', () => {
    for (const line of ['-LOADING Redis is loading the dataset in memory', "-NOMASTERLINK Can't SYNC while not connected with my master"]) {
      expect(() => parsePsyncReply(line, 'PSYNC', 'm')).toThrow(expect.objectContaining({ code: 'REPL_MASTER_LOADING', retriable: true }));
    }
  });
});

describe('handshake error replies', () => {
  it.each([
    '-NOAUTH Authentication required.',
    '-WRONGPASS invalid username-password pair or user is disabled.',
    "-NOPERM this user has no permissions to run the 'psync' command",
    '-ERR operation not permitted',
  ])('makes %s a non-retriable REPL_AUTH naming the minimal ACL', (line) => {
    const err = replyError('AUTH', line, 'h:1');
    expect(err.code).toBe('REPL_AUTH');
    expect(err.retriable).toBe(false);
    expect(err.message).toMatch(/\+psync \+replconf/);
  });
  it('makes other errors a non-retriable REPL_HANDSHAKE', () => {
    const err = replyError('REPLCONF listening-port', '-ERR syntax error', 'h:1');
    expect(err).toMatchObject({ code: 'REPL_HANDSHAKE', retriable: false });
  });
});
