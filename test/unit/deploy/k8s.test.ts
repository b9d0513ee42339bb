import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../../services/shared/config';
import { sinkConfigSchema, type SinkConfig } from '../../../services/sink/config';
import { sourceConfigSchema, type SourceConfig } from '../../../services/source/config';

/**
 * deploy/k8s (docs/kubernetes.md): a kustomize base and one overlay per DC.
 *
 * Structural part (always): every file a kustomization names exists, the
 * overlays build on the base, and the base's objects with each overlay's
 * configs pass the reference checks below; each config loads through the real
 * loader and schema of its service, with the container's env.
 * Rendered part (when kubectl is on PATH): `kubectl kustomize` of the base and
 * of every overlay passes the same checks, plus namespace, name suffix, dc
 * label, image and the hash-named ConfigMaps.
 */

const ROOT = resolve(__dirname, '../../..');
const K8S = join(ROOT, 'deploy/k8s');
const BASE = join(K8S, 'base');
const OVERLAYS_DIR = join(K8S, 'overlays');
const DOC = join(ROOT, 'docs/kubernetes.md');

/**
 * Secrets the operator creates by hand (never committed), with their keys.
 * docs/kubernetes.md must show a `kubectl create secret generic` command for
 * exactly these names and keys.
 */
const OPERATOR_SECRETS: Record<string, string[]> = {
  'tandem-source-credentials': ['kafka-password', 'redis-password'],
  'tandem-sink-credentials': ['kafka-password', 'redis-password'],
  'tandem-tls': ['ca.crt', 'tls.crt', 'tls.key'],
};

/** The image's user (deploy/Dockerfile). */
const IMAGE_UID = 1000;
/** Node's own memory besides the V8 old space and the Buffers a config bounds: young generation, code, sockets, parsers. */
const NODE_OVERHEAD_BYTES = 256 * 2 ** 20;
/** The source commits what is buffered within 10 s of SIGTERM (ChangePublisher.stop). */
const SOURCE_STOP_BOUND_S = 10;

// ---------------------------------------------------------------- k8s types

