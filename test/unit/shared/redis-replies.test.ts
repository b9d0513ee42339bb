import { classifyReply, isAuthReply, replyCode } from '../../../services/shared/redis-replies';
import { transientReason } from '../../../services/sink/apply/reply-errors';
import { replyError } from '../../../services/source/replication/reply-errors';

// Reply texts as Redis 7 sends them (redis/src/server.c shared.* and cluster.c), with and without the leading '-'.
describe('the table of Redis error replies', () => {
  it.each([
    ['-LOADING Redis is loading the dataset in memory', 'retriable'],
    ["-NOMASTERLINK Can't SYNC while not connected with my master", 'retriable'],
    ['-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to \'no\'.', 'retriable'],
    ['BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.', 'retriable'],
    ['TRYAGAIN Multiple keys request during rehashing of slot', 'retriable'],
    ['CLUSTERDOWN The cluster is down', 'retriable'],
    ["READONLY You can't write against a read only replica.", 'retriable'],
    ['NOREPLICAS Not enough good replicas to write.', 'retriable'],
    ['UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)', 'retriable'],
    ['MOVED 3999 127.0.0.1:6381', 'redirect'],
    ['ASK 3999 127.0.0.1:6381', 'redirect'],
    ["OOM command not allowed when used memory > 'maxmemory'.", 'target-full'],
    ['-NOAUTH Authentication required.', 'auth'],
    ['WRONGPASS invalid username-password pair or user is disabled.', 'auth'],
    ["NOPERM User tandem has no permissions to run the 'psync' command", 'auth'],
    ['-ERR operation not permitted', 'auth'], // Redis before 6
    ['ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?', 'auth'],
    ['ERR syntax error', 'fatal'],
    ['WRONGTYPE Operation against a key holding the wrong kind of value', 'fatal'],
    ['BUSYKEY Target key name already exists.', 'fatal'], // not BUSY
    ['EXECABORT Transaction discarded because of previous errors.', 'fatal'],
    ['Connection is closed.', 'fatal'],
  ])('%s is %s', (reply, cls) => {
    expect(classifyReply(reply)).toBe(cls);
  });

  it('reads the code word, upper case, with or without the leading dash', () => {
    expect(replyCode('-LOADING Redis is loading')).toBe('LOADING');
    expect(replyCode('moved 1 h:1')).toBe('MOVED');
    expect(replyCode('OOM')).toBe('OOM');
  });

  it('serves the source, the sink and the tools alike', () => {
    const line = '-LOADING Redis is loading the dataset in memory';
    expect(replyError('PSYNC ? -1', line, 'h:1')).toMatchObject({ code: 'REPL_MASTER_LOADING', retriable: true });
    expect(transientReason(line.slice(1))).toBe('LOADING');
    expect(transientReason('OOM command not allowed')).toBe('OOM');
    expect(transientReason('BUSYKEY Target key name already exists.')).toBeUndefined();
    expect(isAuthReply('WRONGPASS invalid username-password pair')).toBe(true);
    expect(isAuthReply('connect ECONNREFUSED 127.0.0.1:7000')).toBe(false);
  });
});
