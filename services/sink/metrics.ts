import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The sink's metrics (docs/sink.md lists them). */
export function sinkMetrics(registry: Registry) {
  const registers = [registry];
  return {
    eventsIn: new Counter({ name: 'tandem_sink_events_received_total', help: 'events read from the peers\' changes topics, dropped ones included', labelNames: ['topic'], registers }),
    eventsApplied: new Counter({ name: 'tandem_sink_events_applied_total', help: 'events applied to the target (rate = events/s), per origin and kind', labelNames: ['origin', 'kind'], registers }),
    dropped: new Counter({
      name: 'tandem_sink_events_dropped_total',
      help: 'events deliberately not applied, per reason: marker, own-origin, other-origin, already-applied, snapshot-skip, snapshot-exists, audit-only, publish, reserved-key, eviction, expiry-not-due',
      labelNames: ['reason'],
      registers,
    }),
    dlq: new Counter({ name: 'tandem_sink_dlq_total', help: 'records written to the DLQ, per reason', labelNames: ['reason'], registers }),
    applyLatency: new Histogram({
      name: 'tandem_sink_apply_latency_seconds',
      help: 'from the event\'s capturedAt (source) to the EXEC reply on the target, per source DC (the direction source -> this DC)',
      labelNames: ['source'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    transactions: new Counter({ name: 'tandem_sink_transactions_total', help: 'MULTI/EXEC blocks sent (one per slot run)', registers }),
    targetFull: new Gauge({
      name: 'tandem_sink_target_full',
      help: 'slot runs waiting because the target answered OOM (maxmemory reached); they retry, in order, until it has memory again',
      registers,
    }),
    applyRetries: new Counter({ name: 'tandem_sink_apply_retries_total', help: 'MULTI/EXEC retried after a transient target error, per reason (MOVED, ASK, LOADING, OOM, connection…)', labelNames: ['reason'], registers }),
    guardAborts: new Counter({
      name: 'tandem_sink_guard_aborts_total',
      help: 'MULTI/EXEC blocks that did not run because the slot\'s marker had changed since the sink read it (another sink applied the partition, or the target lost writes); the run is re-read and retried',
      registers,
    }),
    markersLost: new Counter({
      name: 'tandem_sink_markers_lost_total',
      help: 'markers read back behind what the sink applied while the same master answered on the same connection (evicted, flushed or deleted, not a failover): not re-applied, the next write restores the marker',
      registers,
    }),
    replicaWaits: new Counter({
      name: 'tandem_sink_replica_waits_total',
      help: 'WAITs for target replicas before an offset commit, per result: acked, timeout (the batch holds its commit and waits again), no-replica (auto: committed without a replica), connection-lost (markers read back)',
      labelNames: ['result'],
      registers,
    }),
    rewinds: new Counter({
      name: 'tandem_sink_rewinds_total',
      help: 'partitions rewound because a slot\'s marker read back behind what the sink applied (a failover of the target lost writes); the lost events are applied again',
      labelNames: ['topic'],
      registers,
    }),
    lag: new Gauge({ name: 'tandem_sink_consumer_lag', help: 'high watermark minus the next offset to process, per partition', labelNames: ['topic', 'partition'], registers }),
    committedOffset: new Gauge({ name: 'tandem_sink_committed_offset', help: 'last offset committed (next to read), per partition', labelNames: ['topic', 'partition'], registers }),
    assignedPartitions: new Gauge({ name: 'tandem_sink_assigned_partitions', help: 'partitions this sink owns, per topic', labelNames: ['topic'], registers }),
    restoreBytesHeld: new Gauge({ name: 'tandem_sink_restore_bytes_held', help: 'bytes of big-key chunks held while reassembling', registers }),
    restoreSequencesDiscarded: new Counter({
      name: 'tandem_sink_restore_sequences_discarded_total',
      help: 'big-key chunk sequences discarded unfinished, per reason: superseded (the key re-sent by a newer RDB transfer), transfer-ended (its transfer went on without it), incomplete (a gap, or read from its middle)',
      labelNames: ['reason'],
      registers,
    }),
    conflicts: new Counter({
      name: 'tandem_sink_conflicts_total',
      help: 'conflicts detected (sink.conflicts: report): a peer write applied here to a key or hash field that a local write had also written, neither having seen the other; per peer DC. Each is a record in tandem.<dc>.conflicts',
      labelNames: ['peer'],
      registers,
    }),
    conflictChecks: new Counter({
      name: 'tandem_sink_conflict_checks_total',
      help: 'applied peer events judged by conflict detection, per peer and result: causal, concurrent, unknown-stamp, past-window, not-judged, dropped',
      labelNames: ['peer', 'result'],
      registers,
    }),
    conflictWindowBytes: new Gauge({ name: 'tandem_sink_conflict_window_bytes', help: 'estimated memory of conflict detection, per part: window (local writes) and pending (applied peer writes waiting for their marker); bounded by sink.conflictDetection.maxBytes', labelNames: ['part'], registers }),
    conflictRepairs: new Counter({
      name: 'tandem_sink_conflict_repairs_total',
      help: 'sink.conflicts: lww, conflicts of overwrites by outcome: repaired, peer-won, same-value, superseded, redone, and not repaired: unsupported, too-large, uncertain, failed; per peer DC',
      labelNames: ['peer', 'result'],
      registers,
    }),
    conflictWindowKeys: new Gauge({ name: 'tandem_sink_conflict_window_keys', help: 'targets (keys, hash fields) whose last local write the conflict window holds', registers }),
    conflictRecordsLost: new Counter({ name: 'tandem_sink_conflict_records_lost_total', help: 'conflict records not written to tandem.<dc>.conflicts, per reason: overflow (queue full while Kafka refused them), stopped (unsent at shutdown)', labelNames: ['reason'], registers }),
    controlApplied: new Counter({ name: 'tandem_sink_control_applied_total', help: 'keyless commands applied on a target master, per command', labelNames: ['command'], registers }),
  };
}

export type SinkMetrics = ReturnType<typeof sinkMetrics>;
