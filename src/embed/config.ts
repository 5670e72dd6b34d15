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
  /** --initial-election-tick-advance: fast-forward the first election timeout of a multi-member start. */
  initialElectionTickAdvance: boolean;
  /** --max-concurrent-streams: gRPC streams per client connection (uint32). */
  maxConcurrentStreams: number;
  /** --cors: allowed origins of the HTTP endpoints (unique, sorted; "*" allows all). */
  cors: string[];
  /** --host-whitelist: Host names accepted on plaintext client connections ("*" allows all). */
  hostWhitelist: string[];
  /** --metrics: 'basic', or 'extensive' for the gRPC handling-time histograms. */
  metrics: string;
  /** --log-outputs: 'default' (stderr), 'stderr', 'stdout' or file paths (unique, sorted). */
  logOutputs: string[];
  /** --enable-grpc-gateway (hidden in etcd's usage): the JSON gateway under /v3/ (default true). */
  enableGrpcGateway: boolean;
  /** --debug (deprecated in etcd 3.5): debug-level logging. */
  debug: boolean;
  /** --log-package-levels: capnslog's per-package levels; accepted and ignored. */
  logPackageLevels: string;
  /** --enable-pprof: accepted and ignored (no Go profiler here). */
  enablePprof: boolean;
  /** --experimental-backend-bbolt-freelist-type: accepted and ignored (the backend is LMDB). */
  experimentalBackendBboltFreelistType: string;
  /** --experimental-peer-skip-client-san-verification: peer client certificates need not name the peer's address. */
  experimentalPeerSkipClientSanVerification: boolean;
  /** --experimental-enable-lease-checkpoint: the leader proposes remaining-TTL checkpoints. */
  experimentalEnableLeaseCheckpoint: boolean;
  /** --experimental-compaction-batch-limit: revisions deleted per compaction batch. */
  experimentalCompactionBatchLimit: number;
  /** --experimental-watch-progress-notify-interval in ms. */
  experimentalWatchProgressNotifyIntervalMs: number;
  /** --experimental-warning-apply-duration in ms: slower applies are logged and counted. */
  experimentalWarningApplyDurationMs: number;
  /** v2 API, discovery and proxy settings: parsed and validated, refused unless left at their defaults. */
  enableV2: boolean;
  experimentalEnableV2v3: string;
  discovery: string;
  discoveryFallback: string;
  discoveryProxy: string;
  discoverySrv: string;
  discoverySrvName: string;
  proxy: string;
  proxyFailureWaitMs: number;
  proxyRefreshIntervalMs: number;
  proxyDialTimeoutMs: number;
  proxyWriteTimeoutMs: number;
  proxyReadTimeoutMs: number;
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
export const MAX_UINT32 = 4294967295;
/** --log-outputs values with a meaning of their own; anything else is a file path. */
export const DEFAULT_LOG_OUTPUT = 'default';
export const JOURNAL_LOG_OUTPUT = 'systemd/journal';
export const STDERR_LOG_OUTPUT = 'stderr';
export const STDOUT_LOG_OUTPUT = 'stdout';

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
    initialElectionTickAdvance: true,
    maxConcurrentStreams: MAX_UINT32,
    cors: ['*'],
    hostWhitelist: ['*'],
    metrics: 'basic',
    logOutputs: [DEFAULT_LOG_OUTPUT],
    enableGrpcGateway: true,
    debug: false,
    logPackageLevels: '',
    enablePprof: false,
    experimentalBackendBboltFreelistType: 'array',
    experimentalPeerSkipClientSanVerification: false,
    experimentalEnableLeaseCheckpoint: false,
    experimentalCompactionBatchLimit: 1000,
    experimentalWatchProgressNotifyIntervalMs: 10 * 60_000,
    experimentalWarningApplyDurationMs: 100,
    enableV2: false,
    experimentalEnableV2v3: '',
    discovery: '',
    discoveryFallback: 'proxy',
    discoveryProxy: '',
    discoverySrv: '',
    discoverySrvName: '',
    proxy: 'off',
    proxyFailureWaitMs: 5000,
    proxyRefreshIntervalMs: 30000,
    proxyDialTimeoutMs: 1000,
    proxyWriteTimeoutMs: 5000,
    proxyReadTimeoutMs: 0,
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
  validateLogOutputs(cfg);
  refuseUnsupported(cfg);
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