type Labels = Record<string, string>;
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string } };
}
interface Probe { httpGet?: { path?: string; port?: number | string } }
interface Container {
  name: string;
  image?: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { secretRef?: { name: string }; configMapRef?: { name: string } }[];
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: { runAsUser?: number; runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}
interface Volume {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  secret?: { secretName: string; optional?: boolean; defaultMode?: number; items?: { key: string; path: string }[] };
  emptyDir?: object;
}
interface PodSpec {
  containers: Container[];
  volumes?: Volume[];
  securityContext?: { runAsUser?: number; runAsNonRoot?: boolean; fsGroup?: number };
  terminationGracePeriodSeconds?: number;
  topologySpreadConstraints?: { labelSelector?: { matchLabels?: Labels } }[];
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    strategy?: { type?: string; rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } };
    /** A Service's selector is a label map; a workload's, PDB's or ServiceMonitor's holds matchLabels. */
    selector?: Record<string, unknown>;
    template?: { metadata?: { labels?: Labels; annotations?: Record<string, string> }; spec: PodSpec };
    minAvailable?: number | string;
    maxUnavailable?: number | string;
    ports?: { name?: string; port: number; targetPort?: number | string }[];
    endpoints?: { port?: string; path?: string }[];
  };
}
interface Kustomization {
  resources?: string[];
  components?: string[];
  patches?: { path?: string; patch?: string }[];
  patchesStrategicMerge?: string[];
  configMapGenerator?: { name: string; behavior?: string; files?: string[]; envs?: string[] }[];
  secretGenerator?: { name: string; files?: string[]; envs?: string[] }[];
  configurations?: string[];
  namespace?: string;
  nameSuffix?: string;
  labels?: { pairs: Labels; includeSelectors?: boolean }[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

/** Kubernetes reads manifests as YAML 1.1 (`0440` is octal there); so do we. */
const parseManifests = (text: string): K8sObject[] =>
  parseAllDocuments(text, { version: '1.1' })
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);

const readKustomization = (dir: string): Kustomization => parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'), { version: '1.1' }) as Kustomization;

/** `key=path` or `path` in a generator's files list. */
const generatorFile = (entry: string): { key: string; path: string } => {
  const eq = entry.indexOf('=');
  return eq < 0 ? { key: basename(entry), path: entry } : { key: entry.slice(0, eq), path: entry.slice(eq + 1) };
};

/** Every local file or directory a kustomization names. */
function referencedPaths(k: Kustomization): string[] {
  return [
    ...(k.resources ?? []).filter((r) => !/^[a-z]+:\/\/|^github\.com\//.test(r)),
    ...(k.components ?? []),
    ...(k.patches ?? []).flatMap((p) => (p.path ? [p.path] : [])),
    ...(k.patchesStrategicMerge ?? []),
    ...[...(k.configMapGenerator ?? []), ...(k.secretGenerator ?? [])].flatMap((g) => [...(g.files ?? []).map((f) => generatorFile(f).path), ...(g.envs ?? [])]),
    ...(k.configurations ?? []),
  ];
}

const overlayNames = readdirSync(OVERLAYS_DIR).filter((d) => existsSync(join(OVERLAYS_DIR, d, 'kustomization.yaml'))).sort();

// ---------------------------------------------------------------- a bundle: objects + the ConfigMaps they may use

interface Bundle {
  what: string;
  objects: K8sObject[];
  /** ConfigMap name → data (generated by a kustomization, or objects of the rendered output). */
  configMaps: Map<string, Record<string, string>>;
  /** Set for an overlay: its DC, and the DCs of every overlay (the mesh). */
  dc?: string;
  allDcs?: string[];
}

/**
 * A kustomization's `labels`, as kustomize applies them: on every object and,
 * with includeSelectors, on pod templates and the selectors that pick pods or
 * Services (kustomize's own list for built-in kinds, base/kustomizeconfig.yaml
 * for the ServiceMonitor and topology spread constraints).
 */
function applyLabels(objects: K8sObject[], k: Kustomization): void {
  for (const { pairs, includeSelectors } of k.labels ?? []) {
    for (const o of objects) {
      o.metadata.labels = { ...o.metadata.labels, ...pairs };
      if (!includeSelectors || !o.spec) continue;
      const s = o.spec;
      if (o.kind === 'Service') s.selector = { ...s.selector, ...pairs };
      if (['Deployment', 'PodDisruptionBudget', 'ServiceMonitor'].includes(o.kind)) s.selector = { ...s.selector, matchLabels: { ...matchLabels(o), ...pairs } };
      if (s.template) {
        s.template.metadata = { ...s.template.metadata, labels: { ...s.template.metadata?.labels, ...pairs } };
        for (const t of s.template.spec.topologySpreadConstraints ?? []) t.labelSelector = { matchLabels: { ...t.labelSelector?.matchLabels, ...pairs } };
      }
    }
  }
}

/**
 * The base's resources, with the ConfigMaps the base generates, as overlay
 * `overlay` replaces them (none: the base's own), and the labels of both.
 * Overlay patches are not applied here: the rendered checks cover them.
 */
function structuralBundle(overlay?: string): Bundle {
  const base = readKustomization(BASE);
  const objects = (base.resources ?? []).flatMap((r) => parseManifests(readFileSync(join(BASE, r), 'utf8')));
  applyLabels(objects, base);
  const configMaps = new Map<string, Record<string, string>>();
  const generate = (dir: string, gens: Kustomization['configMapGenerator']) => {
    for (const g of gens ?? []) {
      const data: Record<string, string> = {};
      for (const f of g.files ?? []) {
        const { key, path } = generatorFile(f);
        data[key] = readFileSync(join(dir, path), 'utf8');
      }
      configMaps.set(g.name, g.behavior === 'merge' ? { ...configMaps.get(g.name), ...data } : data);
    }
  };
  generate(BASE, base.configMapGenerator);
  if (overlay === undefined) return { what: 'base', objects, configMaps };
  const dir = join(OVERLAYS_DIR, overlay);
  const k = readKustomization(dir);
  applyLabels(objects, k);
  generate(dir, k.configMapGenerator);
  return { what: `overlay ${overlay}`, objects, configMaps, dc: overlayDc(overlay), allDcs: overlayNames.map(overlayDc) };
}

/** The DC an overlay is for: the tandem.dev/dc label it sets. */
function overlayDc(overlay: string): string {
  const k = readKustomization(join(OVERLAYS_DIR, overlay));
  const dc = (k.labels ?? []).map((l) => l.pairs['tandem.dev/dc']).find((v) => v !== undefined);
  if (dc === undefined) throw new Error(`overlay ${overlay} sets no tandem.dev/dc label`);
  return dc;
}

// ---------------------------------------------------------------- helpers

const byKind = (b: Bundle, kind: string) => b.objects.filter((o) => o.kind === kind);
const componentOf = (o: K8sObject) => o.metadata.labels?.['app.kubernetes.io/component'];
const matchLabels = (o: K8sObject) => o.spec?.selector?.matchLabels as Labels | undefined;
const serviceSelector = (o: K8sObject) => o.spec?.selector as Labels | undefined;
const selects = (selector: Labels | undefined, labels: Labels | undefined) =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const podLabels = (d: K8sObject) => d.spec?.template?.metadata?.labels;

function deploymentOf(b: Bundle, component: 'source' | 'sink'): K8sObject {
  const ds = byKind(b, 'Deployment').filter((d) => componentOf(d) === component);
  expect(ds.map((d) => d.metadata.name)).toHaveLength(1);
  return ds[0];
}

function bytes(q: string | number | undefined): number {
  if (q === undefined) throw new Error('missing quantity');
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  if (!m) throw new Error(`unsupported quantity ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

function portNumber(c: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** The volume mount holding `path`, and the name of the file inside the volume. */
function mountOf(c: Container, path: string): { volume: string; key: string } | undefined {
  for (const m of c.volumeMounts ?? []) {
    if (m.subPath !== undefined) {
      if (path === m.mountPath) return { volume: m.name, key: m.subPath };
    } else if (path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`)) {
      return { volume: m.name, key: posix.relative(m.mountPath, path) };
    }
  }
  return undefined;
}

