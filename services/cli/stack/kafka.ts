import { existsSync, mkdirSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { TandemError } from '../../shared/errors';
import { packageRoot } from '../../shared/paths';
import { requirePrograms } from './prereqs';
import { startDetached, waitFor, type StartedProcess } from './processes';

/**
 * A single-node Apache Kafka 4.x broker in KRaft mode (combined broker and
 * controller, static quorum), run straight from its Maven Central jars.
 *
 * The jars are fetched once by `mvn dependency:copy-dependencies` (pom in
 * deploy/local/) into `<cacheDir>/kafka-<version>/libs`; a `.complete` file
 * written after a successful copy makes every later start skip Maven entirely,
 * so a second start needs no network.
 */
export const KAFKA_VERSION = '4.1.1';

export interface KafkaSettings {
  port: number;
  controllerPort: number;
  /** Holds data/, logs/, server.properties. */
  dir: string;
  cacheDir: string;
  heap: string;
  /** An extra, authenticated listener for clients (the security tests use it); PLAINTEXT stays for the broker itself. */
  secureListener?: SecureListener;
}

/**
 * A `CLIENTS` listener with SASL (PLAIN and SCRAM-SHA-256/512), over TLS when
 * `pemKeystore` is given. SCRAM credentials live in the KRaft metadata, so
 * they are added when the storage is formatted (StorageTool --add-scram);
 * PLAIN users are listed in the listener's JAAS config.
 */
export interface SecureListener {
  port: number;
  /** One PEM file: the broker's private key (PKCS#8, unencrypted) and its certificate chain. Absent: SASL_PLAINTEXT. */
  pemKeystore?: string;
  plainUsers: Record<string, string>;
  scramUsers: { mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; name: string; password: string }[];
}

export function kafkaLibsDir(cacheDir: string): string {
  return join(cacheDir, `kafka-${KAFKA_VERSION}`, 'libs');
}

/** Fetches the broker's jars unless the cache already has them. Returns whether Maven ran. */
export function ensureKafkaJars(cacheDir: string, log: (line: string) => void): boolean {
  const libs = kafkaLibsDir(cacheDir);
  if (existsSync(join(libs, '.complete'))) return false;
  requirePrograms(['mvn']);
  mkdirSync(libs, { recursive: true });
  log(`fetching Kafka ${KAFKA_VERSION} jars with Maven into ${libs} (first start only)`);
  const pom = join(packageRoot(), 'deploy', 'local', 'pom.xml');
  const res = spawnSync(
    'mvn',
    ['-q', '-B', '-f', pom, `-Dkafka.version=${KAFKA_VERSION}`, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (res.status !== 0) {
    const out = `${res.stdout}\n${res.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new TandemError('STACK_START_FAILED', `mvn could not fetch the Kafka jars (exit ${res.status}):\n${out}`);
  }
  if (!readdirSync(libs).some((f) => f.startsWith(`kafka_2.13-${KAFKA_VERSION}`))) {
    throw new TandemError('STACK_START_FAILED', `mvn finished but ${libs} holds no kafka_2.13-${KAFKA_VERSION} jar`);
  }
  writeFileSync(join(libs, '.complete'), `${new Date().toISOString()}\n`);
  return true;
}

function serverProperties(s: KafkaSettings): string {
  const sl = s.secureListener;
  const clients = sl ? `,CLIENTS://127.0.0.1:${sl.port}` : '';
  return `# written by tandem stack; single-node KRaft, static quorum
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${s.controllerPort}
listeners=PLAINTEXT://127.0.0.1:${s.port},CONTROLLER://127.0.0.1:${s.controllerPort}${clients}
advertised.listeners=PLAINTEXT://127.0.0.1:${s.port}${clients}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${sl ? `,CLIENTS:${sl.pemKeystore ? 'SASL_SSL' : 'SASL_PLAINTEXT'}` : ''}
${sl ? secureListenerProperties(sl) : ''}log.dirs=${join(s.dir, 'data')}
# One broker: the internal topics cannot have 3 replicas or min ISR 2, or
# consumer groups and transactions fail with "coordinator not available".
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=8
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
default.replication.factor=1
group.initial.rebalance.delay.ms=0
# Topics are created explicitly (tandem topics init), never by a typo.
auto.create.topics.enable=false
num.partitions=1
log.retention.hours=168
`;
}

function secureListenerProperties(sl: SecureListener): string {
  // JAAS values are quoted strings: refuse what would break out of the quotes.
  const quoted = (v: string) => {
    if (/["\\\n]/.test(v)) throw new TandemError('CONFIG_INVALID', 'a Kafka test user name or password may not hold a quote, backslash or newline');
    return `"${v}"`;
  };
  const plain = Object.entries(sl.plainUsers).map(([u, pw]) => ` user_${u}=${quoted(pw)}`).join('');
  const lines = [
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    `listener.name.clients.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required${plain};`,
    'listener.name.clients.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.clients.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
  ];
  if (sl.pemKeystore) {
    lines.push('listener.name.clients.ssl.keystore.type=PEM', `listener.name.clients.ssl.keystore.location=${sl.pemKeystore}`);
  }
  return `${lines.join('\n')}\n`;
}

const LOG4J2 = (logsDir: string): string => `# written by tandem stack
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = ${logsDir}/server.log
appender.file.filePattern = ${logsDir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = org.apache.kafka
logger.kafka.level = warn
logger.kafkaserver.name = kafka.server.KafkaServer
logger.kafkaserver.level = info
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = info
`;

function javaArgs(s: KafkaSettings, heap: string, mainClass: string, args: string[]): string[] {
  const logsDir = join(s.dir, 'logs');
  return [
    `-Xms${heap}`,
    `-Xmx${heap}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(s.dir, 'log4j2.properties')}`,
    `-Dkafka.logs.dir=${logsDir}`,
    '-cp',
    `${kafkaLibsDir(s.cacheDir)}/*`,
    mainClass,
    ...args,
  ];
}

/** Writes the config, formats the storage (once) and starts the broker. */
export function startKafka(s: KafkaSettings, log: (line: string) => void): StartedProcess {
  requirePrograms(['java']);
  ensureKafkaJars(s.cacheDir, log);
  mkdirSync(join(s.dir, 'logs'), { recursive: true });
  const props = join(s.dir, 'server.properties');
  writeFileSync(props, serverProperties(s));
  writeFileSync(join(s.dir, 'log4j2.properties'), LOG4J2(join(s.dir, 'logs')));

  if (!existsSync(join(s.dir, 'data', 'meta.properties'))) {
    rmSync(join(s.dir, 'data'), { recursive: true, force: true });
    const clusterId = runTool(s, ['random-uuid']).trim();
    const scram = (s.secureListener?.scramUsers ?? []).flatMap((u) => ['--add-scram', `${u.mechanism}=[name=${u.name},password=${u.password}]`]);
    runTool(s, ['format', '-t', clusterId, '-c', props, '--ignore-formatted', ...scram]);
  }
  log(`starting Kafka ${KAFKA_VERSION} on 127.0.0.1:${s.port} (controller ${s.controllerPort}, heap ${s.heap})`);
  return startDetached(
    'kafka',
    'java',
    javaArgs(s, s.heap, 'kafka.Kafka', [props]),
    join(s.dir, 'logs', 'stdout.log'),
    props,
  );
}

function runTool(s: KafkaSettings, args: string[]): string {
  const res = spawnSync('java', javaArgs(s, '256M', 'kafka.tools.StorageTool', args), { encoding: 'utf8' });
  if (res.status !== 0) {
    throw new TandemError('STACK_START_FAILED', `kafka StorageTool ${args[0]} failed (exit ${res.status}): ${(res.stderr || res.stdout).trim()}`);
  }
  return res.stdout;
}

/**
 * Ready means: the broker answers metadata, and can create (and has created) a
 * topic. A broker that logs "started" may still refuse CreateTopics while the
 * controller settles, so that is the probe.
 */
export async function waitForKafka(brokers: string, timeoutMs: number, gone: () => string | undefined = () => undefined): Promise<void> {
  const kafka = new Kafka({ clientId: 'tandem-stack', brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  await waitFor(`Kafka at ${brokers} to create a topic`, timeoutMs, async () => {
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.fetchTopicMetadata({ topics: [] });
      const topics = await admin.listTopics();
      if (!topics.includes('tandem.stack.ready')) {
        await admin.createTopics({ topics: [{ topic: 'tandem.stack.ready', numPartitions: 1 }], waitForLeaders: true });
      }
      const meta = await admin.fetchTopicMetadata({ topics: ['tandem.stack.ready'] });
      return meta.topics[0]?.partitions.every((p) => p.leader >= 0) ? true : undefined;
    } finally {
      await admin.disconnect();
    }
  }, 500, gone);
}
