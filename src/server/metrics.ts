// etcd's Prometheus metrics: one prom-client Registry per server holding the families etcd
// registers (etcdserver, wal, backend, snap, mvcc, lease, rafthttp, v3rpc, membership, etcdhttp,
// go-grpc-prometheus) with etcd's names, types, help texts, label names and buckets, plus the
// process_* / nodejs_* metrics. Callers record through the narrow interfaces below and never
// touch prom-client; values that already live elsewhere (db size, leader, peer byte counts) are
// read on scrape through collectors instead of being pushed on every change.

import { promises as fsp } from 'node:fs';
import {
  Counter as PCounter,
  Gauge as PGauge,
  Histogram as PHistogram,
  Registry,
  collectDefaultMetrics,
  exponentialBuckets,
} from 'prom-client';
import { SERVER_VERSION } from './version.js';

// ---- what recorders see ----

export interface CounterMetric {
  inc(n?: number): void;
}

export interface GaugeMetric {
  set(v: number): void;
  inc(n?: number): void;
  dec(n?: number): void;
}

export interface HistogramMetric {
  /** Records one observation (seconds for *_seconds, milliseconds for *_milliseconds). */
  observe(v: number): void;
}

/** A counter family: `labels(...)` takes the values in the order of the family's label names. */
export interface LabeledCounter {
  labels(...values: string[]): CounterMetric;
  remove(...values: string[]): void;
}

export interface LabeledGauge {
  labels(...values: string[]): GaugeMetric;
  remove(...values: string[]): void;
}

export interface LabeledHistogram {
  labels(...values: string[]): HistogramMetric;
  remove(...values: string[]): void;
}

// ---- families, grouped as etcd's packages define them ----

export interface ServerMetrics {
  hasLeader: GaugeMetric;
  isLeader: GaugeMetric;
  isLearner: GaugeMetric;
  leaderChanges: CounterMetric;
  learnerPromoteSuccesses: CounterMetric;
  /** Label: Reason. */
  learnerPromoteFailures: LabeledCounter;
  heartbeatSendFailures: CounterMetric;
  slowApplies: CounterMetric;
  snapshotApplyInProgress: GaugeMetric;
  /** etcd keeps these three as gauges set from the raft indexes. */
  proposalsCommitted: GaugeMetric;
  proposalsApplied: GaugeMetric;
  proposalsPending: GaugeMetric;
  proposalsFailed: CounterMetric;
  slowReadIndexes: CounterMetric;
  readIndexesFailed: CounterMetric;
  /** etcd_debugging_server_lease_expired_total. */
  leaseExpired: CounterMetric;
  quotaBackendBytes: GaugeMetric;
  /** Labels: version ("v3"), op (e.g. "Put"), success ("true"/"false"). */
  applyDuration: LabeledHistogram;
  healthSuccess: CounterMetric;
  healthFailures: CounterMetric;
  /** Labels: type ("unary"/"stream"), client_api_version. */
  clientRequests: LabeledCounter;
}

export interface DiskMetrics {
  walFsyncDuration: HistogramMetric;
  walWriteDuration: HistogramMetric;
  /** A gauge in etcd despite the _total suffix. */
  walWriteBytes: GaugeMetric;
  backendCommitDuration: HistogramMetric;
  backendDefragDuration: HistogramMetric;
  backendSnapshotDuration: HistogramMetric;
  defragInflight: GaugeMetric;
}

export interface SnapMetrics {
  fsyncDuration: HistogramMetric;
  /** etcd_debugging_snap_save_total_duration_seconds. */
  saveTotalDuration: HistogramMetric;
  saveMarshallingDuration: HistogramMetric;
  dbFsyncDuration: HistogramMetric;
  dbSaveTotalDuration: HistogramMetric;
}

