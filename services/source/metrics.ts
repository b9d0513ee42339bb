import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ReplicaLinkState } from './replication/types';

/** The source's metrics; docs/metrics.md is the catalogue. `link` is `<host>:<port>` of the shard's first master. */
export const LINK_STATES: ReplicaLinkState[] = ['idle', 'connecting', 'handshaking', 'syncing-rdb', 'streaming', 'closed'];

export function sourceMetrics(registry: Registry) {
  const registers = [registry];
  /** Called on every scrape: values that change per event are set then, not per event (label hashing per event was a hot spot). */
  const beforeScrape = new Set<() => void>();
  return {
    beforeScrape,
    linkState: new Gauge({ name: 'tandem_source_link_state', help: '1 for the state each replica link is in, 0 for the others', labelNames: ['link', 'state'], registers }),
    linkUp: new Gauge({ name: 'tandem_source_link_up', help: '1 while the replica link streams from its master', labelNames: ['link'], registers }),
    replOffset: new Gauge({
      name: 'tandem_source_repl_offset',
      help: 'replication offset consumed by the link (bytes of the master stream)',
      labelNames: ['link'],
      registers,
      collect() {
        for (const f of beforeScrape) f();
      },
    }),
    fullResyncs: new Counter({ name: 'tandem_source_full_resyncs_total', help: 'full resyncs (RDB transfers) per link and reason', labelNames: ['link', 'reason'], registers }),
    partialResyncs: new Counter({ name: 'tandem_source_partial_resyncs_total', help: 'partial resyncs (+CONTINUE) per link', labelNames: ['link'], registers }),
    linkFailures: new Counter({ name: 'tandem_source_link_failures_total', help: 'replica link failures that were retried', labelNames: ['link'], registers }),
    rdbBytes: new Counter({ name: 'tandem_source_rdb_bytes_total', help: 'RDB bytes received and parsed', labelNames: ['link'], registers }),
    snapshotKeys: new Counter({ name: 'tandem_source_snapshot_keys_total', help: 'keys read from RDB snapshots', labelNames: ['link'], registers }),
    eventsPublished: new Counter({ name: 'tandem_source_events_published_total', help: 'events committed to the changes topic, per kind', labelNames: ['kind'], registers }),
    recordsPublished: new Counter({ name: 'tandem_source_records_published_total', help: 'Kafka records committed to the changes topic (each a run of events of one partition)', registers }),
    commits: new Counter({ name: 'tandem_source_kafka_commits_total', help: 'Kafka transactions committed', registers }),
    commitFailures: new Counter({ name: 'tandem_source_kafka_commit_failures_total', help: 'Kafka transactions that failed and were retried', registers }),
    uncertainCommits: new Counter({
      name: 'tandem_source_uncertain_commits_total',
      help: 'Kafka commits that failed in EndTxn (outcome unknown), per outcome read back: committed (not sent again), aborted (sent again)',
      labelNames: ['outcome'],
      registers,
    }),
    commitSeconds: new Histogram({
      name: 'tandem_source_kafka_commit_seconds',
      help: 'time to send and commit one Kafka transaction',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    bufferedBytes: new Gauge({ name: 'tandem_source_buffered_bytes', help: 'buffered events waiting for the next commit (encoded bytes plus a fixed cost per event)', registers }),
    bufferLimit: new Gauge({ name: 'tandem_source_buffer_limit_bytes', help: 'source.maxBufferedBytes: at this many buffered bytes the links stop reading their masters', registers }),
    commandsDropped: new Counter({ name: 'tandem_source_commands_not_published_total', help: 'stream commands deliberately not published, per reason: publish-disabled, never-replicated (policy table), too-large-other-origin (over max.message.bytes, another DC\'s write)', labelNames: ['reason'], registers }),
    deletionNotices: new Counter({
      name: 'tandem_source_server_deletions_total',
      help: 'stream DEL/UNLINKs published as server deletions, per link and result: expiry, eviction; stale: a notification no deletion claimed within 10 minutes (dropped)',
      labelNames: ['link', 'result'],
      registers,
    }),
    migratedKeys: new Counter({
      name: 'tandem_source_migrated_keys_total',
      help: 'keys a reshard moved between masters of this cluster, not published as changes: in (RESTORE-ASKING read on the importing master), out (the MIGRATE DEL read on the exporting master)',
      labelNames: ['link', 'direction'],
      registers,
    }),
    orderBarriers: new Counter({
      name: 'tandem_source_order_barriers_total',
      help: 'waits of a link for the link of the master a slot came from, per result: reached, ended, timeout (published anyway), unreachable, no-link',
      labelNames: ['result'],
      registers,
    }),
    stampKnownSlots: new Gauge({ name: 'tandem_source_stamp_known_slots', help: 'slots whose version vector is known, so their local events carry a stamp (conflict detection); the others are stamped unknown', registers }),
    vectorPrimes: new Counter({ name: 'tandem_source_vector_primes_total', help: 'reads of a master\'s anti-loop markers to learn its slots\' version vectors, per result: ok, failed (retried)', labelNames: ['result'], registers }),
    links: new Gauge({ name: 'tandem_source_links', help: 'replica links running: one per master of the cluster', registers }),
    linksEnded: new Counter({ name: 'tandem_source_links_ended_total', help: 'links ended while the source runs, per reason: gone (master removed from the cluster), duplicate', labelNames: ['reason'], registers }),
    anomalies: new Counter({ name: 'tandem_source_anomalies_total', help: 'events published with a warning: cross-slot-transaction, reserved-key-write, unknown-command, keyless-command', labelNames: ['code'], registers }),
  };
}

export type SourceMetrics = ReturnType<typeof sourceMetrics>;
