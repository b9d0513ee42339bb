import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { defaultStackSettings } from '../../services/cli/stack/stack';
import { KAFKA_VERSION } from '../../services/cli/stack/kafka';
import { loadConfig } from '../../services/shared/config';
import { httpSchema } from '../../services/shared/config-schema';
import { sourceConfigSchema, type SourceConfig } from '../../services/source/config';
import { sinkConfigSchema, type SinkConfig } from '../../services/sink/config';

/**
 * docker-compose.yml is the complete two-DC system on Docker: the same Kafka
 * and clusters as `tandem stack up`, the topics of both DCs, and a source and a
 * sink per DC from deploy/Dockerfile. No Docker engine runs here, so these
 * checks are structural: every part exists, every config it mounts is one the
 * real loader accepts, and the parts fit together (peers, ports, start order).
 */
interface Service {
  image: string;
  build?: { context: string; dockerfile: string };
  network_mode?: string;
  restart?: string;
  environment?: Record<string, string>;
  entrypoint?: string[];
  command?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}
const root = join(__dirname, '../..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const local = defaultStackSettings();

const TANDEM_SERVICES = ['source-a', 'sink-a', 'source-b', 'sink-b'] as const;
const CONFIG_IN_CONTAINER = '/etc/tandem/tandem.yaml';

/** The host file mounted at the path the service's --config names. */
function mountedConfig(name: string): string {
  const svc = compose.services[name];
  const cmd = svc.command ?? [];
  const inContainer = cmd[cmd.indexOf('--config') + 1];
  const mount = (svc.volumes ?? []).map((v) => v.split(':')).find(([, target]) => target === inContainer);
  if (!mount) throw new Error(`${name}: no volume mounts its --config ${inContainer}`);
  return join(root, mount[0]);
}

/** Loads a service's mounted config with the schema of its command, as `tandem source|sink` does at start. */
function loadServiceConfig(name: string): { kind: 'source'; config: SourceConfig } | { kind: 'sink'; config: SinkConfig } {
  const kind = compose.services[name].command?.[0];
  const file = mountedConfig(name);
  // An empty env: TANDEM__* overrides of the machine running the tests must not mask a bad file.
  if (kind === 'source') return { kind, config: loadConfig(sourceConfigSchema, file, {}) };
  if (kind === 'sink') return { kind, config: loadConfig(sinkConfigSchema, file, {}) };
  throw new Error(`${name}: runs "${kind}", neither source nor sink`);
}

describe('docker-compose.yml', () => {
  test('has Kafka, the two Redis Clusters, topics-init, and a source and a sink per DC', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['kafka', 'redis-a', 'redis-b', 'sink-a', 'sink-b', 'source-a', 'source-b', 'topics-init'],
    );
    expect(compose.services.kafka.image).toBe(`apache/kafka:${KAFKA_VERSION}`);
    expect(compose.services['redis-a'].image).toMatch(/^redis:7/);
    expect(compose.services['redis-b'].image).toMatch(/^redis:7/);
  });

  test('Kafka is a single KRaft broker+controller on the local stack ports, with replication factor 1 for internal topics', () => {
    const env = compose.services.kafka.environment ?? {};
    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(env.KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://127.0.0.1:${local.kafkaPort}`);
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`1@127.0.0.1:${local.kafkaControllerPort}`);
    expect(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe('1');
    expect(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR).toBe('1');
    expect(env.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR).toBe('1');
  });

  test("Kafka's healthcheck asks the broker itself, at its advertised address", () => {
    const probe = (compose.services.kafka.healthcheck?.test ?? []).join(' ');
    expect(probe).toContain('kafka-broker-api-versions.sh');
    expect(probe).toContain(`--bootstrap-server 127.0.0.1:${local.kafkaPort}`);
  });

  test.each([
    ['redis-a', local.redisABasePort],
    ['redis-b', local.redisBBasePort],
  ])('%s runs 6 cluster nodes on the local stack ports and creates 3 masters + 3 replicas', (name, base) => {
    const svc = compose.services[name];
    expect(svc.network_mode).toBe('host');
    const script = (svc.command ?? []).join(' ');
    const ports = Array.from({ length: 6 }, (_, i) => base + i);
    expect(script).toContain(`for p in ${ports.join(' ')};`);
    expect(script).toContain('--cluster-enabled yes');
    expect(script).toContain(`--cluster create ${ports.map((p) => `127.0.0.1:${p}`).join(' ')} --cluster-replicas 1`);
    expect(svc.healthcheck?.test.join(' ')).toContain('cluster_state:ok');
  });

  test('topics-init creates the topics of both DCs, with one partition count, on the stack Kafka', () => {
    const svc = compose.services['topics-init'];
    expect(svc.image).toBe('tandem:local');
    expect(svc.restart).toBe('no'); // one-shot: a restart policy would loop it
    const script = [...(svc.entrypoint ?? []), ...(svc.command ?? [])].join(' ');
    const runs = [...script.matchAll(/tandem topics init --dc (\S+) --partitions (\d+) --brokers (\S+?);?(?:\s|$)/g)];
    expect(runs.map((m) => m[1]).sort()).toEqual(['a', 'b']);
    expect(new Set(runs.map((m) => m[2])).size).toBe(1);
    for (const m of runs) expect(m[3]).toBe(`127.0.0.1:${local.kafkaPort}`);
    // -e: the first failure fails the service, so dependents never start on missing topics.
    expect(svc.entrypoint).toEqual(['/bin/sh', '-ec']);
  });

  test.each(TANDEM_SERVICES)('%s runs the image built from deploy/Dockerfile, on host networking, restarted unless stopped', (name) => {
    const svc = compose.services[name];
    expect(svc.image).toBe('tandem:local');
    expect(svc.build).toEqual({ context: '.', dockerfile: 'deploy/Dockerfile' });
    expect(existsSync(join(root, svc.build!.context, svc.build!.dockerfile))).toBe(true);
    expect(svc.network_mode).toBe('host');
    expect(svc.restart).toBe('unless-stopped');
    expect(svc.command?.[0]).toBe(name.split('-')[0]);
  });

  test.each(TANDEM_SERVICES)('%s mounts, read-only, a config file that exists and loads through its real schema', (name) => {
    const file = mountedConfig(name);
    expect(existsSync(file)).toBe(true);
    expect(compose.services[name].volumes?.find((v) => v.startsWith('./'))).toMatch(new RegExp(`:${CONFIG_IN_CONTAINER}:ro$`));
    const { kind, config } = loadServiceConfig(name);
    expect(kind).toBe(name.split('-')[0]);
    expect(config.dc).toBe(name.split('-')[1]);
    const redisBase = config.dc === 'a' ? local.redisABasePort : local.redisBBasePort;
    for (const node of config.redis.nodes) expect(Number(node.split(':')[1]) - redisBase).toBeLessThan(6);
    expect(config.kafka.brokers).toEqual([`127.0.0.1:${local.kafkaPort}`]);
  });

  test("the sinks' peers are DCs that run a source, never their own DC", () => {
    const sourceDcs = TANDEM_SERVICES.map(loadServiceConfig).filter((s) => s.kind === 'source').map((s) => s.config.dc);
    for (const name of ['sink-a', 'sink-b']) {
      const s = loadServiceConfig(name);
      if (s.kind !== 'sink') throw new Error(`${name} is not a sink`);
      expect(s.config.sink.peers.length).toBeGreaterThan(0);
      for (const peer of s.config.sink.peers) {
        expect(sourceDcs).toContain(peer);
        expect(peer).not.toBe(s.config.dc);
      }
    }
  });

  test('snapshot policies follow the bootstrap of docs/operations.md: a seeds b (apply), b never overwrites a (if-absent)', () => {
    const policy = (name: string) => {
      const s = loadServiceConfig(name);
      return s.kind === 'sink' ? s.config.sink.snapshotPolicy : undefined;
    };
    expect(policy('sink-b')).toBe('apply');
    expect(policy('sink-a')).toBe('if-absent');
  });

  test('the tandem services (sharing the host network) have distinct http ports, none of them a stack port', () => {
    const ports = TANDEM_SERVICES.map((n) => loadServiceConfig(n).config.http.port);
    expect(new Set(ports).size).toBe(ports.length);
    expect(ports).not.toContain(0);
    const stackPorts = [local.kafkaPort, local.kafkaControllerPort];
    for (const base of [local.redisABasePort, local.redisBBasePort]) {
      for (let i = 0; i < 6; i++) stackPorts.push(base + i, base + i + 10_000); // cluster bus: port + 10000
    }
    for (const p of ports) expect(stackPorts).not.toContain(p);
    // The default port (the one the Dockerfile EXPOSEs) is one of them.
    expect(ports).toContain(httpSchema.parse({}).port);
  });

  test.each(TANDEM_SERVICES)("%s's healthcheck probes /readyz on the port of its own config", (name) => {
    const port = loadServiceConfig(name).config.http.port;
    const probe = compose.services[name].healthcheck?.test ?? [];
    expect(probe[0]).toBe('CMD');
    expect(probe.join(' ')).toContain(`http://127.0.0.1:${port}/readyz`);
  });

  test('every depends_on target exists; tandem services wait for healthy dependencies and for topics-init to succeed', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const [target, { condition }] of Object.entries(svc.depends_on ?? {})) {
        expect({ name, target, exists: target in compose.services }).toEqual({ name, target, exists: true });
        expect(condition).toBe(target === 'topics-init' ? 'service_completed_successfully' : 'service_healthy');
        // service_healthy needs a healthcheck on the target.
        if (condition === 'service_healthy') expect(compose.services[target].healthcheck).toBeDefined();
      }
    }
    expect(Object.keys(compose.services['topics-init'].depends_on ?? {})).toEqual(['kafka']);
    for (const name of TANDEM_SERVICES) {
      const deps = compose.services[name].depends_on ?? {};
      const dc = name.split('-')[1];
      expect(deps['topics-init']?.condition).toBe('service_completed_successfully');
      expect(deps[`redis-${dc}`]?.condition).toBe('service_healthy');
    }
  });

  test('start order is the bootstrap: source-a, then source-b on the empty b, then sink-b, then sink-a', () => {
    const dependsOn = (name: string) => Object.keys(compose.services[name].depends_on ?? {});
    expect(dependsOn('source-b')).toContain('source-a');
    expect(dependsOn('sink-b')).toContain('source-b');
    expect(dependsOn('sink-a')).toContain('sink-b');
    // Never the other way round: source-b started after b's seeding would re-publish a's data with origin b.
    expect(dependsOn('source-b')).not.toContain('sink-b');
  });
});