export interface MvccMetrics {
  range: CounterMetric;
  put: CounterMetric;
  delete: CounterMetric;
  txn: CounterMetric;
  keys: GaugeMetric;
  watchStreams: GaugeMetric;
  watchers: GaugeMetric;
  slowWatchers: GaugeMetric;
  events: CounterMetric;
  pendingEvents: GaugeMetric;
  indexCompactionPauseMs: HistogramMetric;
  dbCompactionPauseMs: HistogramMetric;
  dbCompactionTotalMs: HistogramMetric;
  /** Unix seconds of the last db compaction. */
  dbCompactionLast: GaugeMetric;
  dbCompactionKeys: CounterMetric;
  dbTotalSize: GaugeMetric;
  dbTotalSizeInUse: GaugeMetric;
  dbOpenReadTransactions: GaugeMetric;
  hashDuration: HistogramMetric;
  hashRevDuration: HistogramMetric;
  currentRevision: GaugeMetric;
  compactRevision: GaugeMetric;
  totalPutSize: GaugeMetric;
}

export interface LeaseMetrics {
  granted: CounterMetric;
  revoked: CounterMetric;
  renewed: CounterMetric;
  /** TTLs in seconds of granted leases. */
  ttl: HistogramMetric;
}

/** Peer label values are member IDs in etcd's form: lower-case hex without padding. */
export interface NetworkMetrics {
  /** Label: To. */
  peerSentBytes: LabeledCounter;
  /** Label: From. */
  peerReceivedBytes: LabeledCounter;
  peerSentFailures: LabeledCounter;
  peerReceivedFailures: LabeledCounter;
  /** Label: To. Seconds. */
  peerRoundTripTime: LabeledHistogram;
  /** Labels: Local, Remote. */
  activePeers: LabeledGauge;
  disconnectedPeers: LabeledCounter;
  knownPeers: LabeledGauge;
  snapshotSendSuccess: LabeledCounter;
  snapshotSendFailures: LabeledCounter;
  snapshotSendDuration: LabeledHistogram;
  snapshotReceiveSuccess: LabeledCounter;
  snapshotReceiveFailures: LabeledCounter;
  snapshotReceiveDuration: LabeledHistogram;
  clientGrpcSentBytes: CounterMetric;
  clientGrpcReceivedBytes: CounterMetric;
  /** Labels: Type ("receive"/"send"), API ("watch"/"lease-keepalive"). */
  serverStreamFailures: LabeledCounter;
}

export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

/** Per-method gRPC counters (go-grpc-prometheus); plain numbers until scraped. */
export interface GrpcMethodMetrics {
  started(): void;
  /** `code` is the numeric gRPC status code (0 = OK). */
  handled(code: number): void;
  msgReceived(): void;
  msgSent(): void;
  /** Seconds from start to handled; recorded only with `extensive` metrics. */
  handlingSeconds(seconds: number): void;
}

export interface GrpcMetrics {
  /**
   * The counters of one method, created with all codes at zero as etcd's InitializeMetrics does.
   * Call once per registered method and keep the result: lookups on the hot path cost a map probe.
   */
  method(type: GrpcType, service: string, method: string): GrpcMethodMetrics;
}

/** Per-peer values read on scrape: [peer member ID in hex, value]. */
export type PeerSamples = () => Iterable<readonly [string, number]>;

/** Values read when /metrics is scraped. A metric with a collector reports only its collector. */
export interface MetricCollectors {
  hasLeader?: () => number | boolean;
  isLeader?: () => number | boolean;
  isLearner?: () => number | boolean;
  leaderChanges?: () => number;
  proposalsCommitted?: () => number;
  proposalsApplied?: () => number;
  proposalsPending?: () => number;
  quotaBackendBytes?: () => number;
  snapshotApplyInProgress?: () => number | boolean;
  walWriteBytes?: () => number;
  defragInflight?: () => number | boolean;
  mvccRange?: () => number;
  mvccPut?: () => number;
  mvccDelete?: () => number;
  mvccTxn?: () => number;
  keys?: () => number;
  watchStreams?: () => number;
  watchers?: () => number;
  slowWatchers?: () => number;
  pendingEvents?: () => number;
  dbTotalSize?: () => number;
  dbTotalSizeInUse?: () => number;
  dbOpenReadTransactions?: () => number;
  currentRevision?: () => number;
  compactRevision?: () => number;
  clientGrpcSentBytes?: () => number;
  clientGrpcReceivedBytes?: () => number;
  peerSentBytes?: PeerSamples;
  peerReceivedBytes?: PeerSamples;
  peerSentFailures?: PeerSamples;
  peerReceivedFailures?: PeerSamples;
  /** Remote peers; Local is the ID given to setServerId. */
  activePeers?: PeerSamples;
  knownPeers?: PeerSamples;
}

