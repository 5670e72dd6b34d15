// The server configuration (etcd's embed.Config): every setting with etcd's default, plus the
// validation etcd performs before start-up. Flags, ETCD_* variables and the YAML file are parsed
// into this shape by src/cli/flags.ts; nothing here reads argv or the environment.

import { parseGoDuration } from '../pkg/duration.js';

export const ClusterStateNew = 'new';
export const ClusterStateExisting = 'existing';

export interface TransportSecurity {
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
  clientCertAuth: boolean;
  autoTls: boolean;
  /** --client-crl-file / --peer-crl-file: certificates the CRL revokes are refused. */
  crlFile: string;
  /** --peer-cert-allowed-cn (YAML only for clients): the CN a peer's certificate must carry. */
  allowedCn: string;
  /** --peer-cert-allowed-hostname / --client-cert-allowed-hostname. */
  allowedHostname: string;
}

export interface EtcdConfig {
  name: string;
  dataDir: string;
  walDir: string;
  listenClientUrls: URL[];
  advertiseClientUrls: URL[];
  listenPeerUrls: URL[];
  initialAdvertisePeerUrls: URL[];
  listenMetricsUrls: URL[];
  initialCluster: string;
  initialClusterToken: string;
  initialClusterState: string;
  snapshotCount: number;
  /** Raft entries kept after a snapshot for slow followers (etcd's default 5000). */
  experimentalSnapshotCatchUpEntries: number;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  maxSnapshots: number;
  maxWals: number;
  quotaBackendBytes: number;
  maxTxnOps: number;
  maxRequestBytes: number;
  autoCompactionMode: string;
  autoCompactionRetention: string;
  preVote: boolean;
  strictReconfigCheck: boolean;
  logLevel: string;
  logger: string;
  forceNewCluster: boolean;
  experimentalInitialCorruptCheck: boolean;
  /** Go duration between the leader's corruption checks; "0s" = off. */
  experimentalCorruptCheckTime: string;
  /** gRPC keepalive, Go durations (see keepaliveOf). */
  grpcKeepaliveMinTime: string;
  grpcKeepaliveInterval: string;
  grpcKeepaliveTimeout: string;
  backendBatchIntervalMs: number;
  backendBatchLimit: number;
  authToken: string;
  bcryptCost: number;
  /** --auth-token-ttl: seconds a simple token lives after its last use. */
  authTokenTtl: number;
  clientSecurity: TransportSecurity;
  peerSecurity: TransportSecurity;
  /** --cipher-suites: Go cipher suite names for the client and peer listeners and the peer dialer. */
  cipherSuites: string[];
}

export const DEFAULT_NAME = 'default';
export const DEFAULT_LISTEN_CLIENT_URLS = 'http://localhost:2379';
export const DEFAULT_LISTEN_PEER_URLS = 'http://localhost:2380';
export const DEFAULT_SNAPSHOT_COUNT = 100000;
export const DEFAULT_SNAPSHOT_CATCHUP_ENTRIES = 5000;
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** etcd's default backend quota when --quota-backend-bytes is 0. */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;
export const MAX_QUOTA_BYTES = 8 * 1024 * 1024 * 1024;

function emptySecurity(): TransportSecurity {
  return {
    certFile: '',
    keyFile: '',
    trustedCaFile: '',
    clientCertAuth: false,
    autoTls: false,
    crlFile: '',
    allowedCn: '',
    allowedHostname: '',
  };
}

