import { spawnSync } from 'node:child_process';
import { TandemError } from '../../shared/errors';

/**
 * The local stack needs a few programs from the machine. A missing one gives a
 * single line naming the program and the package that provides it.
 */
export interface Prerequisite {
  program: string;
  why: string;
  install: string;
}

export const PREREQUISITES: Record<'java' | 'mvn' | 'redis-server' | 'redis-cli', Prerequisite> = {
  java: {
    program: 'java',
    why: 'runs the Kafka broker',
    install: 'install a Java 17+ runtime, e.g. `apt-get install openjdk-17-jre-headless`',
  },
  mvn: {
    program: 'mvn',
    why: 'fetches the Kafka jars from Maven Central (first start only)',
    install: 'install Maven, e.g. `apt-get install maven`',
  },
  'redis-server': {
    program: 'redis-server',
    why: 'runs the Redis Cluster nodes',
    install: 'install Redis 7, e.g. `apt-get install redis-server`',
  },
  'redis-cli': {
    program: 'redis-cli',
    why: 'creates the Redis Clusters',
    install: 'install the Redis tools, e.g. `apt-get install redis-tools`',
  },
};

/** Absolute path of `program` on PATH, or undefined. Uses PATH as the user's shell would. */
export function findOnPath(program: string): string | undefined {
  // /bin/sh by absolute path: the PATH being searched may not hold sh itself.
  const res = spawnSync('/bin/sh', ['-c', `command -v ${program}`], { encoding: 'utf8' });
  const found = res.stdout.trim();
  return res.status === 0 && found !== '' ? found : undefined;
}

export function requirePrograms(names: (keyof typeof PREREQUISITES)[]): void {
  for (const name of names) {
    const p = PREREQUISITES[name];
    if (findOnPath(p.program) === undefined) {
      throw new TandemError(
        'PREREQUISITE_MISSING',
        `${p.program} not found on PATH (it ${p.why}): ${p.install}`,
      );
    }
  }
}
