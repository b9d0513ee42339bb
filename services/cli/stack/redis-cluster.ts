import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import Redis from 'ioredis';
import { TandemError } from '../../shared/errors';
import { requirePrograms } from './prereqs';
import { exitReason, startDetached, waitFor, type StartedProcess } from './processes';

/**
 * A real Redis Cluster of `masters` masters with one replica each, from
 * redis-server processes on consecutive loopback ports starting at `basePort`
 * (the cluster bus uses port + 10000). Nothing is persisted: every `up` starts
 * from empty nodes.
 */
export interface RedisClusterSettings {
  name: string;
  basePort: number;
  masters: number;
  replicasPerMaster: number;
  dir: string;
  /** Extra redis-server arguments, e.g. ['--requirepass', 'x'] or ['--user', 'name', 'on', '>pw', '+ping']. */
  extraArgs?: string[];
  /**
   * TLS only: every node listens on a TLS port (basePort…) and no plaintext
   * port, the cluster bus and replication use TLS too, and clients must present
   * a certificate signed by the CA (tls-auth-clients yes, Redis's default).
   * The stack's own clients (cluster create, health checks) use `client`.
   */
  tls?: RedisTlsFiles;
}

export interface RedisTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  client: { certFile: string; keyFile: string };
}

export function clusterPorts(s: RedisClusterSettings): number[] {
  const n = s.masters * (1 + s.replicasPerMaster);
  return Array.from({ length: n }, (_, i) => s.basePort + i);
}

export function startRedisCluster(s: RedisClusterSettings, log: (line: string) => void): StartedProcess[] {
  requirePrograms(['redis-server', 'redis-cli']);
  const ports = clusterPorts(s);
  log(`starting Redis Cluster ${s.name}: ${ports.length} nodes on 127.0.0.1:${ports[0]}-${ports[ports.length - 1]}`);
  return ports.map((port) => {
    const dir = join(s.dir, String(port));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return startRedisNode(s, port);
  });
}

/**
 * Starts one node of the cluster in its folder. A node started again after a
 * crash finds its nodes.conf there and rejoins the cluster (as a replica of
 * whoever took over its slots), as a real restarted node does.
 */
export function startRedisNode(s: RedisClusterSettings, port: number): StartedProcess {
  const dir = join(s.dir, String(port));
  mkdirSync(dir, { recursive: true });
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--cluster-enabled', 'yes',
    '--cluster-config-file', join(dir, 'nodes.conf'),
    // Short node timeout so that a killed master fails over in seconds (tests do that).
    '--cluster-node-timeout', '3000',
    '--save', '',
    '--appendonly', 'no',
    // A large backlog lets the source's replica links PSYNC after a restart
    // instead of falling back to a full resync.
    '--repl-backlog-size', '64mb',
    // Start a replica's sync at once (the default waits 5 s for more replicas).
    '--repl-diskless-sync-delay', '0',
    // DEBUG from loopback only: tests switch active expiry off to stage the expiry-echo race.
    '--enable-debug-command', 'local',
    '--daemonize', 'no',
    '--logfile', join(dir, 'redis.log'),
    ...(s.tls ? tlsArgs(s.tls, port) : []),
    ...(s.extraArgs ?? []),
  ];
  // Before it renames itself to "redis-server 127.0.0.1:<port> [cluster]" its cmdline holds the arguments.
  const portArg = s.tls ? `--tls-port ${port} ` : `--port ${port} `;
  return startDetached(`redis-${s.name}-${port}`, 'redis-server', args, join(dir, 'stdout.log'), `127.0.0.1:${port}||${portArg}`);
}

function tlsArgs(t: RedisTlsFiles, port: number): string[] {
  return [
    '--port', '0',
    '--tls-port', String(port),
    '--tls-cert-file', t.certFile,
    '--tls-key-file', t.keyFile,
    '--tls-ca-cert-file', t.caFile,
    '--tls-cluster', 'yes',
    '--tls-replication', 'yes',
  ];
}