type ScalarKey = {
  [K in keyof MetricCollectors]-?: MetricCollectors[K] extends PeerSamples | undefined ? never : K;
}[keyof MetricCollectors];
type PeerKey = Exclude<keyof MetricCollectors, ScalarKey>;

export interface EtcdMetricsOptions {
  /** Value of etcd_server_version's label (default: the version tsetcd reports). */
  serverVersion?: string;
  /** etcd's --metrics=extensive: adds grpc_server_handling_seconds. */
  extensive?: boolean;
  /** Include process_* and nodejs_* (default true). */
  processMetrics?: boolean;
}

export interface EtcdMetrics {
  /** Serves as the /metrics source: `metrics()` and `contentType`. */
  readonly registry: Registry;
  readonly server: ServerMetrics;
  readonly disk: DiskMetrics;
  readonly snap: SnapMetrics;
  readonly mvcc: MvccMetrics;
  readonly lease: LeaseMetrics;
  readonly network: NetworkMetrics;
  readonly grpc: GrpcMetrics;
  /** Adds or replaces collectors; `undefined` removes one. */
  setCollectors(c: MetricCollectors): void;
  /** Sets etcd_server_id{server_id} and the Local label of per-peer gauges. */
  setServerId(id: bigint): void;
  /** Sets etcd_cluster_version{cluster_version} (e.g. "3.5"). */
  setClusterVersion(v: string): void;
}

// ---- buckets (Go's prometheus.ExponentialBuckets) ----

const B_DISK = exponentialBuckets(0.001, 2, 14);
const B_APPLY = exponentialBuckets(0.0001, 2, 20);
const B_DEFRAG = exponentialBuckets(0.1, 2, 13);
const B_BE_SNAPSHOT = exponentialBuckets(0.01, 2, 17);
const B_SNAP_DB_SAVE = exponentialBuckets(0.1, 2, 10);
const B_INDEX_PAUSE = exponentialBuckets(0.5, 2, 14);
const B_DB_PAUSE = exponentialBuckets(1, 2, 13);
const B_DB_TOTAL = exponentialBuckets(100, 2, 14);
const B_HASH = exponentialBuckets(0.01, 2, 15);
const B_LEASE_TTL = exponentialBuckets(1, 2, 24);
const B_RTT = exponentialBuckets(0.0001, 2, 16);
const B_PEER_SNAPSHOT = exponentialBuckets(0.1, 2, 10);
/** prometheus.DefBuckets. */
const B_DEFAULT = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Go's codes.Code.String(), by numeric code. */
const GRPC_CODES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists',
  'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange',
  'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
];