/** etcd's checks of --log-outputs (setupLogging), before any output is opened. */
function validateLogOutputs(cfg: EtcdConfig): void {
  const outs = cfg.logOutputs;
  if (cfg.logger === 'capnslog') {
    if (outs.length !== 1) {
      throw new ConfigError(`--logger=capnslog supports only 1 value in '--log-outputs', got ${goQuoteList(outs)}`);
    }
    const o = outs[0]!;
    if (o !== DEFAULT_LOG_OUTPUT && o !== STDERR_LOG_OUTPUT && o !== STDOUT_LOG_OUTPUT) {
      throw new ConfigError(`unknown log-output "${o}" (only supports "default", "stderr", "stdout")`);
    }
    return;
  }
  if (outs.length > 1) {
    if (outs.includes(DEFAULT_LOG_OUTPUT)) throw new ConfigError('multi logoutput for "default" is not supported yet');
    if (outs.includes(JOURNAL_LOG_OUTPUT)) {
      throw new ConfigError(
        `running with systemd/journal but other '--log-outputs' values (${goQuoteList(outs)}) are configured with 'default'; override 'default' value with something else`,
      );
    }
  }
}

/** Go's %q of a []string: ["a" "b"]. */
function goQuoteList(xs: string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
}

/**
 * tsetcd has no v2 API, no discovery service client and no proxy mode: a configuration that asks
 * for one of them is refused rather than silently started as something else.
 */
function refuseUnsupported(cfg: EtcdConfig): void {
  if (cfg.enableV2) throw new ConfigError('--enable-v2=true: the v2 API is not supported by tsetcd');
  if (cfg.experimentalEnableV2v3 !== '') {
    throw new ConfigError(`--experimental-enable-v2v3=${cfg.experimentalEnableV2v3}: the v2 API is not supported by tsetcd`);
  }
  const discovery: [string, string][] = [
    ['discovery', cfg.discovery],
    ['discovery-srv', cfg.discoverySrv],
    ['discovery-srv-name', cfg.discoverySrvName],
    ['discovery-proxy', cfg.discoveryProxy],
  ];
  for (const [flag, v] of discovery) {
    if (v !== '') {
      throw new ConfigError(`--${flag}=${v}: discovery is not supported by tsetcd; bootstrap with --initial-cluster instead`);
    }
  }
  if (cfg.proxy !== 'off') throw new ConfigError(`--proxy=${cfg.proxy}: proxy mode is not supported by tsetcd`);
}

/** The flags tsetcd accepts for compatibility but does not act on, as warnings for the log. */
export function ignoredFlagWarnings(cfg: EtcdConfig): string[] {
  const out: string[] = [];
  if (cfg.debug) {
    out.push("Deprecated '--debug' flag is set to true (use '--log-level=debug' instead");
    if (cfg.logLevel !== 'debug') {
      out.push(`Deprecated '--debug' flag is set to true with inconsistent '--log-level=${cfg.logLevel}' flag`);
    }
  }
  if (cfg.logPackageLevels !== '') {
    out.push(`Deprecated '--log-package-levels=${cfg.logPackageLevels}' flag is set; tsetcd ignores it`);
  }
  if (cfg.enablePprof) out.push('--enable-pprof is set; tsetcd has no pprof endpoints and ignores it');
  if (cfg.experimentalBackendBboltFreelistType !== 'array') {
    out.push(
      `--experimental-backend-bbolt-freelist-type=${cfg.experimentalBackendBboltFreelistType} is set; tsetcd's backend is not bbolt and ignores it`,
    );
  }
  if (cfg.metrics !== 'basic' && cfg.metrics !== 'extensive') {
    out.push(`unknown --metrics value "${cfg.metrics}"; serving basic metrics`);
  }
  return out;
}
