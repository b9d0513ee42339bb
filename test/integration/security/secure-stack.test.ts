import Redis, { type Cluster } from 'ioredis';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { clusterPorts } from '../../../services/cli/stack/redis-cluster';
import { topicsOf } from '../../../services/shared/kafka-client';
import { compareClusters } from '../../harness/cluster-compare';
import {
  adminCluster,
  clientTls,
  createSecureTopics,
  PASSWORDS,
  secureKafka,
  startSecureService,
  startSecureStack,
  type SecureStack,
} from '../../harness/secure-stack';
import { CLI, type SourceProcess } from '../../harness/source-process';

/**
 * Every hop secured at once, against real servers: Redis Clusters with TLS
 * only (mutual TLS) and least-privilege ACL users, and a Kafka listener with
 * SASL over TLS. The source authenticates to Kafka with SCRAM-SHA-512, the
 * sink with PLAIN. Wrong credentials stop a process at start with one clear
 * line, and no log ever holds a password.
 */
const waitUntil = async (what: string, check: () => Promise<boolean>, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
};

/**
 * Waits for the process to exit, polling its /readyz meanwhile; returns the
 * exit code and whether it ever answered ready. Fails if it still runs after timeoutMs.
 */
async function exitOutcome(sp: SourceProcess, timeoutMs = 60_000): Promise<{ code: number | null; everReady: boolean }> {
  let everReady = false;
  const deadline = Date.now() + timeoutMs;
  while (sp.proc.exitCode === null && sp.proc.signalCode === null && Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${sp.httpPort}/readyz`)).status === 200) everReady = true;
    } catch {
      // not listening (yet, or any more)
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (sp.proc.exitCode === null && sp.proc.signalCode === null) {
    await sp.kill();
    throw new Error(`process still running after ${timeoutMs} ms; log:\n${sp.log().slice(-3000)}`);
  }
  return { code: await sp.exited, everReady };
}

function expectNoSecrets(log: string): void {
  for (const pw of Object.values(PASSWORDS)) expect(log).not.toContain(pw);
}

/** Denied commands recorded by every node of a cluster (ACL LOG), as "user command" strings. */
async function aclDenials(stack: SecureStack, which: 'a' | 'b'): Promise<string[]> {
  const out: string[] = [];
  for (const port of clusterPorts(stack.clusters[which])) {
    const r = new Redis({
      host: '127.0.0.1',
      port,
      password: PASSWORDS.admin,
      tls: clientTls(stack),
    });
    try {
      const entries = (await r.call('ACL', 'LOG')) as unknown[][];
      for (const e of entries) {
        const f = new Map<string, unknown>();
        for (let i = 0; i + 1 < e.length; i += 2) f.set(String(e[i]), e[i + 1]);
        out.push(`${String(f.get('username'))} ${String(f.get('reason'))} ${String(f.get('object'))} (port ${port})`);
      }
    } finally {
      r.disconnect();
    }
  }
  return out;
}

describe('security: TLS, ACL users and SASL on every hop', () => {
  let stack: SecureStack;
  let a: Cluster;
  let b: Cluster;
  const started: SourceProcess[] = [];

  beforeAll(async () => {
    stack = await startSecureStack((line) => process.stderr.write(`[secure stack] ${line}\n`));
    a = adminCluster(stack, 'a');
    b = adminCluster(stack, 'b');
    await createSecureTopics(stack, 'sa');
    await createSecureTopics(stack, 'sb');
  }, 240_000);

  afterAll(async () => {
    await Promise.all(started.map((p) => p.kill()));
    a?.disconnect();
    b?.disconnect();
    await stack?.stop();
  });

  const launch = async (o: Parameters<typeof startSecureService>[1]) => {
    const sp = await startSecureService(stack, o);
    started.push(sp);
    return sp;
  };
  const sourceCreds = {
    redis: { username: 'tandem-source', password: PASSWORDS.source },
    kafka: { mechanism: 'scram-sha-512' as const, username: 'tandem-source', password: PASSWORDS.kafkaScram },
  };
  const sinkCreds = {
    redis: { username: 'tandem-sink', password: PASSWORDS.sink },
    kafka: { mechanism: 'plain' as const, username: 'tandem-sink', password: PASSWORDS.kafkaPlain },
  };

  it('the least-privilege users can do no more than their job', async () => {
    const tls = clientTls(stack);
    const port = clusterPorts(stack.clusters.a)[0];
    const as = (username: string, password: string) => new Redis({ host: '127.0.0.1', port, username, password, tls, lazyConnect: true });
    const source = as('tandem-source', PASSWORDS.source);
    const sink = as('tandem-sink', PASSWORDS.sink);
    try {
      await source.connect();
      await sink.connect();
      await expect(source.get('{x}k')).rejects.toThrow(/NOPERM/);
      await expect(source.set('{x}k', 'v')).rejects.toThrow(/NOPERM/);
      await expect(source.call('CONFIG', 'SET', 'maxmemory', '1')).rejects.toThrow(/NOPERM/); // CONFIG GET only: it reads notify-keyspace-events
      await expect(source.call('SUBSCRIBE', 'other')).rejects.toThrow(/NOPERM/); // keyevent channels only
      await expect(sink.call('FLUSHALL')).rejects.toThrow(/NOPERM/);
      await expect(sink.call('CONFIG', 'SET', 'maxmemory', '1')).rejects.toThrow(/NOPERM/);
      await expect(sink.call('KEYS', '*')).rejects.toThrow(/NOPERM/);
      await expect(sink.call('PSYNC', '?', '-1')).rejects.toThrow(/NOPERM/);
      // And a plaintext client is refused outright: the nodes have no plaintext port.
      const plain = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      plain.on('error', () => undefined);
      await expect(plain.connect().then(() => plain.ping())).rejects.toThrow();
      plain.disconnect();
    } finally {
      source.disconnect();
      sink.disconnect();
      await Promise.all([a, b].map(async (c) => Promise.all(c.nodes('master').map((n) => n.call('ACL', 'LOG', 'RESET')))));
    }
  });

  it('replicates a -> b with TLS, ACL users and SASL (SCRAM for the source, PLAIN for the sink)', async () => {
    // Keys written before the source starts arrive as snapshot events (RESTORE), the rest as the live stream.
    for (let i = 0; i < 50; i++) await a.set(`sec:snap:${i}`, `v${i}`);
    await a.hset('sec:hash', 'f1', 'x', 'f2', 'y');
    const source = await launch({ kind: 'source', dc: 'sa', cluster: 'a', ...sourceCreds });
    const sink = await launch({ kind: 'sink', dc: 'sb', cluster: 'b', ...sinkCreds, sink: { peers: ['sa'], snapshotPolicy: 'apply' } });

    for (let i = 0; i < 50; i++) await a.set(`sec:live:${i}`, `v${i}`, 'PX', 600_000);
    await a.rpush('sec:list', 'a', 'b', 'c');
    await a.multi().incr('{sec:tx}n').set('{sec:tx}m', 'done').exec();
    await a.del('sec:snap:0');
    await a.call('FUNCTION', 'LOAD', "#!lua name=seclib\nredis.register_function('sec_echo', function(keys, args) return args[1] end)");

    await waitUntil('b to hold the last write', async () => (await b.get('{sec:tx}m')) === 'done');
    await waitUntil('b to match a', async () => (await compareClusters(a, b, '*sec*')).diffs.length === 0);
    await waitUntil('the function to reach b', async () => {
      const libs = (await b.nodes('master')[0].call('FUNCTION', 'LIST', 'LIBRARYNAME', 'seclib')) as unknown[];
      return libs.length === 1;
    });
    expect(await b.exists('sec:snap:0')).toBe(0);
    expect(await b.pttl('sec:live:7')).toBeGreaterThan(0);

    // Nothing either process did was refused by the ACLs: the documented lines are enough.
    expect(await aclDenials(stack, 'a')).toEqual([]);
    expect(await aclDenials(stack, 'b')).toEqual([]);
    expect(await sink.metric('tandem_sink_dlq_total')).toEqual([]);
    expectNoSecrets(source.log());
    expectNoSecrets(sink.log());

    // The events really went through the SASL_SSL listener: read them back as the source's user.
    const admin = secureKafka(stack, { mechanism: 'scram-sha-512', username: 'tandem-source', password: PASSWORDS.kafkaScram }).admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topicsOf('sa').changes).finally(() => admin.disconnect());
    expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBeGreaterThan(0);
    // Records carry runs of events: count the events the source committed to them.
    const published = (await source.metric('tandem_source_events_published_total')).reduce((n, v) => n + v, 0);
    expect(published).toBeGreaterThan(100);

    // `tandem status` reads Kafka through the same SASL over TLS (the config file's kafka
    // section), and prints no secret, not even when the Redis URL it was given carries one.
    const cfg = join(dirname(source.logFile), 'source.yaml');
    const env = { ...process.env, TANDEM_TEST_KAFKA_PASSWORD_SOURCE_SA: PASSWORDS.kafkaScram };
    const status = spawnSync(process.execPath, [CLI, 'status', '--dc', 'sa', '--config', cfg, '--source-metrics', `127.0.0.1:${source.httpPort}`], { encoding: 'utf8', env, timeout: 120_000 });
    expect(status.stderr).toBe('');
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/streaming/);
    const redisUrl = `rediss://tandem-source:${PASSWORDS.source}@127.0.0.1:${clusterPorts(stack.clusters.a)[0]}`;
    const failed = spawnSync(process.execPath, [CLI, 'status', '--dc', 'sa', '--config', cfg, '--redis', redisUrl], { encoding: 'utf8', env, timeout: 120_000 });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain('rediss://tandem-source:***@');
    for (const out of [status.stdout, failed.stdout, failed.stderr]) expectNoSecrets(out);

    // With the CA and a client certificate the tools reach mutual-TLS nodes: verify compares
    // both clusters, status reads each master's offset.
    const tlsArgs = ['--tls-ca', stack.certs.ca, '--tls-cert', stack.certs.clientCert, '--tls-key', stack.certs.clientKey];
    const toolEnv = { ...env, TANDEM_TEST_ADMIN_PASSWORD: PASSWORDS.admin };
    const url = (which: 'a' | 'b') => `rediss://default@${clusterPorts(stack.clusters[which]).map((p) => `127.0.0.1:${p}`).join(',')}`;
    const verify = spawnSync(
      process.execPath,
      [CLI, 'verify', '--a', url('a'), '--b', url('b'), '--a-password-env', 'TANDEM_TEST_ADMIN_PASSWORD', '--b-password-env', 'TANDEM_TEST_ADMIN_PASSWORD', '--match', '*sec*', '--json', ...tlsArgs],
      { encoding: 'utf8', env: toolEnv, timeout: 120_000 },
    );
    expect(verify.stderr).toBe('');
    expect(verify.status).toBe(0);
    const report = JSON.parse(verify.stdout) as { differing: number; compared: number };
    expect(report.differing).toBe(0);
    expect(report.compared).toBeGreaterThan(100);
    const withRedis = spawnSync(
      process.execPath,
      [CLI, 'status', '--dc', 'sa', '--config', cfg, '--redis', url('a'), '--redis-password-env', 'TANDEM_TEST_ADMIN_PASSWORD', '--json', ...tlsArgs],
      { encoding: 'utf8', env: toolEnv, timeout: 120_000 },
    );
    expect(withRedis.stderr).toBe('');
    expect(withRedis.status).toBe(0);
    const links = (JSON.parse(withRedis.stdout) as { links: { master?: { masterReplOffset: number } }[] }).links;
    expect(links).toHaveLength(3);
    expect(links.every((l) => typeof l.master?.masterReplOffset === 'number')).toBe(true);
    for (const out of [verify.stdout, withRedis.stdout]) expectNoSecrets(out);

    // Recovery through mutual TLS: replay one key of a's history into b, and audit it with the
    // command table read over TLS.
    await b.del('sec:live:7');
    const replay = spawnSync(
      process.execPath,
      [CLI, 'replay', '--dc', 'sa', '--config', cfg, '--from', 'earliest', '--key', 'sec:live:7', '--target', `rediss://default@127.0.0.1:${clusterPorts(stack.clusters.b)[0]}`, '--target-password-env', 'TANDEM_TEST_ADMIN_PASSWORD', '--progress', 'none', '--json', ...tlsArgs],
      { encoding: 'utf8', env: toolEnv, timeout: 120_000 },
    );
    expect(replay.stderr).toBe('');
    expect(replay.status).toBe(0);
    expect(await b.get('sec:live:7')).toBe('v7');
    const audit = spawnSync(
      process.execPath,
      [CLI, 'audit', '--dc', 'sa', '--config', cfg, '--key', 'sec:live:7', '--redis', `rediss://default:${PASSWORDS.admin}@127.0.0.1:${clusterPorts(stack.clusters.a)[0]}`, '--json', ...tlsArgs],
      { encoding: 'utf8', env: toolEnv, timeout: 120_000 },
    );
    expect(audit.status).toBe(0);
    expect(audit.stdout).toContain('sec:live:7');
    for (const out of [replay.stdout, audit.stdout, audit.stderr]) expectNoSecrets(out);
    await source.kill('SIGTERM');
    await sink.kill('SIGTERM');
  });

  it.each([
    ['source', 'a wrong Redis password', { ...sourceCreds, redis: { username: 'tandem-source', password: 'not-the-password' } }, /^tandem: authentication to Redis 127\.0\.0\.1:\d+ as tandem-source failed: WRONGPASS/m],
    ['sink', 'a wrong Redis password', { ...sinkCreds, redis: { username: 'tandem-sink', password: 'not-the-password' } }, /^tandem: authentication to the target cluster at \S+ as tandem-sink failed: .*WRONGPASS/m],
    ['source', 'a wrong Kafka SCRAM password', { ...sourceCreds, kafka: { ...sourceCreds.kafka, password: 'not-the-password' } }, /^tandem: authentication to Kafka at \S+ as tandem-source \(scram-sha-512\) failed: SASL SCRAM SHA512 authentication failed/m],
    ['sink', 'a wrong Kafka PLAIN password', { ...sinkCreds, kafka: { ...sinkCreds.kafka, password: 'not-the-password' } }, /^tandem: authentication to Kafka at \S+ as tandem-sink \(plain\) failed: SASL PLAIN authentication failed/m],
  ] as const)('the %s refuses to start with %s, and says so', async (kind, _what, creds, message) => {
    const sp = await launch({ kind, dc: kind === 'source' ? 'sa' : 'sb', cluster: kind === 'source' ? 'a' : 'b', ...creds, sink: { peers: ['sa'] }, waitReady: false });
    const { code, everReady } = await exitOutcome(sp);
    expect(code).toBe(1);
    expect(everReady).toBe(false);
    const log = sp.log();
    expect(log).toMatch(message);
    expect(log).not.toContain('not-the-password');
    expectNoSecrets(log);
  });
});
