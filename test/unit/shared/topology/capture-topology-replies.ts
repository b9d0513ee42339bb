/**
 * Captures, byte for byte, what a real Redis Cluster answers to CLUSTER SLOTS
 * and CLUSTER NODES, for the sink's side of the topology reader
 * (cluster-slots.test.ts, cluster-nodes.test.ts). Starts its own six nodes
 * (3 masters, 3 replicas, nothing persisted) on ports 21650-21655, moves slot
 * 0 to the third master (so it owns two ranges), then shuts down a replica
 * until the cluster flags it failed, then a master whose replica may not
 * fail over. It uses no Tandem code (redis-cli builds the cluster).
 *
 *   npx tsc --outDir /tmp/capture --module commonjs --target es2022 --types node --skipLibCheck test/unit/shared/topology/capture-topology-replies.ts
 *   node /tmp/capture/capture-topology-replies.js     # from the repo root; writes beside this file
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PORTS = [21650, 21651, 21652, 21653, 21654, 21655];
const OUT = 'test/unit/shared/topology';
const resp = (argv: string[]) => `*${argv.length}\r\n${argv.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

/** Index just past one complete RESP2 reply starting at `i`, or -1 when more bytes are needed. */
function replyEnd(b: Buffer, i: number): number {
  const eol = b.indexOf('\r\n', i, 'latin1');
  if (eol < 0) return -1;
  const head = b.toString('latin1', i + 1, eol);
  switch (String.fromCharCode(b[i])) {
    case '$': {
      const n = Number(head);
      if (n < 0) return eol + 2;
      return b.length >= eol + 2 + n + 2 ? eol + 2 + n + 2 : -1;
    }
    case '*': {
      let at = eol + 2;
      for (let k = 0; k < Number(head); k++) {
        at = replyEnd(b, at);
        if (at < 0) return -1;
      }
      return at;
    }
    default:
      return eol + 2;
  }
}

/** The raw bytes of the reply to one command. */
async function ask(port: number, argv: string[]): Promise<Buffer> {
  const socket = connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(resp(argv));
  try {
    for (let i = 0; i < 500; i++) {
      if (buf.length > 0 && replyEnd(buf, 0) === buf.length) return buf;
      await sleep(10);
    }
    throw new Error(`no complete reply to ${argv.join(' ')} from ${port}: ${buf.toString('latin1').slice(0, 300)}`);
  } finally {
    socket.destroy();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = async (port: number, argv: string[]) => (await ask(port, argv)).toString('latin1');
const nodesText = async (port: number) => {
  const raw = await text(port, ['CLUSTER', 'NODES']);
  return raw.slice(raw.indexOf('\r\n') + 2, raw.length - 2);
};

async function until(what: string, test: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await test()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function cli(args: string[]): void {
  const r = spawnSync('redis-cli', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr}${r.stdout}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-capture-topology-'));
  const servers: ChildProcess[] = PORTS.map((port) =>
    spawn('redis-server', ['--port', String(port), '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '1000', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }),
  );
  try {
    await sleep(500);
    cli(['--cluster', 'create', ...PORTS.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
    await until('cluster_state:ok on every node', async () => (await Promise.all(PORTS.map((p) => text(p, ['CLUSTER', 'INFO'])))).every((t) => t.includes('cluster_state:ok')));
    const [m1, , m3] = PORTS;
    const m3id = (await text(m3, ['CLUSTER', 'MYID'])).split('\r\n')[1];
    cli(['--cluster', 'reshard', `127.0.0.1:${m1}`, '--cluster-from', (await text(m1, ['CLUSTER', 'MYID'])).split('\r\n')[1], '--cluster-to', m3id, '--cluster-slots', '1', '--cluster-yes']);
    // A write in every slot range, so each replica's replication offset is known to the cluster (CLUSTER SLOTS lists it then).
    cli(['-c', '-p', String(m1), 'SET', 'a', '1']);
    cli(['-c', '-p', String(m1), 'SET', 'b', '1']);
    cli(['-c', '-p', String(m1), 'SET', 'c', '1']);
    cli(['-c', '-p', String(m1), 'SET', '{06S}', '1']); // slot 0
    await until('every node to agree on slot 0', async () => (await Promise.all(PORTS.map(nodesText))).every((t) => t.split('\n').some((l) => l.startsWith(m3id) && / 0 /.test(`${l} `))));
    await until('every replica listed by CLUSTER SLOTS', async () => ((await text(m1, ['CLUSTER', 'SLOTS'])).match(/\$40\r\n/g) ?? []).length >= 8);
    writeFileSync(join(OUT, 'cluster-slots.resp'), await ask(m1, ['CLUSTER', 'SLOTS']));
    writeFileSync(join(OUT, 'fixtures', 'cluster-nodes-replicas.txt'), await nodesText(m1));

    // A replica down until the others flag it `fail`.
    const replicaLine = (await nodesText(m1)).split('\n').find((l) => l.includes(' slave '))!;
    const replicaId = replicaLine.split(' ')[0];
    const replicaPort = Number(replicaLine.split(' ')[1].split('@')[0].split(':')[1]);
    await ask(replicaPort, ['SHUTDOWN', 'NOSAVE']).catch(() => undefined);
    await until('the replica flagged fail', async () => (await nodesText(m1)).split('\n').some((l) => l.startsWith(replicaId) && l.split(' ')[2].split(',').includes('fail')));
    writeFileSync(join(OUT, 'fixtures', 'cluster-nodes-failed-replica.txt'), await nodesText(m1));

    // A master down whose replica may not take over: CLUSTER SLOTS still names it as the owner.
    const liveReplica = (await nodesText(m1)).split('\n').find((l) => l.includes(' slave ') && !l.split(' ')[2].includes('fail') && l.split(' ')[3] === m3id);
    const victimPort = liveReplica ? m3 : PORTS[1];
    const victimId = (await text(victimPort, ['CLUSTER', 'MYID'])).split('\r\n')[1];
    for (const l of (await nodesText(m1)).split('\n').filter((x) => x.split(' ')[3] === victimId)) {
      await text(Number(l.split(' ')[1].split('@')[0].split(':')[1]), ['CONFIG', 'SET', 'cluster-replica-no-failover', 'yes']).catch(() => '');
    }
    await ask(victimPort, ['SHUTDOWN', 'NOSAVE']).catch(() => undefined);
    await until('the master flagged fail', async () => (await nodesText(m1)).split('\n').some((l) => l.startsWith(victimId) && l.split(' ')[2].split(',').includes('fail')));
    writeFileSync(join(OUT, 'cluster-slots-failed-master.resp'), await ask(m1, ['CLUSTER', 'SLOTS']));
    writeFileSync(join(OUT, 'fixtures', 'cluster-nodes-failed-master.txt'), await nodesText(m1));
    console.log(`captured from redis ${/redis_version:(\S+)/.exec(await text(m1, ['INFO', 'server']))?.[1]}; failed replica ${replicaId} (${replicaPort}), failed master ${victimId} (${victimPort})`);
  } finally {
    for (const s of servers) s.kill('SIGTERM');
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
