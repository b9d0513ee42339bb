import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { stringify } from 'yaml';
import { startKafka, waitForKafka } from '../../services/cli/stack/kafka';
import { clientTlsOptions, clusterPorts, createCluster, startRedisCluster, type RedisClusterSettings } from '../../services/cli/stack/redis-cluster';
import { exitReason, stopProcess, type StartedProcess } from '../../services/cli/stack/processes';
import { defaultStackSettings } from '../../services/cli/stack/stack';
import { ensureTopics } from '../../services/shared/topics';
import { launchService, waitReady, type SourceProcess } from './source-process';

/**
 * A secured stack for the security tests: two Redis Clusters with TLS only
 * (mutual TLS, bus and replication over TLS too) and ACL users, and a second
 * Kafka broker whose client listener takes SASL (PLAIN, SCRAM-SHA-256/512)
 * over TLS. Certificates are made here with openssl, for 127.0.0.1.
 *
 * The users are the least-privilege ones docs/security.md documents; the test
 * reads them from this file's ACL lines so that doc and test cannot drift
 * (test/unit/docs/security-doc.test.ts compares them).
 */
const OFFSET = Number(process.env.TANDEM_TEST_PORT_OFFSET ?? 0);
// Low bases: with the cluster bus at port + 10000, every port stays below Linux's ephemeral range (32768+) for any offset up to 2400.
export const SECURE_PORTS = { redisA: 20200 + OFFSET, redisB: 20300 + OFFSET, kafka: 20492 + OFFSET, kafkaController: 20493 + OFFSET, kafkaClients: 20494 + OFFSET };
if (SECURE_PORTS.redisB + 2 + 10000 >= 32768) throw new Error(`TANDEM_TEST_PORT_OFFSET ${OFFSET} puts the secure stack's cluster bus in the ephemeral port range`);

export const PASSWORDS = {
  admin: 'admin-Secret-1',
  source: 'source-Secret-2',
  sink: 'sink-Secret-3',
  kafkaScram: 'kafka-scram-Secret-4',
  kafkaPlain: 'kafka-plain-Secret-5',
} as const;

/** The ACL rules (after `user <name> on >password`) of the least-privilege users, as docs/security.md gives them. */
export const SOURCE_ACL = [
  '%R~*', 'resetchannels', '&__keyevent@*__:expired', '&__keyevent@*__:evicted', '-@all',
  '+psync', '+replconf', '+ping', '+cluster|shards', '+cluster|nodes', '+command', '+info', '+psubscribe', '+config|get', '+asking', '+exists', '(+get', '~__tandem:*)',
];
export const SINK_ACL = [
  '~*', 'resetchannels', '-@all',
  '+@write', '+@transaction', '+get', '+ping', '+asking', '+info', '+cluster|slots', '+cluster|nodes', '+eval', '+pexpiretime', '+type', '+hget', '+hexists', '+wait',
  '-flushall', '-flushdb', '-swapdb', '-migrate',
];

export interface Certs {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** key + certificate chain in one file, for Kafka's PEM keystore */
  serverPem: string;
  clientCert: string;
  clientKey: string;
}

export function makeCerts(): Certs {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-certs-'));
  const p = (f: string) => join(dir, f);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=tandem-test-ca');
  const leaf = (name: string, cn: string, ext: string) => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(p(`${name}.ext`), ext);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  };
  // The server certificate is also the nodes' client certificate on the cluster bus, so no extendedKeyUsage.
  leaf('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  leaf('client', 'tandem-client', 'extendedKeyUsage=clientAuth\n');
  writeFileSync(p('server.pem'), readFileSync(p('server.key'), 'utf8') + readFileSync(p('server.crt'), 'utf8'));
  return { dir, ca: p('ca.crt'), serverCert: p('server.crt'), serverKey: p('server.key'), serverPem: p('server.pem'), clientCert: p('client.crt'), clientKey: p('client.key') };
}

export interface SecureStack {
  certs: Certs;
  clusters: Record<'a' | 'b', RedisClusterSettings>;
  /** The SASL_SSL client listener. */
  kafkaBrokers: string[];
  processes: StartedProcess[];
  stop(): Promise<void>;
}

