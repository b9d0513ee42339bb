/**
 * What the source does with the commands of a master's stream that are not
 * plain keyed writes (DESIGN §2 "Keyless commands"). The table is data, one row
 * per command with its reason, so docs/events.md and `tandem` can show it as
 * is; policy.test.ts checks the docs list every row.
 *
 * What Redis 7.0 actually propagates was checked against a live 7.0.15 master
 * with `redis-cli --replica`: FUNCTION LOAD/FLUSH, FLUSHALL, FLUSHDB, SWAPDB
 * and (standalone only) PUBLISH appear verbatim; SCRIPT LOAD and SCRIPT FLUSH
 * do not appear at all; EVAL/FCALL appear as their effects, wrapped in
 * MULTI/EXEC when there are several, bare when there is one.
 */
import { argIs } from '../../commands/native-getkeys';

export type KeylessAction =
  /** dropped, never an event */
  | 'never'
  /** changes the link's state (db), never an event */
  | 'track'
  /** frames a transaction; the link groups, the builder strips it */
  | 'group'
  /** a control event the publisher emits once per source cluster (dedupeKey) */
  | 'once-per-cluster'
  /** a control event flagged audit-only: logged and in the change log, not applied by default */
  | 'audit-only'
  /** a control event only when the source enables it, else dropped and counted */
  | 'opt-in';

export interface PolicyRow {
  /** lowercase, `container|sub` for subcommands */
  command: string;
  action: KeylessAction;
  reason: string;
}

export const KEYLESS_POLICY: readonly PolicyRow[] = [
  { command: 'ping', action: 'never', reason: 'Replication keepalive the master sends every repl-ping-replica-period; it changes no data.' },
  { command: 'replconf', action: 'never', reason: 'Replication protocol (GETACK); the link answers it, it is not data.' },
  { command: 'select', action: 'track', reason: 'Sets the db of the commands that follow; the db travels in every event instead.' },
  { command: 'multi', action: 'group', reason: 'Opens a transaction; its commands become one transaction event, the sink adds its own MULTI/EXEC.' },
  { command: 'exec', action: 'group', reason: 'Closes a transaction (see MULTI).' },
  {
    command: 'function|load',
    action: 'once-per-cluster',
    reason: 'Libraries are per node: the operator loads them on every master, so each link sees the same command. The target needs it once; the sink loads it on every target master.',
  },
  { command: 'function|delete', action: 'once-per-cluster', reason: 'As FUNCTION LOAD.' },
  { command: 'function|flush', action: 'once-per-cluster', reason: 'As FUNCTION LOAD.' },
  { command: 'function|restore', action: 'once-per-cluster', reason: 'As FUNCTION LOAD.' },
  {
    command: 'script|load',
    action: 'once-per-cluster',
    reason: 'Not propagated since Redis 7.0 (scripts replicate as effects); Redis 6.x masters force its propagation. Harmless and idempotent on the target, so EVALSHA keeps working after a DC failover.',
  },
  {
    command: 'script|flush',
    action: 'audit-only',
    reason: 'Not propagated since 7.0. Flushing the other DC’s script cache would only make its clients fall back to EVAL: keep it as an audit record.',
  },
  {
    command: 'flushall',
    action: 'audit-only',
    reason: 'Wipes a whole cluster. Replicating it would wipe the other DCs too, including their own writes, so by default it is only logged and kept in the change log (DESIGN §5, hazard 4).',
  },
  { command: 'flushdb', action: 'audit-only', reason: 'As FLUSHALL, for one db.' },
  { command: 'swapdb', action: 'audit-only', reason: 'Refused in cluster mode; from a standalone master it would remap whole dbs on the target. Audit only, like FLUSHDB.' },
  {
    command: 'publish',
    action: 'opt-in',
    reason: 'Pub/Sub is fire-and-forget and DC-local by nature; replaying messages in another DC surprises subscribers. Off unless the source enables it. In cluster mode Redis sends PUBLISH over the cluster bus, not the replication stream, so only standalone masters show it.',
  },
  { command: 'spublish', action: 'opt-in', reason: 'As PUBLISH. The shard channel decides the slot of the event when enabled.' },
];

const BY_COMMAND: ReadonlyMap<string, PolicyRow> = new Map(KEYLESS_POLICY.map((r) => [r.command, r]));

/** Commands with rows per subcommand: look up `name|sub` first. */
const CONTAINERS: ReadonlySet<string> = new Set(KEYLESS_POLICY.filter((r) => r.command.includes('|')).map((r) => r.command.split('|')[0]));

const LONGEST_NAME = Math.max(...KEYLESS_POLICY.map((r) => r.command.split('|')[0].length));

/** The policy row for an argv, or undefined for an ordinary command. */
export function policyFor(argv: readonly Buffer[]): PolicyRow | undefined {
  if (argv.length === 0) return undefined;
  const first = argv[0];
  // Fast path: the vast majority of commands are short keyed writes whose
  // name matches no row; avoid building strings for them.
  if (first.length > LONGEST_NAME) return undefined;
  const name = first.toString('latin1').toLowerCase();
  if (CONTAINERS.has(name) && argv.length >= 2) {
    const row = BY_COMMAND.get(`${name}|${argv[1].toString('latin1').toLowerCase()}`);
    if (row !== undefined) return row;
  }
  return BY_COMMAND.get(name);
}

/** True for MULTI or EXEC (case-insensitive). */
export function isTransactionFrame(argv: readonly Buffer[]): boolean {
  return argv.length === 1 && (argIs(argv[0], 'multi') || argIs(argv[0], 'exec'));
}

export interface PolicyOptions {
  /** emit PUBLISH / SPUBLISH as control events (default false) */
  publish?: boolean;
}

/**
 * The row's action with the source's options applied: an opt-in row becomes
 * `control` when enabled, `dropped` otherwise.
 */
export function effectiveAction(row: PolicyRow, opts: PolicyOptions): KeylessAction | 'control' | 'dropped' {
  if (row.action !== 'opt-in') return row.action;
  return opts.publish === true ? 'control' : 'dropped';
}
