import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../shared/config';
import { baseConfigSchema, dcName, kafkaSchema } from '../shared/config-schema';
import type { KafkaSettings } from '../shared/kafka-client';

/**
 * Option parsers shared by the CLI commands. A bad value raises commander's
 * InvalidArgumentError, which prints one line and exits 2.
 */
export function parsePositiveInt(name: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be an integer from 1 to ${max}, got "${value}"`);
    return n;
  };
}

export function parseDc(value: string): string {
  const r = dcName.safeParse(value);
  if (!r.success) throw new InvalidArgumentError(r.error.issues[0].message);
  return value;
}

/** Durations: a number of ms, or a number with ms, s, m, h or d. `-1` means forever. */
export function parseDuration(value: string): number {
  if (value === '-1') return -1;
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected a duration such as 500ms, 30s, 15m, 12h, 7d or -1, got "${value}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return Number(m[1]) * unit;
}

export interface KafkaOptions {
  brokers?: string;
  config?: string;
}

/** Adds `--brokers` and `--config`, what kafkaFromOptions reads. */
export function addKafkaOptions(command: Command): Command {
  return command
    .option('--brokers <list>', 'bootstrap brokers, host:port[,host:port]')
    .option('--config <file>', 'take the kafka section of this config file');
}

/** Kafka settings from `--config FILE` (its kafka section) or `--brokers a:9092,b:9092`. */
export function kafkaFromOptions(opts: KafkaOptions): KafkaSettings {
  if (opts.config) return loadConfig(baseConfigSchema.pick({ kafka: true }).passthrough(), opts.config).kafka;
  const brokers = (opts.brokers ?? process.env.TANDEM_KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  if (brokers.length === 0) throw new InvalidArgumentError('give --brokers host:port[,host:port] or --config FILE (or set TANDEM_KAFKA_BROKERS)');
  const r = kafkaSchema.safeParse({ brokers });
  if (!r.success) throw new InvalidArgumentError(`--brokers: ${r.error.issues.map((i) => i.message).join('; ')}`);
  return r.data;
}

/** One of a fixed set of words, e.g. `--mode full|length|exists`. */
export function parseChoice<T extends string>(name: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}, got "${value}"`);
    return value as T;
  };
}

/** A finite, non-negative duration (parseDuration without `-1`). */
export function parseFiniteDuration(name: string) {
  return (value: string): number => {
    if (value.trim() === '-1') throw new InvalidArgumentError(`${name} must be a finite duration such as 500ms or 2s, got "${value}"`);
    return parseDuration(value);
  };
}

/** A comma-separated list of DC names, e.g. `--peers a,b`. */
export function parseDcList(value: string): string[] {
  const dcs = value.split(',').map((d) => d.trim()).filter(Boolean);
  if (dcs.length === 0) throw new InvalidArgumentError(`expected a comma-separated list of DC names, got "${value}"`);
  return dcs.map(parseDc);
}