export async function startSecureStack(log: (line: string) => void = () => {}): Promise<SecureStack> {
  const certs = makeCerts();
  const base = defaultStackSettings({});
  const dir = join(base.cacheDir, '..', `secure-stack${OFFSET ? `-${OFFSET}` : ''}`);
  // A run that crashed may have left its processes behind, holding the ports: stop them first.
  const stateFile = join(dir, 'processes.json');
  if (existsSync(stateFile)) await Promise.all((JSON.parse(readFileSync(stateFile, 'utf8')) as StartedProcess[]).map((p) => stopProcess(p)));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const cluster = (name: 'a' | 'b', basePort: number): RedisClusterSettings => ({
    name: `secure-${name}`,
    basePort,
    masters: 3,
    replicasPerMaster: 0,
    dir: join(dir, `redis-${name}`),
    tls: { caFile: certs.ca, certFile: certs.serverCert, keyFile: certs.serverKey, client: { certFile: certs.clientCert, keyFile: certs.clientKey } },
    extraArgs: [
      // As docs/security.md says: in redis.conf, so the source needs no +config|set.
      '--notify-keyspace-events', 'Exe',
      '--requirepass', PASSWORDS.admin,
      '--user', 'tandem-source', 'on', `>${PASSWORDS.source}`, ...SOURCE_ACL,
      '--user', 'tandem-sink', 'on', `>${PASSWORDS.sink}`, ...SINK_ACL,
    ],
  });
  const clusters = { a: cluster('a', SECURE_PORTS.redisA), b: cluster('b', SECURE_PORTS.redisB) };
  const processes: StartedProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => stopProcess(p)));
  };
  try {
    const kafkaDir = join(dir, 'kafka');
    processes.push(
      startKafka(
        {
          port: SECURE_PORTS.kafka,
          controllerPort: SECURE_PORTS.kafkaController,
          dir: kafkaDir,
          cacheDir: base.cacheDir,
          heap: '512M',
          secureListener: {
            port: SECURE_PORTS.kafkaClients,
            pemKeystore: certs.serverPem,
            plainUsers: { 'tandem-sink': PASSWORDS.kafkaPlain },
            scramUsers: [{ mechanism: 'SCRAM-SHA-512', name: 'tandem-source', password: PASSWORDS.kafkaScram }],
          },
        },
        log,
      ),
    );
    processes.push(...startRedisCluster(clusters.a, log), ...startRedisCluster(clusters.b, log));
    writeFileSync(stateFile, JSON.stringify(processes));
    const kafka = processes[0];
    await Promise.all([
      createCluster(clusters.a, 60_000, processes),
      createCluster(clusters.b, 60_000, processes),
      waitForKafka(`127.0.0.1:${SECURE_PORTS.kafka}`, 120_000, () => exitReason(kafka, [join(kafkaDir, 'logs', 'server.log'), kafka.logFile])),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { certs, clusters, kafkaBrokers: [`127.0.0.1:${SECURE_PORTS.kafkaClients}`], processes, stop };
}

/** TLS options of a client of the secure clusters (CA and client certificate). */
export function clientTls(stack: SecureStack): { ca: Buffer; cert: Buffer; key: Buffer } {
  return clientTlsOptions(stack.clusters.a.tls!);
}

/** An admin client of a TLS cluster (the `default` user). */
export function adminCluster(stack: SecureStack, which: 'a' | 'b'): Cluster {
  const c = stack.clusters[which];
  return new Cluster(
    clusterPorts(c).map((port) => ({ host: '127.0.0.1', port })),
    { redisOptions: { password: PASSWORDS.admin, tls: clientTls(stack) }, enableAutoPipelining: false },
  );
}

/** A kafkajs client on the SASL_SSL listener. */
export function secureKafka(stack: SecureStack, sasl: SASLOptions): Kafka {
  return new Kafka({
    clientId: 'tandem-security-test',
    brokers: stack.kafkaBrokers,
    ssl: { ca: [readFileSync(stack.certs.ca, 'utf8')] },
    sasl,
    logLevel: logLevel.NOTHING,
  });
}

export async function createSecureTopics(stack: SecureStack, dc: string): Promise<void> {
  const admin = secureKafka(stack, { mechanism: 'scram-sha-512', username: 'tandem-source', password: PASSWORDS.kafkaScram }).admin();
  await admin.connect();
  try {
    await ensureTopics(admin, { dc, partitions: 8, retentionMs: -1, replicationFactor: 1 });
  } finally {
    await admin.disconnect();
  }
}

let nextPort = 29640 + OFFSET;

export interface SecureServiceOptions {
  kind: 'source' | 'sink';
  dc: string;
  cluster: 'a' | 'b';
  redis: { username: string; password: string };
  kafka: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  sink?: Record<string, unknown>;
  waitReady?: boolean;
}

/**
 * Launches `tandem source|sink` on the secure stack. Secrets are references,
 * as in production: the Redis password from a file, the Kafka password from
 * an env var, the TLS key from a file.
 */
export async function startSecureService(stack: SecureStack, o: SecureServiceOptions): Promise<SourceProcess> {
  const dir = mkdtempSync(join(tmpdir(), `tandem-secure-${o.kind}-${o.dc}-`));
  const httpPort = nextPort++;
  const redisPwFile = join(dir, 'redis-password');
  writeFileSync(redisPwFile, `${o.redis.password}\n`, { mode: 0o600 });
  const envName = `TANDEM_TEST_KAFKA_PASSWORD_${o.kind.toUpperCase()}_${o.dc.toUpperCase().replace(/-/g, '_')}`;
  const tls = { ca: stack.certs.ca, cert: stack.certs.clientCert, key: { file: stack.certs.clientKey } };
  const config = {
    dc: o.dc,
    kafka: {
      brokers: stack.kafkaBrokers,
      tls: { ca: stack.certs.ca },
      sasl: { mechanism: o.kafka.mechanism, username: o.kafka.username, password: { env: envName } },
    },
    redis: {
      nodes: clusterPorts(stack.clusters[o.cluster]).map((p) => `127.0.0.1:${p}`),
      username: o.redis.username,
      password: { file: redisPwFile },
      tls,
    },
    http: { host: '127.0.0.1', port: httpPort },
    log: { level: 'info' },
    ...(o.kind === 'sink' ? { sink: { sessionTimeoutMs: 6000, ...o.sink } } : {}),
  };
  const file = join(dir, `${o.kind}.yaml`);
  writeFileSync(file, stringify(config));
  const sp = launchService(o.kind, o.dc, file, httpPort, join(dir, `${o.kind}.log`), { [envName]: o.kafka.password });
  if (o.waitReady !== false) await waitReady(sp, 90_000, o.kind);
  return sp;
}
