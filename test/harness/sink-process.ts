import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, createDcTopics, launchService, startSource, waitReady, writeServiceConfig, type SourceProcess, type TestCluster } from './source-process';

// Topic creation retries transient metadata errors itself (ensureTopics).
export { createDcTopics } from './source-process';

/**
 * Runs `tandem sink` as a real child process (the built CLI), like
 * startSource, so tests can SIGKILL it. `cluster` is the TARGET cluster.
 * The returned handle has the same shape as a source's (metrics, kill, log).
 */
export type SinkProcess = SourceProcess & { restart(): Promise<SinkProcess> };

let nextPort = 29700 + Number(process.env.TANDEM_TEST_PORT_OFFSET ?? 0);

export interface StartSinkOptions {
  dc: string;
  /** The target: cluster a or b of the test stack, or another cluster's seed nodes. */
  cluster: TestCluster;
  peers: string[];
  /** extra lines inside the `sink:` section, e.g. ['snapshotPolicy: skip'] */
  sinkLines?: string[];
  waitReady?: boolean;
}

export async function startSink(opts: StartSinkOptions): Promise<SinkProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const httpPort = nextPort++;
  const { dir, config } = writeServiceConfig('sink', opts.dc, opts.cluster, httpPort, [
    'sink:',
    `  peers: [${opts.peers.join(', ')}]`,
    '  sessionTimeoutMs: 6000',
    ...(opts.sinkLines ?? []).map((l) => `  ${l}`),
  ]);
  const logFile = join(dir, 'sink.log');
  const launch = async (): Promise<SinkProcess> => {
    const sp: SinkProcess = { ...launchService('sink', opts.dc, config, httpPort, logFile), restart: launch };
    if (opts.waitReady !== false) await waitSinkReady(sp);
    return sp;
  };
  return launch();
}

export function waitSinkReady(sp: SourceProcess, timeoutMs = 60_000): Promise<void> {
  return waitReady(sp, timeoutMs, 'sink');
}


/** One direction on the shared test stack: topics of both DCs, a source of `src` on cluster a, a sink of `dst` on cluster b reading it. */
export async function startOneWay(src: string, dst: string, sinkLines?: string[]): Promise<{ source: SourceProcess; sink: SinkProcess }> {
  await createDcTopics(src);
  await createDcTopics(dst);
  const source = await startSource({ dc: src, cluster: 'a' });
  const sink = await startSink({ dc: dst, cluster: 'b', peers: [src], sinkLines });
  return { source, sink };
}

/**
 * Both directions between DC `a` on cluster a and DC `b` on cluster b: their
 * topics, then a source and a sink per DC, pushed onto `procs` as each starts
 * (so the caller's afterAll stops whatever started), in the order source(a),
 * source(b), sink(a), sink(b).
 */
export async function startBothWays(a: string, b: string, procs: (SourceProcess | SinkProcess)[]): Promise<void> {
  await createDcTopics(a);
  await createDcTopics(b);
  procs.push(await startSource({ dc: a, cluster: 'a' }), await startSource({ dc: b, cluster: 'b' }));
  procs.push(await startSink({ dc: a, cluster: 'a', peers: [b] }), await startSink({ dc: b, cluster: 'b', peers: [a] }));
}
