import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from 'avsc';
import { TandemError } from './errors';
import { packageRoot } from './paths';

/**
 * The Avro schemas in `schemas/` are the single source of truth for the event
 * format (DESIGN §2 "Events"): nothing here restates a field. Files are named
 * `<name>.v<version>.avsc`; every version stays in the repo forever, because a
 * reader must still resolve events written with any older one.
 *
 * The directory is found from the package root (paths.ts), so the same code
 * works from services/*.ts under ts-jest and from dist/services/*.js.
 */
export const CHANGE_EVENT = 'change-event';

/** The single-event format of version 1 records. Readers accept every version present in schemas/. */
export const CHANGE_EVENT_VERSION = 1;

/**
 * The batch record (change-record.ts): the format this build writes. v3 adds
 * the event's `stamp` (conflict detection, docs/events.md "Stamps"); v2
 * records are still read (resolved, stamp null).
 */
export const CHANGE_BATCH = 'change-batch';
export const CHANGE_BATCH_VERSION = 3;

/** A schema as avsc takes it (avsc does not export its Schema type). */
export type AvroSchema = Parameters<typeof Type.forSchema>[0];

const cache = new Map<string, Type>();

export function schemasDir(): string {
  return join(packageRoot(), 'schemas');
}

/** Parsed JSON schema of one version, e.g. loadSchema('change-event', 1). */
export function loadSchema(name: string, version: number): AvroSchema {
  const file = join(schemasDir(), `${name}.v${version}.avsc`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as AvroSchema;
  } catch (err) {
    throw TandemError.wrap('INTERNAL', `cannot load Avro schema ${file}`, err);
  }
}

/** The avsc Type of one version, built once. */
export function schemaType(name: string, version: number): Type {
  const id = `${name}.v${version}`;
  let type = cache.get(id);
  if (type === undefined) {
    try {
      type = Type.forSchema(loadSchema(name, version));
    } catch (err) {
      throw TandemError.wrap('INTERNAL', `invalid Avro schema ${id}`, err);
    }
    cache.set(id, type);
  }
  return type;
}

/** Every version of `name` found in schemas/, ascending. */
export function schemaVersions(name: string): number[] {
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.v(\\d+)\\.avsc$`);
  return readdirSync(schemasDir())
    .map((f) => pattern.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

export type Resolver = ReturnType<Type['createResolver']>;
const resolvers = new Map<string, Resolver>();

/**
 * What reads `name` written with `version` into the `current` version's type
 * (avsc schema resolution), built once; undefined when schemas/ lacks that
 * version (a newer writer: upgrade the reader).
 */
export function resolverFor(name: string, current: number, version: number): Resolver | undefined {
  const id = `${name}.v${version}->v${current}`;
  let resolver = resolvers.get(id);
  if (resolver === undefined) {
    if (!schemaVersions(name).includes(version)) return undefined;
    resolver = schemaType(name, current).createResolver(schemaType(name, version));
    resolvers.set(id, resolver);
  }
  return resolver;
}