/** Secret references found in a loaded config: `{ env: NAME }` and `{ file: PATH }`, plus TLS file paths. */
function configRefs(tree: unknown, path: string[] = []): { envs: string[]; files: string[] } {
  const out = { envs: [] as string[], files: [] as string[] };
  if (typeof tree !== 'object' || tree === null) return out;
  const o = tree as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && typeof o.env === 'string') out.envs.push(o.env);
  else if (keys.length === 1 && typeof o.file === 'string') out.files.push(o.file);
  else {
    for (const [k, v] of Object.entries(o)) {
      if (path[path.length - 1] === 'tls' && (k === 'ca' || k === 'cert') && typeof v === 'string') out.files.push(v);
      const sub = configRefs(v, [...path, k]);
      out.envs.push(...sub.envs);
      out.files.push(...sub.files);
    }
  }
  return out;
}

const tmp = mkdtempSync(join(tmpdir(), 'tandem-k8s-'));
let tmpCount = 0;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The container's config, loaded by the real loader and schema, with the container's env (secrets: placeholders). */
function loadContainerConfig(b: Bundle, d: K8sObject, c: Container): SourceConfig | SinkConfig {
  const args = c.args ?? [];
  const component = componentOf(d);
  expect(args[0]).toBe(component);
  const at = args.indexOf('--config');
  expect(at).toBeGreaterThan(0);
  const configPath = args[at + 1];
  const mount = mountOf(c, configPath);
  expect(mount).toBeDefined();
  const volume = d.spec?.template?.spec.volumes?.find((v) => v.name === mount!.volume);
  const cmName = volume?.configMap?.name;
  expect(cmName).toBeDefined();
  const key = volume?.configMap?.items?.find((i) => i.path === mount!.key)?.key ?? mount!.key;
  const text = b.configMaps.get(cmName!)?.[key];
  if (text === undefined) throw new Error(`${b.what}: ${d.metadata.name} reads ${configPath} from ConfigMap ${cmName} key ${key}, which is not generated`);
  const env: NodeJS.ProcessEnv = {};
  for (const e of c.env ?? []) env[e.name] = e.value ?? (e.valueFrom ? 'secret-placeholder' : '');
  const file = join(tmp, `${tmpCount++}-${component}.yaml`);
  writeFileSync(file, text);
  return component === 'source' ? loadConfig(sourceConfigSchema, file, env) : loadConfig(sinkConfigSchema, file, env);
}