/** Creates the cluster (slots and replicas) and waits until every node reports cluster_state:ok. */
/** `processes`, when given, lets the wait fail at once if a node died (with its log's reason). */
export async function createCluster(s: RedisClusterSettings, timeoutMs: number, processes: StartedProcess[] = []): Promise<void> {
  const ports = clusterPorts(s);
  const gone = (port: number) => () => {
    const p = processes.find((x) => x.name === `redis-${s.name}-${port}`);
    return p ? exitReason(p, [join(s.dir, String(port), 'redis.log'), p.logFile]) : undefined;
  };
  await Promise.all(ports.map((port) => waitFor(`redis-server on port ${port}`, timeoutMs, () => ping(port, s), 250, gone(port))));
  const auth = [...authArgs(s), ...redisCliTlsArgs(s)];
  const res = spawnSync(
    'redis-cli',
    [...auth, '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(s.replicasPerMaster), '--cluster-yes'],
    { encoding: 'utf8' },
  );
  if (res.status !== 0) {
    throw new TandemError('STACK_START_FAILED', `redis-cli --cluster create failed for cluster ${s.name}: ${(res.stderr || res.stdout).trim().split('\n').slice(-5).join(' ')}`);
  }
  await waitForClusterOk(s, timeoutMs);
}

export async function waitForClusterOk(s: RedisClusterSettings, timeoutMs: number): Promise<void> {
  const ports = clusterPorts(s);
  await waitFor(`cluster ${s.name} to reach cluster_state:ok with replicas in sync`, timeoutMs, async () => {
    for (const port of ports) {
      const r = connect(port, s);
      try {
        const info = await r.cluster('INFO');
        if (!/cluster_state:ok/.test(info)) return undefined;
        const repl = await r.info('replication');
        if (/role:slave/.test(repl) && !/master_link_status:up/.test(repl)) return undefined;
      } finally {
        r.disconnect();
      }
    }
    return true;
  });
}

export async function clusterState(port: number, s: Pick<RedisClusterSettings, 'extraArgs' | 'tls'>): Promise<{ state: string; role: string } | undefined> {
  const r = connect(port, s);
  try {
    const info = await r.cluster('INFO');
    const repl = await r.info('replication');
    return {
      state: /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown',
      role: /role:(\w+)/.exec(repl)?.[1] === 'slave' ? 'replica' : 'master',
    };
  } catch {
    return undefined;
  } finally {
    r.disconnect();
  }
}

function connect(port: number, s: Pick<RedisClusterSettings, 'extraArgs' | 'tls'>): Redis {
  const password = passwordOf(s);
  const tls = s.tls ? clientTlsOptions(s.tls) : undefined;
  const r = new Redis({ host: '127.0.0.1', port, password, tls, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  // A node still starting refuses connections; the failed command reports it to waitFor.
  r.on('error', () => undefined);
  return r;
}

async function ping(port: number, s: RedisClusterSettings): Promise<true | undefined> {
  const r = connect(port, s);
  try {
    return (await r.ping()) === 'PONG' ? true : undefined;
  } finally {
    r.disconnect();
  }
}

function passwordOf(s: Pick<RedisClusterSettings, 'extraArgs'>): string | undefined {
  const args = s.extraArgs ?? [];
  const i = args.indexOf('--requirepass');
  return i >= 0 ? args[i + 1] : undefined;
}

/** Node TLS options of a client of a TLS cluster: its CA and the client certificate. */
export function clientTlsOptions(t: RedisTlsFiles): { ca: Buffer; cert: Buffer; key: Buffer } {
  return { ca: readFileSync(t.caFile), cert: readFileSync(t.client.certFile), key: readFileSync(t.client.keyFile) };
}

/** redis-cli's TLS flags for a TLS cluster; none for a plaintext one. */
export function redisCliTlsArgs(s: Pick<RedisClusterSettings, 'tls'>): string[] {
  return s.tls ? ['--tls', '--cacert', s.tls.caFile, '--cert', s.tls.client.certFile, '--key', s.tls.client.keyFile] : [];
}

function authArgs(s: RedisClusterSettings): string[] {
  const pw = passwordOf(s);
  return pw === undefined ? [] : ['-a', pw, '--no-auth-warning'];
}