// Process-wide metrics are created once: each collectDefaultMetrics call starts a GC observer and
// an event-loop monitor that are never released, and the values are the same for every server.
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export function createEtcdMetrics(opts: EtcdMetricsOptions = {}): EtcdMetrics {
  const registry = new Registry();
  const registers = [registry];
  const scalars = new Map<ScalarKey, () => number | boolean>();
  const peers = new Map<PeerKey, PeerSamples>();
  let localId = '0';

  const counter = (name: string, help: string, key?: ScalarKey): CounterMetric =>
    new PCounter({
      name,
      help,
      registers,
      collect:
        key &&
        function (this: PCounter) {
          const f = scalars.get(key);
          if (f === undefined) return;
          this.reset();
          this.inc(Number(f()));
        },
    });
  const gauge = (name: string, help: string, key?: ScalarKey): GaugeMetric =>
    new PGauge({
      name,
      help,
      registers,
      collect:
        key &&
        function (this: PGauge) {
          const f = scalars.get(key);
          if (f !== undefined) this.set(Number(f()));
        },
    });
  const histogram = (name: string, help: string, buckets: number[]): HistogramMetric =>
    new PHistogram({ name, help, buckets, registers });
  /** A collect callback that refills a labelled metric from the peer samples under `key` on each scrape. */
  const fromPeers = <M extends PCounter | PGauge>(key: PeerKey | undefined, fill: (m: M, id: string, v: number) => void) =>
    key &&
    function (this: M) {
      const f = peers.get(key);
      if (f === undefined) return;
      this.reset();
      for (const [id, v] of f()) fill(this, id, v);
    };
  const counterVec = (name: string, help: string, labelNames: string[], key?: PeerKey): LabeledCounter =>
    new PCounter({ name, help, labelNames, registers, collect: fromPeers<PCounter>(key, (m, id, v) => m.labels(id).inc(v)) });
  /** Local/Remote gauges read on scrape fill Local with this member's ID. */
  const gaugeVec = (name: string, help: string, labelNames: string[], key?: PeerKey): LabeledGauge =>
    new PGauge({ name, help, labelNames, registers, collect: fromPeers<PGauge>(key, (m, id, v) => m.labels(localId, id).set(v)) });
  const histogramVec = (name: string, help: string, labelNames: string[], buckets: number[]): LabeledHistogram =>
    new PHistogram({ name, help, labelNames, buckets, registers });

  // etcdserver
  const server: ServerMetrics = {
    hasLeader: gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', 'hasLeader'),
    isLeader: gauge('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', 'isLeader'),
    isLearner: gauge('etcd_server_is_learner', 'Whether or not this member is a learner. 1 if is, 0 otherwise.', 'isLearner'),
    leaderChanges: counter('etcd_server_leader_changes_seen_total', 'The number of leader changes seen.', 'leaderChanges'),
    learnerPromoteFailures: counterVec(
      'etcd_server_learner_promote_failures',
      'The total number of failed learner promotions (likely learner not ready) while this member is leader.',
      ['Reason'],
    ),
    learnerPromoteSuccesses: counter(
      'etcd_server_learner_promote_successes',
      'The total number of successful learner promotions while this member is leader.',
    ),
    heartbeatSendFailures: counter(
      'etcd_server_heartbeat_send_failures_total',
      'The total number of leader heartbeat send failures (likely overloaded from slow disk).',
    ),
    slowApplies: counter(
      'etcd_server_slow_apply_total',
      'The total number of slow apply requests (likely overloaded from slow disk).',
    ),
    snapshotApplyInProgress: gauge(
      'etcd_server_snapshot_apply_in_progress_total',
      '1 if the server is applying the incoming snapshot. 0 if none.',
      'snapshotApplyInProgress',
    ),
    proposalsCommitted: gauge('etcd_server_proposals_committed_total', 'The total number of consensus proposals committed.', 'proposalsCommitted'),
    proposalsApplied: gauge('etcd_server_proposals_applied_total', 'The total number of consensus proposals applied.', 'proposalsApplied'),
    proposalsPending: gauge('etcd_server_proposals_pending', 'The current number of pending proposals to commit.', 'proposalsPending'),
    proposalsFailed: counter('etcd_server_proposals_failed_total', 'The total number of failed proposals seen.'),
    slowReadIndexes: counter(
      'etcd_server_slow_read_indexes_total',
      "The total number of pending read indexes not in sync with leader's or timed out read index requests.",
    ),
    readIndexesFailed: counter('etcd_server_read_indexes_failed_total', 'The total number of failed read indexes seen.'),
    leaseExpired: counter('etcd_debugging_server_lease_expired_total', 'The total number of expired leases.'),
    quotaBackendBytes: gauge('etcd_server_quota_backend_bytes', 'Current backend storage quota size in bytes.', 'quotaBackendBytes'),
    applyDuration: histogramVec(
      'etcd_server_apply_duration_seconds',
      'The latency distributions of v2 apply called by backend.',
      ['version', 'op', 'success'],
      B_APPLY,
    ),
    healthSuccess: counter('etcd_server_health_success', 'The total number of successful health checks'),
    healthFailures: counter('etcd_server_health_failures', 'The total number of failed health checks'),
    clientRequests: counterVec(
      'etcd_server_client_requests_total',
      'The total number of client requests per client version.',
      ['type', 'client_api_version'],
    ),
  };
  const version = new PGauge({
    name: 'etcd_server_version',
    help: "Which version is running. 1 for 'server_version' label with current version.",
    labelNames: ['server_version'],
    registers,
  });
  version.labels(opts.serverVersion ?? SERVER_VERSION).set(1);
  // etcd reports its Go runtime here; the runtime of tsetcd is Node.
  const goVersion = new PGauge({
    name: 'etcd_server_go_version',
    help: "Which Go version server is running with. 1 for 'server_go_version' label with current version.",
    labelNames: ['server_go_version'],
    registers,
  });
  goVersion.labels(process.version).set(1);
  const serverId = new PGauge({
    name: 'etcd_server_id',
    help: "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
    labelNames: ['server_id'],
    registers,
  });
  const clusterVersion = new PGauge({
    name: 'etcd_cluster_version',
    help: "Which version is running. 1 for 'cluster_version' label with current cluster version",
    labelNames: ['cluster_version'],
    registers,
  });
  fdGauges(registers);

  // wal, backend
  const disk: DiskMetrics = {
    walFsyncDuration: histogram('etcd_disk_wal_fsync_duration_seconds', 'The latency distributions of fsync called by WAL.', B_DISK),
    walWriteDuration: histogram('etcd_disk_wal_write_duration_seconds', 'The latency distributions of write called by WAL.', B_DISK),
    walWriteBytes: gauge('etcd_disk_wal_write_bytes_total', 'Total number of bytes written in WAL.', 'walWriteBytes'),
    backendCommitDuration: histogram(
      'etcd_disk_backend_commit_duration_seconds',
      'The latency distributions of commit called by backend.',
      B_DISK,
    ),
    backendDefragDuration: histogram(
      'etcd_disk_backend_defrag_duration_seconds',
      'The latency distribution of backend defragmentation.',
      B_DEFRAG,
    ),
    backendSnapshotDuration: histogram(
      'etcd_disk_backend_snapshot_duration_seconds',
      'The latency distribution of backend snapshots.',
      B_BE_SNAPSHOT,
    ),
    defragInflight: gauge(
      'etcd_disk_defrag_inflight',
      'Whether or not defrag is active on the member. 1 means active, 0 means not.',
      'defragInflight',
    ),
  };

  // snap
  const snap: SnapMetrics = {
    fsyncDuration: histogram('etcd_snap_fsync_duration_seconds', 'The latency distributions of fsync called by snap.', B_DISK),
    saveTotalDuration: histogram(
      'etcd_debugging_snap_save_total_duration_seconds',
      'The total latency distributions of save called by snapshot.',
      B_DISK,
    ),
    saveMarshallingDuration: histogram(
      'etcd_debugging_snap_save_marshalling_duration_seconds',
      'The marshalling cost distributions of save called by snapshot.',
      B_DISK,
    ),
    dbFsyncDuration: histogram('etcd_snap_db_fsync_duration_seconds', 'The latency distributions of fsyncing .snap.db file', B_DISK),
    dbSaveTotalDuration: histogram(
      'etcd_snap_db_save_total_duration_seconds',
      'The total latency distributions of v3 snapshot save',
      B_SNAP_DB_SAVE,
    ),
  };

  // mvcc
  const mvcc: MvccMetrics = {
    range: counter('etcd_mvcc_range_total', 'Total number of ranges seen by this member.', 'mvccRange'),
    put: counter('etcd_mvcc_put_total', 'Total number of puts seen by this member.', 'mvccPut'),
    delete: counter('etcd_mvcc_delete_total', 'Total number of deletes seen by this member.', 'mvccDelete'),
    txn: counter('etcd_mvcc_txn_total', 'Total number of txns seen by this member.', 'mvccTxn'),
    keys: gauge('etcd_debugging_mvcc_keys_total', 'Total number of keys.', 'keys'),
    watchStreams: gauge('etcd_debugging_mvcc_watch_stream_total', 'Total number of watch streams.', 'watchStreams'),
    watchers: gauge('etcd_debugging_mvcc_watcher_total', 'Total number of watchers.', 'watchers'),
    slowWatchers: gauge('etcd_debugging_mvcc_slow_watcher_total', 'Total number of unsynced slow watchers.', 'slowWatchers'),
    events: counter('etcd_debugging_mvcc_events_total', 'Total number of events sent by this member.'),
    pendingEvents: gauge('etcd_debugging_mvcc_pending_events_total', 'Total number of pending events to be sent.', 'pendingEvents'),
    indexCompactionPauseMs: histogram(
      'etcd_debugging_mvcc_index_compaction_pause_duration_milliseconds',
      'Bucketed histogram of index compaction pause duration.',
      B_INDEX_PAUSE,
    ),
    dbCompactionPauseMs: histogram(
      'etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds',
      'Bucketed histogram of db compaction pause duration.',
      B_DB_PAUSE,
    ),
    dbCompactionTotalMs: histogram(
      'etcd_debugging_mvcc_db_compaction_total_duration_milliseconds',
      'Bucketed histogram of db compaction total duration.',
      B_DB_TOTAL,
    ),
    dbCompactionLast: gauge('etcd_debugging_mvcc_db_compaction_last', 'The unix time of the last db compaction. Resets to 0 on start.'),
    dbCompactionKeys: counter('etcd_debugging_mvcc_db_compaction_keys_total', 'Total number of db keys compacted.'),
    dbTotalSize: gauge(
      'etcd_mvcc_db_total_size_in_bytes',
      'Total size of the underlying database physically allocated in bytes.',
      'dbTotalSize',
    ),
    dbTotalSizeInUse: gauge(
      'etcd_mvcc_db_total_size_in_use_in_bytes',
      'Total size of the underlying database logically in use in bytes.',
      'dbTotalSizeInUse',
    ),
    dbOpenReadTransactions: gauge(
      'etcd_mvcc_db_open_read_transactions',
      'The number of currently open read transactions',
      'dbOpenReadTransactions',
    ),
    hashDuration: histogram('etcd_mvcc_hash_duration_seconds', 'The latency distribution of storage hash operation.', B_HASH),
    hashRevDuration: histogram(
      'etcd_mvcc_hash_rev_duration_seconds',
      'The latency distribution of storage hash by revision operation.',
      B_HASH,
    ),
    currentRevision: gauge('etcd_debugging_mvcc_current_revision', 'The current revision of store.', 'currentRevision'),
    compactRevision: gauge('etcd_debugging_mvcc_compact_revision', 'The revision of the last compaction in store.', 'compactRevision'),
    totalPutSize: gauge('etcd_debugging_mvcc_total_put_size_in_bytes', 'The total size of put kv pairs seen by this member.'),
  };

  // lease
  const lease: LeaseMetrics = {
    granted: counter('etcd_debugging_lease_granted_total', 'The total number of granted leases.'),
    revoked: counter('etcd_debugging_lease_revoked_total', 'The total number of revoked leases.'),
    renewed: counter('etcd_debugging_lease_renewed_total', 'The number of renewed leases seen by the leader.'),
    ttl: histogram('etcd_debugging_lease_ttl_total', 'Bucketed histogram of lease TTLs.', B_LEASE_TTL),
  };

  // rafthttp, membership, v3rpc
  const network: NetworkMetrics = {
    activePeers: gaugeVec('etcd_network_active_peers', 'The current number of active peer connections.', ['Local', 'Remote'], 'activePeers'),
    disconnectedPeers: counterVec('etcd_network_disconnected_peers_total', 'The total number of disconnected peers.', ['Local', 'Remote']),
    knownPeers: gaugeVec('etcd_network_known_peers', 'The current number of known peers.', ['Local', 'Remote'], 'knownPeers'),
    peerSentBytes: counterVec('etcd_network_peer_sent_bytes_total', 'The total number of bytes sent to peers.', ['To'], 'peerSentBytes'),
    peerReceivedBytes: counterVec(
      'etcd_network_peer_received_bytes_total',
      'The total number of bytes received from peers.',
      ['From'],
      'peerReceivedBytes',
    ),
    peerSentFailures: counterVec(
      'etcd_network_peer_sent_failures_total',
      'The total number of send failures from peers.',
      ['To'],
      'peerSentFailures',
    ),
    peerReceivedFailures: counterVec(
      'etcd_network_peer_received_failures_total',
      'The total number of receive failures from peers.',
      ['From'],
      'peerReceivedFailures',
    ),
    snapshotSendSuccess: counterVec('etcd_network_snapshot_send_success', 'Total number of successful snapshot sends', ['To']),
    snapshotSendFailures: counterVec('etcd_network_snapshot_send_failures', 'Total number of snapshot send failures', ['To']),
    snapshotSendDuration: histogramVec(
      'etcd_network_snapshot_send_total_duration_seconds',
      'Total latency distributions of v3 snapshot sends',
      ['To'],
      B_PEER_SNAPSHOT,
    ),
    snapshotReceiveSuccess: counterVec('etcd_network_snapshot_receive_success', 'Total number of successful snapshot receives', ['From']),
    snapshotReceiveFailures: counterVec('etcd_network_snapshot_receive_failures', 'Total number of snapshot receive failures', ['From']),
    snapshotReceiveDuration: histogramVec(
      'etcd_network_snapshot_receive_total_duration_seconds',
      'Total latency distributions of v3 snapshot receives',
      ['From'],
      B_PEER_SNAPSHOT,
    ),
    peerRoundTripTime: histogramVec('etcd_network_peer_round_trip_time_seconds', 'Round-Trip-Time histogram between peers', ['To'], B_RTT),
    clientGrpcSentBytes: counter(
      'etcd_network_client_grpc_sent_bytes_total',
      'The total number of bytes sent to grpc clients.',
      'clientGrpcSentBytes',
    ),
    clientGrpcReceivedBytes: counter(
      'etcd_network_client_grpc_received_bytes_total',
      'The total number of bytes received from grpc clients.',
      'clientGrpcReceivedBytes',
    ),
    serverStreamFailures: counterVec(
      'etcd_network_server_stream_failures_total',
      'The total number of stream failures from the local server.',
      ['Type', 'API'],
    ),
  };

  const grpc = grpcMetrics(registers, opts.extensive === true);

  if (opts.processMetrics !== false) {
    for (const m of processMetrics().getMetricsAsArray()) registry.registerMetric(m as never);
  }

  return {
    registry,
    server,
    disk,
    snap,
    mvcc,
    lease,
    network,
    grpc,
    setCollectors(c: MetricCollectors): void {
      for (const k of Object.keys(c) as (keyof MetricCollectors)[]) {
        const f = c[k];
        const isPeer = PEER_KEYS.has(k);
        if (f === undefined) {
          if (isPeer) peers.delete(k as PeerKey);
          else scalars.delete(k as ScalarKey);
        } else if (isPeer) peers.set(k as PeerKey, f as PeerSamples);
        else scalars.set(k as ScalarKey, f as () => number);
      }
    },
    setServerId(id: bigint): void {
      localId = id.toString(16);
      serverId.reset();
      serverId.labels(localId).set(1);
    },
    setClusterVersion(v: string): void {
      clusterVersion.reset();
      clusterVersion.labels(v).set(1);
    },
  };
}