export function defaultConfig(): EtcdConfig {
  return {
    name: DEFAULT_NAME,
    dataDir: '',
    walDir: '',
    listenClientUrls: [new URL(DEFAULT_LISTEN_CLIENT_URLS)],
    advertiseClientUrls: [new URL(DEFAULT_LISTEN_CLIENT_URLS)],
    listenPeerUrls: [new URL(DEFAULT_LISTEN_PEER_URLS)],
    initialAdvertisePeerUrls: [new URL(DEFAULT_LISTEN_PEER_URLS)],
    listenMetricsUrls: [],
    initialCluster: '',
    initialClusterToken: 'etcd-cluster',
    initialClusterState: ClusterStateNew,
    snapshotCount: DEFAULT_SNAPSHOT_COUNT,
    experimentalSnapshotCatchUpEntries: DEFAULT_SNAPSHOT_CATCHUP_ENTRIES,
    heartbeatIntervalMs: 100,
    electionTimeoutMs: 1000,
    maxSnapshots: 5,
    maxWals: 5,
    quotaBackendBytes: 0,
    maxTxnOps: 128,
    maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
    autoCompactionMode: 'periodic',
    autoCompactionRetention: '0',
    preVote: false,
    strictReconfigCheck: true,
    logLevel: 'info',
    logger: 'zap',
    forceNewCluster: false,
    experimentalInitialCorruptCheck: false,
    experimentalCorruptCheckTime: '0s',
    grpcKeepaliveMinTime: '5s',
    grpcKeepaliveInterval: '2h',
    grpcKeepaliveTimeout: '20s',
    backendBatchIntervalMs: 100,
    backendBatchLimit: 10000,
    authToken: 'simple',
    bcryptCost: 10,
    authTokenTtl: 300,
    clientSecurity: emptySecurity(),
    peerSecurity: emptySecurity(),
    cipherSuites: [],
  };
}

/** The data dir etcd uses when --data-dir is not set. */
export function effectiveDataDir(cfg: EtcdConfig): string {
  return cfg.dataDir || `${cfg.name}.etcd`;
}

/** --initial-cluster defaults to `<name>=<each initial advertise peer url>`, as etcd does. */
export function effectiveInitialCluster(cfg: EtcdConfig): string {
  if (cfg.initialCluster) return cfg.initialCluster;
  return cfg.initialAdvertisePeerUrls.map((u) => `${cfg.name}=${urlString(u)}`).join(',');
}

/** A URL printed the way etcd prints it: no trailing slash for a bare host:port. */
export function urlString(u: URL): string {
  const s = u.toString();
  return u.pathname === '/' && !u.search && !u.hash ? s.replace(/\/$/, '') : s;
}

/** Parses `name1=url1,name2=url2` into name -> urls, as etcd's types.NewURLsMap. */
export function parseInitialCluster(s: string): Map<string, URL[]> {
  const out = new Map<string, URL[]>();
  for (const part of s.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new ConfigError(`parse ${part}: missing '=' in --initial-cluster`);
    const name = part.slice(0, eq);
    const url = parseUrl(part.slice(eq + 1));
    const list = out.get(name) ?? [];
    list.push(url);
    out.set(name, list);
  }
  return out;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function parseUrl(s: string): URL {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new ConfigError(`parse "${s}": invalid URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'unix:' && u.protocol !== 'unixs:') {
    throw new ConfigError(`URL scheme must be http, https, unix, or unixs: ${s}`);
  }
  if (u.pathname !== '/' && u.pathname !== '' && u.protocol.startsWith('http')) {
    throw new ConfigError(`URL must not contain a path: ${s}`);
  }
  return u;
}

export function parseUrls(s: string): URL[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')
    .map(parseUrl);
}

/** etcd's Config.Validate, with etcd's messages. */
export function validateConfig(cfg: EtcdConfig): void {
  if (cfg.initialClusterState !== ClusterStateNew && cfg.initialClusterState !== ClusterStateExisting) {
    throw new ConfigError(
      `invalid value "${cfg.initialClusterState}" for flag -initial-cluster-state: valid values are "new" or "existing"`,
    );
  }
  if (cfg.heartbeatIntervalMs <= 0) throw new ConfigError('--heartbeat-interval must be > 0');
  if (5 * cfg.heartbeatIntervalMs > cfg.electionTimeoutMs) {
    throw new ConfigError(
      `--election-timeout[${cfg.electionTimeoutMs}ms] should be at least as 5 times as --heartbeat-interval[${cfg.heartbeatIntervalMs}ms]`,
    );
  }
  if (cfg.electionTimeoutMs > 50000) {
    throw new ConfigError(`--election-timeout[${cfg.electionTimeoutMs}ms] is too long, and should be set less than 50 seconds`);
  }
  if (cfg.autoCompactionMode !== 'periodic' && cfg.autoCompactionMode !== 'revision') {
    throw new ConfigError(`unknown auto-compaction-mode "${cfg.autoCompactionMode}"`);
  }
  parseCompactionRetention(cfg.autoCompactionMode, cfg.autoCompactionRetention);
  if (!['debug', 'info', 'warn', 'error', 'panic', 'fatal'].includes(cfg.logLevel)) {
    throw new ConfigError(`unknown log-level "${cfg.logLevel}"`);
  }
  if (cfg.logger !== 'zap' && cfg.logger !== 'capnslog') {
    throw new ConfigError(`unknown logger option "${cfg.logger}"`);
  }
  if (cfg.quotaBackendBytes < 0) throw new ConfigError('--quota-backend-bytes must be >= 0');
  corruptCheckTimeMs(cfg);
  keepaliveOf(cfg);
  if (cfg.maxRequestBytes <= 0) throw new ConfigError('--max-request-bytes must be > 0');
  if (cfg.maxTxnOps <= 0) throw new ConfigError('--max-txn-ops must be > 0');
  const cluster = parseInitialCluster(effectiveInitialCluster(cfg));
  if (cfg.initialClusterState === ClusterStateNew && !cluster.has(cfg.name)) {
    throw new ConfigError(
      `couldn't find local name "${cfg.name}" in the initial cluster configuration`,
    );
  }
}

