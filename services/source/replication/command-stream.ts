/**
 * Turns parsed stream commands into data events: tracks SELECT, groups
 * MULTI … EXEC into one transaction, and keeps control commands out of the
 * data while their bytes still count (the parser's offsets already include
 * them).
 *
 *   stream      = *( control / select / command / transaction )
 *   control     = PING / REPLCONF …                 ; never data
 *   select      = SELECT <db>                        ; changes the db, not data
 *   transaction = MULTI *( select / command ) EXEC   ; one event
 *
 * Safe checkpoints are only produced outside MULTI: a replica never reports an
 * offset inside a transaction either (redis/src/networking.c commandProcessed
 * updates `reploff` only when the master client is not in CLIENT_MULTI).
 * Since Redis 7.0 scripts and modules propagate their effects wrapped in
 * MULTI/EXEC, so EVAL arrives here as a transaction.
 */
import { TandemError } from '../../shared/errors';
import { commandNameIs, type ParsedCommand } from '../resp/command-parser';
import type { ReplicatedCommand, ReplicationCheckpoint, ReplicationEvent } from './types';

/** A non-data command outside MULTI. `getack`: the master asked for an ACK now. */
export interface ControlStep {
  type: 'control';
  checkpoint: Required<ReplicationCheckpoint>;
  getack: boolean;
}

/** What one command completes: a data event (the stream's one item type) or a control step. */
export type StreamStep = ReplicationEvent | ControlStep;

export class CommandStream {
  private dbValue: number;
  private transaction: ReplicatedCommand[] | null = null;

  constructor(
    public replid: string,
    db = 0,
  ) {
    this.dbValue = db;
  }

  get db(): number {
    return this.dbValue;
  }

  get inTransaction(): boolean {
    return this.transaction !== null;
  }

  /** Returns the step this command completes, or null when it is buffered inside MULTI. */
  accept(cmd: ParsedCommand): StreamStep | null {
    const name = cmd.argv[0];
    if (commandNameIs(name, 'ping')) return this.control(cmd, false);
    if (commandNameIs(name, 'replconf')) {
      return this.control(cmd, cmd.argv.length > 1 && commandNameIs(cmd.argv[1], 'getack'));
    }
    if (commandNameIs(name, 'select')) {
      this.dbValue = parseDb(cmd);
      return this.control(cmd, false);
    }
    if (commandNameIs(name, 'multi')) {
      if (this.transaction !== null) throw streamError('MULTI inside MULTI', cmd);
      this.transaction = [];
      return null;
    }
    if (commandNameIs(name, 'exec')) {
      const commands = this.transaction;
      if (commands === null) throw streamError('EXEC without MULTI', cmd);
      this.transaction = null;
      if (commands.length === 0) return this.control(cmd, false);
      return this.event('transaction', commands, cmd);
    }
    const command: ReplicatedCommand = { argv: cmd.argv, db: this.dbValue, offsetAfter: cmd.offsetAfter };
    if (this.transaction !== null) {
      this.transaction.push(command);
      return null;
    }
    return this.event('command', [command], cmd);
  }

  private checkpoint(cmd: ParsedCommand): Required<ReplicationCheckpoint> {
    return { replid: this.replid, offset: cmd.offsetAfter, db: this.dbValue };
  }

  private control(cmd: ParsedCommand, getack: boolean): StreamStep | null {
    if (this.transaction !== null) return null;
    return { type: 'control', checkpoint: this.checkpoint(cmd), getack };
  }

  private event(type: ReplicationEvent['type'], commands: ReplicatedCommand[], last: ParsedCommand): ReplicationEvent {
    return { type, db: commands[0].db, commands, checkpoint: this.checkpoint(last) };
  }
}

function parseDb(cmd: ParsedCommand): number {
  const text = cmd.argv.length === 2 ? cmd.argv[1].toString('latin1') : '';
  const db = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (Number.isNaN(db)) throw streamError('SELECT with an invalid db', cmd);
  return db;
}

function streamError(what: string, cmd: ParsedCommand): TandemError {
  return new TandemError(
    'RESP_PROTOCOL',
    `replication stream out of step: ${what} (command ending at master offset ${cmd.offsetAfter})`,
  );
}