const PEER_KEYS: ReadonlySet<keyof MetricCollectors> = new Set<PeerKey>([
  'peerSentBytes',
  'peerReceivedBytes',
  'peerSentFailures',
  'peerReceivedFailures',
  'activePeers',
  'knownPeers',
]);

/** etcd's os_fd_used / os_fd_limit, read on scrape (Linux /proc; absent elsewhere). */
function fdGauges(registers: Registry[]): void {
  new PGauge({
    name: 'os_fd_used',
    help: 'The number of used file descriptors.',
    registers,
    async collect(this: PGauge) {
      try {
        this.set((await fsp.readdir('/proc/self/fd')).length);
      } catch {
        // not Linux: leave 0
      }
    },
  });
  new PGauge({
    name: 'os_fd_limit',
    help: 'The file descriptor limit.',
    registers,
    async collect(this: PGauge) {
      try {
        const m = /^Max open files\s+(\d+)/m.exec(await fsp.readFile('/proc/self/limits', 'utf8'));
        if (m) this.set(Number(m[1]));
      } catch {
        // not Linux: leave 0
      }
    },
  });
}

interface MethodCounts {
  readonly labels: readonly [GrpcType, string, string];
  started: number;
  received: number;
  sent: number;
  readonly handled: number[];
}

/**
 * go-grpc-prometheus's server metrics. Requests bump plain numbers; the prom-client families are
 * rebuilt from them on scrape, so the hot path neither hashes labels nor allocates.
 */
