import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z, type ZodTypeAny } from 'zod';
import { TandemError } from './errors';

/**
 * Configuration: one YAML file per process, then env overrides, validated by
 * one zod schema. Every problem is reported at once, each with the path of the
 * offending field, in a single TandemError('CONFIG_INVALID').
 *
 * Env overrides: `TANDEM__<PATH>` where the path's segments are joined by `__`,
 * e.g. `TANDEM__KAFKA__BROKERS=h1:9092,h2:9092` or `TANDEM__SINK__SNAPSHOT_POLICY=skip`.
 * Segment names are matched case-insensitively with `_` standing for a
 * camelCase boundary (SNAPSHOT_POLICY → snapshotPolicy). Values are parsed as
 * YAML scalars, so numbers and booleans work, and a comma list becomes an array
 * where the schema expects one.
 *
 * Secrets never sit in the file: a secret field is an object
 * `{ env: VAR }` or `{ file: /path }`, resolved here (see `secret`).
 */

/** A secret, given by reference. Inline secrets are refused, so config files can be shared. */
export const secret = z
  .union([
    z.object({ env: z.string().min(1).describe('name of the env var holding the secret') }).strict(),
    z.object({ file: z.string().min(1).describe('path of a file holding the secret (trailing newline ignored)') }).strict(),
  ])
  .describe('a secret, by reference: { env: VAR } or { file: PATH }; inline values are refused');

export type SecretRef = z.infer<typeof secret>;

export function resolveSecret(ref: SecretRef, where: string): string {
  if ('env' in ref) {
    const v = process.env[ref.env];
    if (v === undefined) throw new TandemError('CONFIG_INVALID', `${where}: env var ${ref.env} is not set`);
    return v;
  }
  try {
    return readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw TandemError.wrap('CONFIG_INVALID', `${where}: cannot read secret file ${ref.file}`, err);
  }
}

const camel = (segment: string) => segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export const ENV_PREFIX = 'TANDEM__';

/** Applies TANDEM__A__B=value overrides onto a parsed YAML tree. */
export function applyEnvOverrides(tree: Record<string, unknown>, env: NodeJS.ProcessEnv, prefix = ENV_PREFIX): Record<string, unknown> {
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(prefix) || raw === undefined) continue;
    const path = name.slice(prefix.length).split('__').map(camel);
    let node: Record<string, unknown> = tree;
    for (const seg of path.slice(0, -1)) {
      const next = node[seg];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[seg] = {};
      node = node[seg] as Record<string, unknown>;
    }
    node[path[path.length - 1]] = parseScalar(raw);
  }
  return tree;
}

function parseScalar(raw: string): unknown {
  if (raw.includes(',') && !raw.trim().startsWith('[') && !raw.trim().startsWith('{')) return raw.split(',').map((s) => s.trim());
  try {
    return parseYaml(raw) as unknown;
  } catch {
    return raw; // not YAML: keep the text as given
  }
}

export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

/** Reads, overrides and validates a config file. Throws one CONFIG_INVALID listing every problem. */
export function loadConfig<S extends ZodTypeAny>(schema: S, file: string, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw TandemError.wrap('CONFIG_INVALID', `cannot read config file ${file}`, err);
  }
  let tree: unknown;
  try {
    tree = parseYaml(text) ?? {};
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
    throw TandemError.wrap('CONFIG_INVALID', `config file ${file} is not valid YAML${where}`, err);
  }
  if (typeof tree !== 'object' || tree === null || Array.isArray(tree)) {
    throw new TandemError('CONFIG_INVALID', `config file ${file} must hold a YAML mapping at the top level`);
  }
  return validateConfig(schema, applyEnvOverrides(tree as Record<string, unknown>, env), file);
}

export function validateConfig<S extends ZodTypeAny>(schema: S, tree: unknown, origin: string): z.infer<S> {
  const res = schema.safeParse(tree);
  if (!res.success) {
    const issues = formatIssues(res.error);
    throw new TandemError('CONFIG_INVALID', `invalid configuration in ${origin} (${issues.length} problem${issues.length > 1 ? 's' : ''}):\n  ${issues.join('\n  ')}`);
  }
  return res.data as z.infer<S>;
}