/**
 * Auto-compaction retention in milliseconds (periodic mode) or revisions (revision mode).
 * A bare number in periodic mode means hours, as etcd reads it.
 */
export function parseCompactionRetention(mode: string, s: string): number {
  if (s === '' || s === '0') return 0;
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return mode === 'periodic' ? n * 3600_000 : n;
  }
  if (mode === 'revision') throw new ConfigError(`invalid auto-compaction-retention "${s}" for revision mode`);
  try {
    return parseGoDuration(s);
  } catch (e) {
    throw new ConfigError(`invalid auto-compaction-retention "${s}": ${(e as Error).message}`);
  }
}

/** A duration flag's value in ms: a Go duration, or a bare count of nanoseconds (YAML files). */
function durationFlagMs(flag: string, value: string): number {
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) / 1e6;
  try {
    return parseGoDuration(value);
  } catch {
    throw new ConfigError(`invalid value "${value}" for flag -${flag}: parse error`);
  }
}

/**
 * The gRPC keepalive settings. A zero leaves grpc-go's default in place, as etcd does: 2 h / 20 s
 * for the server's pings, 5 minutes for the client ping policy.
 */
export function keepaliveOf(cfg: EtcdConfig): { intervalMs: number; timeoutMs: number; minPingIntervalMs: number } {
  const minTime = durationFlagMs('grpc-keepalive-min-time', cfg.grpcKeepaliveMinTime);
  const interval = durationFlagMs('grpc-keepalive-interval', cfg.grpcKeepaliveInterval);
  const timeout = durationFlagMs('grpc-keepalive-timeout', cfg.grpcKeepaliveTimeout);
  const on = interval > 0 && timeout > 0;
  return {
    intervalMs: on ? interval : 2 * 3600_000,
    timeoutMs: on ? timeout : 20_000,
    minPingIntervalMs: minTime > 0 ? minTime : 5 * 60_000,
  };
}

/** --experimental-corrupt-check-time in milliseconds (a Go duration; 0 disables the check). */
export function corruptCheckTimeMs(cfg: EtcdConfig): number {
  try {
    return parseGoDuration(cfg.experimentalCorruptCheckTime);
  } catch {
    throw new ConfigError(`invalid value "${cfg.experimentalCorruptCheckTime}" for flag -experimental-corrupt-check-time: parse error`);
  }
}