// ---------------------------------------------------------------- the checks, on any bundle

function checkBundle(b: Bundle): void {
  const source = deploymentOf(b, 'source');
  const sink = deploymentOf(b, 'sink');

  // One source per DC, replaced by stopping the old one first (docs/source.md: fencing).
  expect(source.spec?.replicas).toBe(1);
  expect(source.spec?.strategy?.type).toBe('Recreate');
  expect(sink.spec?.replicas).toBeGreaterThanOrEqual(2);
  expect(sink.spec?.strategy?.type ?? 'RollingUpdate').toBe('RollingUpdate');
  expect(String(sink.spec?.strategy?.rollingUpdate?.maxSurge)).toBe('0');
  expect(['0', '0%']).not.toContain(String(sink.spec?.strategy?.rollingUpdate?.maxUnavailable ?? '25%'));

  const configs: Record<string, SourceConfig | SinkConfig> = {};
  for (const d of [source, sink]) {
    const where = `${b.what}: Deployment ${d.metadata.name}`;
    const pod = d.spec!.template!.spec;
    expect(selects(matchLabels(d), podLabels(d))).toBe(true);
    for (const l of ['app.kubernetes.io/name', 'app.kubernetes.io/part-of', 'app.kubernetes.io/component']) expect(podLabels(d)?.[l]).toBeDefined();
    expect(pod.containers).toHaveLength(1);
    const c = pod.containers[0];
    const cfg = loadContainerConfig(b, d, c);
    configs[componentOf(d)!] = cfg;

    // The port the config serves on is the container's, the probes' and the scrape annotation's.
    expect(c.ports?.find((p) => p.name === 'http')?.containerPort).toBe(cfg.http.port);
    expect(c.startupProbe?.httpGet?.path).toBe('/healthz');
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    for (const p of [c.startupProbe, c.livenessProbe, c.readinessProbe]) expect(portNumber(c, p?.httpGet?.port)).toBe(cfg.http.port);
    const ann = d.spec?.template?.metadata?.annotations ?? {};
    expect([ann['prometheus.io/scrape'], ann['prometheus.io/port'], ann['prometheus.io/path']]).toEqual(['true', String(cfg.http.port), '/metrics']);

    // Security.
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser).toBe(IMAGE_UID);
    expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
    expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(c.securityContext?.capabilities?.drop).toContain('ALL');
    expect(c.securityContext?.capabilities?.add ?? []).toEqual([]);

    // Every secret comes from a Secret through an env var the config names, never inline.
    const refs = configRefs(cfg);
    const secretEnv = (c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name).sort();
    expect({ where, envRefs: [...new Set(refs.envs)].sort() }).toEqual({ where, envRefs: secretEnv });
    expect(c.envFrom ?? []).toEqual([]);
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) expect({ where, env: e.name, secret: ref.name, known: OPERATOR_SECRETS[ref.name]?.includes(ref.key) ?? false }).toEqual({ where, env: e.name, secret: ref.name, known: true });
      expect(e.valueFrom?.configMapKeyRef).toBeUndefined();
    }
    // Files the config reads (TLS, { file: }) lie in a mounted volume; in a Secret, under a documented key.
    for (const f of refs.files) {
      const m = mountOf(c, f);
      expect({ where, file: f, mounted: m !== undefined }).toEqual({ where, file: f, mounted: true });
      const secret = pod.volumes?.find((v) => v.name === m!.volume)?.secret;
      if (secret) expect(OPERATOR_SECRETS[secret.secretName]).toContain(secret.items?.find((i) => i.path === m!.key)?.key ?? m!.key);
    }
    for (const m of c.volumeMounts ?? []) expect(pod.volumes?.map((v) => v.name)).toContain(m.name);
    for (const v of pod.volumes ?? []) {
      if (v.configMap) expect({ where, configMap: v.configMap.name, known: b.configMaps.has(v.configMap.name) }).toEqual({ where, configMap: v.configMap.name, known: true });
      if (v.secret) {
        expect(Object.keys(OPERATOR_SECRETS)).toContain(v.secret.secretName);
        // Readable by the non-root user: world-readable, or group-readable with fsGroup.
        const mode = v.secret.defaultMode ?? 0o644;
        expect((mode & 0o004) !== 0 || ((mode & 0o040) !== 0 && pod.securityContext?.fsGroup !== undefined)).toBe(true);
      }
    }

    // Resources: requests and limits, and a heap cap that leaves room for the Buffers the config bounds.
    const r = c.resources;
    for (const k of ['cpu', 'memory']) {
      expect(r?.requests?.[k]).toBeDefined();
      expect(r?.limits?.[k]).toBeDefined();
    }
    const limit = bytes(r!.limits!.memory);
    expect(bytes(r!.requests!.memory)).toBeLessThanOrEqual(limit);
    const heapMiB = /--max-old-space-size=(\d+)/.exec(c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '')?.[1];
    expect(heapMiB).toBeDefined();
    const buffers = 'source' in cfg ? 2 * cfg.source.maxBufferedBytes : (cfg as SinkConfig).sink.maxRestoreBytes;
    expect({ where, budget: Number(heapMiB) * 2 ** 20 + buffers + NODE_OVERHEAD_BYTES <= limit }).toEqual({ where, budget: true });
  }

  // Shutdown has time to commit.
  expect(source.spec!.template!.spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(SOURCE_STOP_BOUND_S);
  expect(sink.spec!.template!.spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThanOrEqual(30);

  // Both services of a DC agree on the DC; an overlay's configs are its DC's, and its sink reads every other DC.
  const sourceCfg = configs.source as SourceConfig;
  const sinkCfg = configs.sink as SinkConfig;
  expect(sinkCfg.dc).toBe(sourceCfg.dc);
  expect(sinkCfg.sink.peers).not.toContain(sinkCfg.dc);
  if (b.dc !== undefined) {
    expect(sourceCfg.dc).toBe(b.dc);
    for (const d of [source, sink]) expect(podLabels(d)?.['tandem.dev/dc']).toBe(b.dc);
    expect([...sinkCfg.sink.peers].sort()).toEqual(b.allDcs!.filter((x) => x !== b.dc).sort());
  }

  // PDBs, Services and the ServiceMonitor select what exists.
  const deployments = byKind(b, 'Deployment');
  const selected = (sel: Labels | undefined) => deployments.filter((d) => selects(sel, podLabels(d))).map((d) => d.metadata.name);
  const pdbs = byKind(b, 'PodDisruptionBudget');
  for (const d of [source, sink]) {
    const mine = pdbs.filter((p) => selected(matchLabels(p)).includes(d.metadata.name));
    expect(mine.map((p) => selected(matchLabels(p)))).toEqual([[d.metadata.name]]);
    // One pod may always be evicted: a budget that allows none blocks every node drain.
    const p = mine[0].spec!;
    if (p.minAvailable !== undefined) expect(Number(p.minAvailable)).toBeLessThan(d.spec!.replicas!);
    else expect(Number(p.maxUnavailable)).toBeGreaterThanOrEqual(1);
  }
  expect(pdbs.find((p) => selected(matchLabels(p)).includes(source.metadata.name))?.spec?.minAvailable).toBeUndefined();
  for (const d of deployments) {
    for (const t of d.spec?.template?.spec.topologySpreadConstraints ?? []) expect(selected(t.labelSelector?.matchLabels)).toEqual([d.metadata.name]);
  }
  const services = byKind(b, 'Service');
  for (const d of [source, sink]) {
    const mine = services.filter((s) => selected(serviceSelector(s)).includes(d.metadata.name));
    expect(mine.map((s) => selected(serviceSelector(s)))).toEqual([[d.metadata.name]]);
    const c = d.spec!.template!.spec.containers[0];
    for (const port of mine[0].spec?.ports ?? []) expect(portNumber(c, port.targetPort ?? port.port)).toBeDefined();
  }
  const monitors = byKind(b, 'ServiceMonitor');
  expect(monitors.length).toBeGreaterThanOrEqual(1);
  const scraped = new Set<string>();
  for (const m of monitors) {
    const svcs = services.filter((s) => selects(matchLabels(m), s.metadata.labels));
    expect(svcs.length).toBeGreaterThan(0);
    for (const s of svcs) {
      scraped.add(s.metadata.name);
      for (const e of m.spec?.endpoints ?? []) expect(s.spec?.ports?.map((p) => p.name)).toContain(e.port);
      expect(m.spec?.endpoints?.every((e) => (e.path ?? '/metrics') === '/metrics')).toBe(true);
    }
  }
  expect([...scraped].sort()).toEqual(services.map((s) => s.metadata.name).sort());

  // Common labels on every object.
  for (const o of b.objects) {
    expect({ object: `${o.kind}/${o.metadata.name}`, name: o.metadata.labels?.['app.kubernetes.io/name'], partOf: o.metadata.labels?.['app.kubernetes.io/part-of'] })
      .toEqual({ object: `${o.kind}/${o.metadata.name}`, name: 'tandem', partOf: 'tandem' });
  }
}

// ---------------------------------------------------------------- structural

describe('deploy/k8s kustomizations', () => {
  const dirs = [BASE, ...overlayNames.map((o) => join(OVERLAYS_DIR, o))];

  test('there are overlays for at least two DCs', () => {
    expect(overlayNames.length).toBeGreaterThanOrEqual(2);
  });

  test.each(dirs.map((d) => [d.slice(K8S.length + 1), d]))('%s: every file it names exists', (_name, dir) => {
    const k = readKustomization(dir);
    for (const p of referencedPaths(k)) {
      const full = join(dir, p);
      expect({ path: p, exists: existsSync(full) }).toEqual({ path: p, exists: true });
      if (statSync(full).isDirectory()) expect({ path: p, kustomization: existsSync(join(full, 'kustomization.yaml')) }).toEqual({ path: p, kustomization: true });
    }
  });

  test.each(overlayNames)('overlay %s builds on the base, and sets its namespace, suffix and dc label', (overlay) => {
    const dir = join(OVERLAYS_DIR, overlay);
    const k = readKustomization(dir);
    expect((k.resources ?? []).map((r) => resolve(dir, r))).toContain(BASE);
    const dc = overlayDc(overlay);
    expect(overlay).toBe(`dc-${dc}`);
    expect(k.namespace).toBe(`tandem-${dc}`);
    expect(k.nameSuffix).toBe(`-${dc}`);
    expect(k.labels?.find((l) => l.pairs['tandem.dev/dc'] === dc)?.includeSelectors).toBe(true);
    // It replaces both configs of the base, whole.
    const baseGenerators = (readKustomization(BASE).configMapGenerator ?? []).map((g) => g.name).sort();
    expect((k.configMapGenerator ?? []).map((g) => [g.name, g.behavior]).sort()).toEqual(baseGenerators.map((n) => [n, 'replace']));
    expect(k.images?.find((i) => i.name === 'tandem')?.newTag).toBeDefined();
  });

  test('the base: its objects and its template configs pass the reference checks', () => {
    checkBundle(structuralBundle());
  });

  test.each(overlayNames)('overlay %s: the base objects with its configs pass the reference checks', (overlay) => {
    checkBundle(structuralBundle(overlay));
  });

  test('docs/kubernetes.md creates exactly the Secrets the manifests expect', () => {
    const text = readFileSync(DOC, 'utf8').replace(/\\\n/g, ' ');
    const documented: Record<string, Set<string>> = {};
    for (const line of text.split('\n')) {
      const m = /create secret generic ([a-z0-9.-]+)/.exec(line);
      if (!m) continue;
      documented[m[1]] ??= new Set();
      for (const k of line.matchAll(/--from-(?:literal|file)=([^=\s]+)=/g)) documented[m[1]].add(k[1]);
    }
    const asLists = Object.fromEntries(Object.entries(documented).map(([n, ks]) => [n, [...ks].sort()]));
    expect(asLists).toEqual(OPERATOR_SECRETS);
  });
});

// ---------------------------------------------------------------- rendered by kubectl kustomize

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const hasKubectl = kubectl.status === 0;
const withKubectl = hasKubectl ? test : test.skip;
if (!hasKubectl) {
  console.warn('deploy/k8s: kubectl is not on PATH, the `kubectl kustomize` checks are SKIPPED (the structural checks still ran)');
}

function render(dir: string): K8sObject[] {
  return parseManifests(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 }));
}

