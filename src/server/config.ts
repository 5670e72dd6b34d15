// What the server needs to start (etcd's config.ServerConfig), built by embed from the flags; and
// the logger shape it writes to (pino's: an object of fields, then the message).

import type { SecureClientSessionOptions } from 'node:http2';
import type { EtcdMetrics } from './metrics.js';

export interface ServerLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: ServerLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface ServerConfig {
  name: string;
  dataDir: string;
  /** Dedicated WAL directory; '' = <dataDir>/member/wal. */
  walDir: string;
  /** name -> peer URLs (--initial-cluster). */
  initialCluster: Map<string, string[]>;
  initialClusterToken: string;
  /** --initial-cluster-state=new. */
  newCluster: boolean;
  /** --force-new-cluster: restart from the WAL as a one-member cluster (see forceNewCluster.ts). */
  forceNewCluster?: boolean;
  /** This member's advertised peer and client URLs. */
  peerUrls: string[];
  clientUrls: string[];
  snapshotCount: number;
  /** Entries kept in memory after a snapshot for slow followers (etcd: 5000). */
  snapshotCatchUpEntries: number;
  heartbeatMs: number;
  electionMs: number;
  maxSnapshots: number;
  maxWals: number;
  /** Backend quota in bytes (0: etcd's 2 GiB default). */
  quotaBackendBytes: number;
  maxTxnOps: number;
  maxRequestBytes: number;
  autoCompactionMode: 'periodic' | 'revision';
  /** Milliseconds (periodic) or revisions (revision); 0 disables. */
  autoCompactionRetention: number;
  preVote: boolean;
  strictReconfigCheck: boolean;
  backendBatchIntervalMs: number;
  backendBatchLimit: number;
  /** Skip fsync of WAL and backend (tests/benchmarks only). */
  unsafeNoFsync: boolean;
  /** How long a proposal may wait for its apply before ErrTimeout (etcd: 5 s + 2 election timeouts). */
  requestTimeoutMs: number;
  logger: ServerLogger;
  /** --auth-token: 'simple', 'jwt,<options>' or '' (no tokens); absent: 'simple'. */
  authToken?: string;
  /** --bcrypt-cost; absent: 10. */
  bcryptCost?: number;
  /** --auth-token-ttl in milliseconds (simple tokens); absent: 300 s. */
  authTokenTtlMs?: number;
  /** --experimental-initial-corrupt-check: compare hashes with peers before serving. */
  initialCorruptCheck?: boolean;
  /** --experimental-corrupt-check-time in ms: the leader's periodic hash comparison; 0/absent = off. */
  corruptCheckTimeMs?: number;
  /** The Prometheus registry to record into; omitted: the server creates its own. */
  metrics?: EtcdMetrics;
  /** TLS options for dialing other members' https peer URLs (lease forwarding, HashKV). */
  peerTls?: SecureClientSessionOptions;
  /** --initial-election-tick-advance: fast-forward the first election of several members; absent: true. */
  initialElectionTickAdvance?: boolean;
  /** --experimental-enable-lease-checkpoint: the leader proposes remaining TTLs; absent: false (etcd 3.4). */
  enableLeaseCheckpoint?: boolean;
  /** --experimental-compaction-batch-limit: revisions deleted per compaction batch; absent: 1000. */
  compactionBatchLimit?: number;
  /** --experimental-warning-apply-duration in ms: slower applies are logged and counted; absent: 100. */
  warningApplyDurationMs?: number;
}

export function defaultServerConfig(overrides: Partial<ServerConfig> & Pick<ServerConfig, 'dataDir'>): ServerConfig {
  const cfg: ServerConfig = {
    name: 'default',
    walDir: '',
    initialCluster: new Map([['default', ['http://localhost:2380']]]),
    initialClusterToken: 'etcd-cluster',
    newCluster: true,
    peerUrls: ['http://localhost:2380'],
    clientUrls: ['http://localhost:2379'],
    snapshotCount: 100000,
    snapshotCatchUpEntries: 5000,
    heartbeatMs: 100,
    electionMs: 1000,
    maxSnapshots: 5,
    maxWals: 5,
    quotaBackendBytes: 0,
    maxTxnOps: 128,
    maxRequestBytes: 1.5 * 1024 * 1024,
    autoCompactionMode: 'periodic',
    autoCompactionRetention: 0,
    preVote: false,
    strictReconfigCheck: true,
    backendBatchIntervalMs: 100,
    backendBatchLimit: 10000,
    unsafeNoFsync: false,
    requestTimeoutMs: 0,
    logger: silentLogger,
    ...overrides,
  };
  if (cfg.requestTimeoutMs === 0) cfg.requestTimeoutMs = 5000 + 2 * cfg.electionMs;
  return cfg;
}