function grpcMetrics(registers: Registry[], extensive: boolean): GrpcMetrics {
  const methods = new Map<string, MethodCounts>();
  const labelNames = ['grpc_type', 'grpc_service', 'grpc_method'];
  const publish = (pick: (m: MethodCounts) => number) =>
    function (this: PCounter) {
      this.reset();
      for (const m of methods.values()) this.labels(...m.labels).inc(pick(m));
    };
  new PCounter({
    name: 'grpc_server_started_total',
    help: 'Total number of RPCs started on the server.',
    labelNames,
    registers,
    collect: publish((m) => m.started),
  });
  new PCounter({
    name: 'grpc_server_handled_total',
    help: 'Total number of RPCs completed on the server, regardless of success or failure.',
    labelNames: [...labelNames, 'grpc_code'],
    registers,
    collect(this: PCounter) {
      this.reset();
      for (const m of methods.values()) {
        for (let c = 0; c < GRPC_CODES.length; c++) this.labels(...m.labels, GRPC_CODES[c]!).inc(m.handled[c]!);
      }
    },
  });
  new PCounter({
    name: 'grpc_server_msg_received_total',
    help: 'Total number of RPC stream messages received on the server.',
    labelNames,
    registers,
    collect: publish((m) => m.received),
  });
  new PCounter({
    name: 'grpc_server_msg_sent_total',
    help: 'Total number of gRPC stream messages sent by the server.',
    labelNames,
    registers,
    collect: publish((m) => m.sent),
  });
  const handling = extensive
    ? new PHistogram({
        name: 'grpc_server_handling_seconds',
        help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
        labelNames,
        buckets: B_DEFAULT,
        registers,
      })
    : undefined;

  return {
    method(type: GrpcType, service: string, method: string): GrpcMethodMetrics {
      const key = `${type} ${service} ${method}`;
      let m = methods.get(key);
      if (m === undefined) {
        m = { labels: [type, service, method], started: 0, received: 0, sent: 0, handled: GRPC_CODES.map(() => 0) };
        methods.set(key, m);
      }
      const counts = m;
      const hist = handling?.labels(type, service, method);
      return {
        started: () => void counts.started++,
        handled: (code: number) => {
          // Codes beyond the known ones are reported as Unknown, as grpc-go does.
          counts.handled[code >= 0 && code < GRPC_CODES.length ? code : 2]!++;
        },
        msgReceived: () => void counts.received++,
        msgSent: () => void counts.sent++,
        handlingSeconds: hist ? (s: number) => hist.observe(s) : () => {},
      };
    },
  };
}