function renderedBundle(what: string, objects: K8sObject[], dc?: string): Bundle {
  const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]));
  return { what: `${what} (rendered)`, objects, configMaps, dc, allDcs: overlayNames.map(overlayDc) };
}

describe(`deploy/k8s rendered with kubectl kustomize${hasKubectl ? '' : ' (SKIPPED: kubectl not on PATH)'}`, () => {
  if (!hasKubectl) test.skip('kubectl is not on PATH', () => undefined);

  withKubectl('the base renders and passes the reference checks', () => {
    const objects = render(BASE);
    checkBundle(renderedBundle('base', objects));
    for (const o of objects) expect(o.metadata.namespace).toBeUndefined();
  });

  withKubectl.each(overlayNames)('overlay %s renders with its namespace, suffix, dc label, image and hashed configs', (overlay) => {
    const dir = join(OVERLAYS_DIR, overlay);
    const k = readKustomization(dir);
    const dc = overlayDc(overlay);
    const objects = render(dir);
    const base = render(BASE);
    checkBundle(renderedBundle(`overlay ${overlay}`, objects, dc));

    // The same objects as the base, each in the namespace, suffixed and labelled with the DC.
    const suffix = k.nameSuffix ?? '';
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
    const unhashed = (o: K8sObject) => (o.kind === 'ConfigMap' ? o.metadata.name.replace(/-[a-z0-9]{10}$/, '') : o.metadata.name);
    for (const o of objects) {
      expect({ object: key(o), namespace: o.metadata.namespace, dc: o.metadata.labels?.['tandem.dev/dc'], suffixed: unhashed(o).endsWith(suffix) })
        .toEqual({ object: key(o), namespace: k.namespace, dc, suffixed: true });
      if (o.kind === 'ConfigMap') expect(o.metadata.name).toMatch(/-[a-z0-9]{10}$/);
    }
    expect(objects.map((o) => `${o.kind}/${unhashed(o).slice(0, unhashed(o).length - suffix.length)}`).sort()).toEqual(base.map((o) => `${o.kind}/${unhashed(o)}`).sort());
    // Every selector carries the DC, so DCs sharing a namespace never select each other's pods.
    for (const o of objects) {
      const sels = [o.kind === 'Service' ? serviceSelector(o) : matchLabels(o), ...(o.spec?.template?.spec.topologySpreadConstraints ?? []).map((t) => t.labelSelector?.matchLabels)];
      for (const s of sels.filter((x) => x !== undefined)) expect({ object: key(o), dc: s!['tandem.dev/dc'] }).toEqual({ object: key(o), dc });
    }
    // The Deployments use the hash-named ConfigMaps of this overlay, holding this DC's config files, and the overlay's image.
    const image = k.images!.find((i) => i.name === 'tandem')!;
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      const cm = d.spec!.template!.spec.volumes!.find((v) => v.configMap)!.configMap!.name;
      const generator = (k.configMapGenerator ?? []).find((g) => `${g.name}${suffix}` === cm.replace(/-[a-z0-9]{10}$/, ''));
      expect(generator).toBeDefined();
      const own = Object.fromEntries((generator!.files ?? []).map(generatorFile).map(({ key: f, path }) => [f, readFileSync(join(dir, path), 'utf8')]));
      expect(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === cm)?.data).toEqual(own);
      expect(d.spec!.template!.spec.containers[0].image).toBe(`${image.newName ?? image.name}:${image.newTag}`);
      // Operator-created Secrets keep their names (no suffix).
      for (const e of d.spec!.template!.spec.containers[0].env ?? []) {
        if (e.valueFrom?.secretKeyRef) expect(Object.keys(OPERATOR_SECRETS)).toContain(e.valueFrom.secretKeyRef.name);
      }
    }
  });
});
