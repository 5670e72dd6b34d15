// etcd's command line: the flag table (names, defaults, help), parsing of argv (`--flag=v`,
// `--flag v`, `-flag v`), ETCD_* environment variables (a flag given on the command line wins) and
// the YAML `--config-file` (which, as in etcd, replaces flags and environment entirely).
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { parseGoDuration } from '../pkg/duration.js';
import {
  ConfigError,
  EtcdConfig,
  MAX_UINT32,
  TransportSecurity,
  defaultConfig,
  parseUrls,
  urlString,
} from '../embed/config.js';

/**
 * How a value is read. 'uint32' and 'int' follow Go's strconv (with its error texts), 'duration'
 * is Go's time.ParseDuration (stored in ms), 'set' a comma list kept unique and sorted, 'cors' a
 * set of URLs or "*", 'choice' one of the flag's `choices`.
 */
type Kind = 'string' | 'uint' | 'uint32' | 'int' | 'bool' | 'urls' | 'duration' | 'set' | 'cors' | 'choice';

type Value = string | number | boolean | URL[] | string[];

interface FlagDef {
  name: string;
  kind: Kind;
  help: string;
  apply(cfg: EtcdConfig, v: Value): void;
  /** The value shown as the default in --help. */
  shown?(cfg: EtcdConfig): unknown;
  /** Default text for --help when the value is derived (e.g. '${name}.etcd'). */
  defaultText?: string;
  /** The accepted values of a 'choice' flag. */
  choices?: string[];
  /** Accepted but left out of --help, as etcd leaves it out of its usage text. */
  hidden?: boolean;
}

function def<K extends keyof EtcdConfig>(
  name: string,
  kind: Kind,
  key: K,
  help: string,
  extra: Partial<Pick<FlagDef, 'defaultText' | 'choices' | 'hidden'>> = {},
): FlagDef {
  return {
    name,
    kind,
    help,
    apply: (cfg, v) => ((cfg as unknown as Record<string, unknown>)[key] = v),
    shown: (cfg) => cfg[key],
    ...extra,
  };
}

function sec(prefix: '' | 'peer-', field: keyof TransportSecurity, kind: Kind, help: string, flag?: string): FlagDef {
  const name = flag ?? `${prefix}${field.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;
  const of = (cfg: EtcdConfig) => (prefix === '' ? cfg.clientSecurity : cfg.peerSecurity);
  return {
    name,
    kind,
    help,
    apply: (cfg, v) => {
      (of(cfg) as unknown as Record<string, unknown>)[field] = v;
    },
    shown: (cfg) => of(cfg)[field],
  };
}

export const FLAGS: FlagDef[] = [
  def('name', 'string', 'name', 'Human-readable name for this member.'),
  def('data-dir', 'string', 'dataDir', 'Path to the data directory.', { defaultText: '${name}.etcd' }),
  def('wal-dir', 'string', 'walDir', 'Path to the dedicated wal directory.'),
  def('snapshot-count', 'uint', 'snapshotCount', 'Number of committed transactions to trigger a snapshot to disk.'),
  def('experimental-snapshot-catchup-entries', 'uint', 'experimentalSnapshotCatchUpEntries', 'Number of entries for a slow follower to catch up after compacting the raft storage entries.'),
  def('heartbeat-interval', 'uint', 'heartbeatIntervalMs', 'Time (in milliseconds) of a heartbeat interval.'),
  def('election-timeout', 'uint', 'electionTimeoutMs', 'Time (in milliseconds) for an election to timeout.'),
  def('initial-election-tick-advance', 'bool', 'initialElectionTickAdvance', 'Whether to fast-forward initial election ticks on boot for faster election.'),
  def('listen-peer-urls', 'urls', 'listenPeerUrls', 'List of URLs to listen on for peer traffic.'),
  def('listen-client-urls', 'urls', 'listenClientUrls', 'List of URLs to listen on for client traffic.'),
  def('listen-metrics-urls', 'urls', 'listenMetricsUrls', 'List of URLs to listen on for the metrics and health endpoints.'),
  def('max-snapshots', 'uint', 'maxSnapshots', 'Maximum number of snapshot files to retain (0 is unlimited).'),
  def('max-wals', 'uint', 'maxWals', 'Maximum number of wal files to retain (0 is unlimited).'),
  def('quota-backend-bytes', 'uint', 'quotaBackendBytes', 'Raise alarms when backend size exceeds the given quota (0 defaults to low space quota).'),
  def('backend-batch-interval', 'uint', 'backendBatchIntervalMs', 'BackendBatchInterval is the maximum time (in milliseconds) before commit the backend transaction.'),
  def('backend-batch-limit', 'uint', 'backendBatchLimit', 'BackendBatchLimit is the maximum operations before commit the backend transaction.'),
  def('max-txn-ops', 'uint', 'maxTxnOps', 'Maximum number of operations permitted in a transaction.'),
  def('max-request-bytes', 'uint', 'maxRequestBytes', 'Maximum client request size in bytes the server will accept.'),
  def('max-concurrent-streams', 'uint32', 'maxConcurrentStreams', 'Maximum concurrent streams that each client can open at a time.'),
  def('initial-advertise-peer-urls', 'urls', 'initialAdvertisePeerUrls', "List of this member's peer URLs to advertise to the rest of the cluster."),
  def('initial-cluster', 'string', 'initialCluster', 'Initial cluster configuration for bootstrapping.', { defaultText: 'default=http://localhost:2380' }),
  def('initial-cluster-state', 'string', 'initialClusterState', "Initial cluster state ('new' or 'existing')."),
  def('initial-cluster-token', 'string', 'initialClusterToken', 'Initial cluster token for the etcd cluster during bootstrap.'),
  def('advertise-client-urls', 'urls', 'advertiseClientUrls', "List of this member's client URLs to advertise to the public."),
  def('discovery', 'string', 'discovery', 'Discovery URL used to bootstrap the cluster. (tsetcd: not supported; only the empty default is accepted.)'),
  def('discovery-fallback', 'choice', 'discoveryFallback', 'Expected behavior (\'exit\' or \'proxy\') when discovery services fails. "proxy" supports v2 API only.', { choices: ['exit', 'proxy'] }),
  def('discovery-proxy', 'string', 'discoveryProxy', 'HTTP proxy to use for traffic to discovery service. (tsetcd: not supported; only the empty default is accepted.)'),
  def('discovery-srv', 'string', 'discoverySrv', 'DNS srv domain used to bootstrap the cluster. (tsetcd: not supported; only the empty default is accepted.)'),
  def('discovery-srv-name', 'string', 'discoverySrvName', 'Suffix to the dns srv name queried when bootstrapping. (tsetcd: not supported; only the empty default is accepted.)'),
  def('strict-reconfig-check', 'bool', 'strictReconfigCheck', 'Reject reconfiguration requests that would cause quorum loss.'),
  def('pre-vote', 'bool', 'preVote', 'Enable to run an additional Raft election phase.'),
  def('auto-compaction-mode', 'string', 'autoCompactionMode', "Interpret 'auto-compaction-retention' one of: periodic|revision."),
  def('auto-compaction-retention', 'string', 'autoCompactionRetention', 'Auto compaction retention for mvcc key value store. 0 means disable auto compaction.'),
  def('enable-v2', 'bool', 'enableV2', 'Accept etcd V2 client requests. (tsetcd: the v2 API is not supported; only false is accepted.)'),
  def('force-new-cluster', 'bool', 'forceNewCluster', 'Force to create a new one member cluster.'),
  def('experimental-initial-corrupt-check', 'bool', 'experimentalInitialCorruptCheck', 'Enable to check data corruption before serving any client/peer traffic.'),
  def('experimental-corrupt-check-time', 'string', 'experimentalCorruptCheckTime', 'Duration of time between cluster corruption check passes.'),
  def('experimental-enable-v2v3', 'string', 'experimentalEnableV2v3', 'Serve v2 requests through the v3 backend under a given prefix. (tsetcd: the v2 API is not supported; only the empty default is accepted.)'),
  def('experimental-backend-bbolt-freelist-type', 'string', 'experimentalBackendBboltFreelistType', 'ExperimentalBackendFreelistType specifies the type of freelist that boltdb backend uses(array and map are supported types). (tsetcd: ignored.)'),
  def('experimental-enable-lease-checkpoint', 'bool', 'experimentalEnableLeaseCheckpoint', 'ExperimentalEnableLeaseCheckpoint enables primary lessor to persist lease remainingTTL to prevent indefinite auto-renewal of long lived leases.'),
  def('experimental-compaction-batch-limit', 'int', 'experimentalCompactionBatchLimit', 'ExperimentalCompactionBatchLimit sets the maximum revisions deleted in each compaction batch.'),
  def('experimental-peer-skip-client-san-verification', 'bool', 'experimentalPeerSkipClientSanVerification', 'Skip verification of SAN field in client certificate for peer connections.'),
  def('experimental-watch-progress-notify-interval', 'duration', 'experimentalWatchProgressNotifyIntervalMs', 'Duration of periodical watch progress notification.'),
  def('experimental-warning-apply-duration', 'duration', 'experimentalWarningApplyDurationMs', 'Warning is generated if requests take more than this duration.'),
  def('grpc-keepalive-min-time', 'string', 'grpcKeepaliveMinTime', 'Minimum interval duration that a client should wait before pinging server.'),
  def('grpc-keepalive-interval', 'string', 'grpcKeepaliveInterval', 'Frequency duration of server-to-client ping to check if a connection is alive (0 to disable).'),
  def('grpc-keepalive-timeout', 'string', 'grpcKeepaliveTimeout', 'Additional duration of wait before closing a non-responsive connection (0 to disable).'),
  def('auth-token', 'string', 'authToken', "Specify auth token specific options ('simple' or 'jwt,...')."),
  def('bcrypt-cost', 'uint', 'bcryptCost', 'Specify bcrypt algorithm cost factor for auth password hashing.'),
  def('auth-token-ttl', 'uint', 'authTokenTtl', 'The lifetime in seconds of the auth token.'),
  def('logger', 'string', 'logger', "Currently only supports 'zap' for structured logging."),
  def('log-level', 'string', 'logLevel', 'Configures log level. Only supports debug, info, warn, error, panic, or fatal.'),
  def('log-outputs', 'set', 'logOutputs', "Specify 'stdout' or 'stderr' to skip journald logging even when running under systemd, or list of comma separated output targets."),
  def('log-output', 'set', 'logOutputs', "[TO BE DEPRECATED IN v3.5] use '--log-outputs'.", { hidden: true }),
  def('enable-grpc-gateway', 'bool', 'enableGrpcGateway', 'Enable GRPC gateway.', { hidden: true }),
  def('debug', 'bool', 'debug', "Enable debug-level logging for etcd. [WARN] Will be deprecated in v3.5. Use '--log-level=debug' instead."),
  def('log-package-levels', 'string', 'logPackageLevels', "Specify a particular log level for each etcd package (eg: 'etcdmain=CRITICAL,etcdserver=DEBUG'). (tsetcd: ignored.)"),
  def('enable-pprof', 'bool', 'enablePprof', 'Enable runtime profiling data via HTTP server. Address is at client URL + "/debug/pprof/" (tsetcd: ignored.)'),
  def('metrics', 'string', 'metrics', "Set level of detail for exported metrics, specify 'extensive' to include histogram metrics."),
  def('proxy', 'choice', 'proxy', "Proxy mode setting ('off', 'readonly' or 'on'). (tsetcd: no proxy mode; only 'off' is accepted.)", { choices: ['off', 'readonly', 'on'] }),
  def('proxy-failure-wait', 'uint', 'proxyFailureWaitMs', 'Time (in milliseconds) an endpoint will be held in a failed state.'),
  def('proxy-refresh-interval', 'uint', 'proxyRefreshIntervalMs', 'Time (in milliseconds) of the endpoints refresh interval.'),
  def('proxy-dial-timeout', 'uint', 'proxyDialTimeoutMs', 'Time (in milliseconds) for a dial to timeout.'),
  def('proxy-write-timeout', 'uint', 'proxyWriteTimeoutMs', 'Time (in milliseconds) for a write to timeout.'),
  def('proxy-read-timeout', 'uint', 'proxyReadTimeoutMs', 'Time (in milliseconds) for a read to timeout.'),
  sec('', 'certFile', 'string', 'Path to the client server TLS cert file.'),
  sec('', 'keyFile', 'string', 'Path to the client server TLS key file.'),
  sec('', 'trustedCaFile', 'string', 'Path to the client server TLS trusted CA cert file.'),
  sec('', 'clientCertAuth', 'bool', 'Enable client cert authentication.'),
  sec('', 'autoTls', 'bool', 'Client TLS using generated certificates.'),
  sec('peer-', 'certFile', 'string', 'Path to the peer server TLS cert file.'),
  sec('peer-', 'keyFile', 'string', 'Path to the peer server TLS key file.'),
  sec('peer-', 'trustedCaFile', 'string', 'Path to the peer server TLS trusted CA file.'),
  sec('peer-', 'clientCertAuth', 'bool', 'Enable peer client cert authentication.'),
  sec('peer-', 'autoTls', 'bool', 'Peer TLS using generated certificates.'),
  sec('', 'crlFile', 'string', 'Path to the client certificate revocation list file.', 'client-crl-file'),
  sec('', 'allowedHostname', 'string', 'Allowed TLS hostname for client cert authentication.', 'client-cert-allowed-hostname'),
  sec('peer-', 'crlFile', 'string', 'Path to the peer certificate revocation list file.', 'peer-crl-file'),
  sec('peer-', 'allowedCn', 'string', 'Required CN for client certs connecting to the peer endpoint.', 'peer-cert-allowed-cn'),
  sec('peer-', 'allowedHostname', 'string', 'Allowed TLS hostname for inter peer authentication.', 'peer-cert-allowed-hostname'),
  {
    name: 'cipher-suites',
    kind: 'string',
    help: 'Comma-separated list of supported TLS cipher suites between client/server and peers (Go names; empty means the defaults).',
    // etcd splits on commas without trimming (a list in the config file arrives joined).
    apply: (cfg, v) => (cfg.cipherSuites = v === '' ? [] : String(v).split(',')),
    shown: (cfg) => cfg.cipherSuites,
  },
  def('cors', 'cors', 'cors', 'Comma-separated whitelist of origins for CORS, or cross-origin resource sharing, (empty or * means allow all).'),
  def('host-whitelist', 'set', 'hostWhitelist', 'Acceptable hostnames from HTTP client requests, if server is not secure (empty or * means allow all).'),
];

const BY_NAME = new Map(FLAGS.map((f) => [f.name, f]));
/** Config-file keys that differ from their flag's name (etcd's JSON tags). */
const FILE_KEYS: Record<string, string> = {
  'experimental-snapshot-catch-up-entries': 'experimental-snapshot-catchup-entries',
};

/** The keys of etcd's client-/peer-transport-security sections (its securityConfig). */
const SECURITY_KEYS = new Set(['cert-file', 'key-file', 'client-cert-auth', 'trusted-ca-file', 'auto-tls']);
/** Config-file keys of etcd's ClientTLSInfo / PeerTLSInfo and the TLSInfo fields read from them. */
const TLS_INFO_KEYS: Record<string, 'client' | 'peer'> = { clienttlsinfo: 'client', peertlsinfo: 'peer' };
const TLS_INFO_FIELDS: Record<string, 'crlFile' | 'allowedCn' | 'allowedHostname'> = {
  crlfile: 'crlFile',
  allowedcn: 'allowedCn',
  allowedhostname: 'allowedHostname',
};
/** The TLSInfo field behind --experimental-peer-skip-client-san-verification (no JSON tag in etcd 3.4). */
const SKIP_SAN_FIELD = 'skipclientsanverify';

export type ParsedArgs =
  | { kind: 'run'; config: EtcdConfig; warnings: string[] }
  | { kind: 'help' }
  | { kind: 'version' };

/**
 * Reads one flag value. `fromFile`: the value came from the YAML file, where etcd's durations are
 * integers of nanoseconds (a Go duration string is tolerated too).
 */
function parseValue(f: FlagDef, raw: string, fromFile = false): Value {
  const bad = (why = 'parse error') => new ConfigError(`invalid value "${raw}" for flag -${f.name}: ${why}`);
  switch (f.kind) {
    case 'string':
      return raw;
    case 'uint': {
      if (!/^\d+$/.test(raw.trim())) throw bad();
      return Number(raw.trim());
    }
    case 'uint32': {
      // Go's strconv.ParseUint(s, 10, 32), with its words.
      if (!/^\d+$/.test(raw)) throw bad(`strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax`);
      const n = Number(raw);
      if (n > MAX_UINT32) throw bad(`strconv.ParseUint: parsing ${JSON.stringify(raw)}: value out of range`);
      return n;
    }
    case 'int': {
      const n = parseGoInt(raw);
      if (n === null) throw bad();
      if (!Number.isSafeInteger(n)) throw bad('value out of range');
      return n;
    }
    case 'bool': {
      const t = ['1', 't', 'T', 'TRUE', 'true', 'True'];
      const fl = ['0', 'f', 'F', 'FALSE', 'false', 'False'];
      if (t.includes(raw)) return true;
      if (fl.includes(raw)) return false;
      throw new ConfigError(`invalid boolean value "${raw}" for -${f.name}: parse error`);
    }
    case 'urls':
      try {
        return parseUrls(raw);
      } catch (e) {
        throw bad((e as Error).message);
      }
    case 'duration': {
      if (fromFile && /^-?\d+$/.test(raw.trim())) return Number(raw.trim()) / 1e6;
      try {
        return parseGoDuration(raw);
      } catch {
        throw bad();
      }
    }
    case 'set':
      return [...new Set(raw.split(','))].sort();
    case 'cors': {
      if (raw === '*') return ['*'];
      try {
        return [...new Set(raw.split(',').map(corsOrigin))].sort();
      } catch (e) {
        throw bad((e as Error).message);
      }
    }
    case 'choice':
      if (!f.choices!.includes(raw)) throw bad('invalid value');
      return raw;
  }
}

/** Go's strconv.ParseInt(s, 0, 64) as the flag package uses it: sign, then 0x / 0o / 0b / 0 prefixes. */
function parseGoInt(raw: string): number | null {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(raw);
  if (m === null) return null;
  let body = m[2]!;
  if (body.includes('_') && !/^0[xXoObB]?/.test(body)) return null; // underscores need a base prefix
  body = body.replace(/_/g, '');
  let n: number;
  if (/^0[xX]/.test(body)) n = parseInt(body.slice(2), 16);
  else if (/^0[oO]/.test(body)) n = parseInt(body.slice(2), 8);
  else if (/^0[bB]/.test(body)) n = parseInt(body.slice(2), 2);
  else if (body.length > 1 && body[0] === '0') n = parseInt(body.slice(1), 8);
  else n = Number(body);
  return m[1] === '-' ? -n : n;
}

/** One --cors origin: a URL as etcd's types.NewURLs accepts it (scheme, host:port, no path). */
function corsOrigin(s: string): string {
  const u = s.trim();
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/.exec(u);
  const scheme = m?.[1]?.toLowerCase() ?? '';
  if (!['http', 'https', 'unix', 'unixs'].includes(scheme)) throw new Error(`URL scheme must be http, https, unix, or unixs: ${u}`);
  if (!/^(\[[^\]]*\]|[^:[\]]*):[^:]*$/.test(m![2]!)) throw new Error(`URL address does not have the form "host:port": ${u}`);
  if (m![3] !== '') throw new Error(`URL must not contain a path: ${u}`);
  return u;
}

export function envName(flag: string): string {
  return 'ETCD_' + flag.toUpperCase().replace(/-/g, '_');
}

/** Parses argv (without node and script) and env into a config, as etcd's etcdmain does. */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
  const cfg = defaultConfig();
  const warnings: string[] = [];
  const seen = new Set<string>();
  let configFile = '';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-' || arg === '--') {
      throw new ConfigError(`'${arg}' is not a valid flag`);
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name === 'help' || name === 'h') return { kind: 'help' };
    if (name === 'version') return { kind: 'version' };
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (name === 'config-file') {
      if (value === undefined) value = argv[++i];
      if (value === undefined) throw new ConfigError('flag needs an argument: -config-file');
      configFile = value;
      continue;
    }
    const f = BY_NAME.get(name);
    if (!f) throw new ConfigError(`flag provided but not defined: -${name}`);
    if (value === undefined) {
      if (f.kind === 'bool') value = 'true';
      else {
        value = argv[++i];
        if (value === undefined) throw new ConfigError(`flag needs an argument: -${name}`);
      }
    }
    f.apply(cfg, parseValue(f, value));
    seen.add(f.name);
  }
  if (!configFile && env['ETCD_CONFIG_FILE']) configFile = env['ETCD_CONFIG_FILE'];
  if (configFile) return { kind: 'run', config: loadConfigFile(configFile), warnings };
  for (const f of FLAGS) {
    const v = env[envName(f.name)];
    if (v === undefined) continue;
    if (seen.has(f.name)) {
      warnings.push(`conflicting environment variable "${envName(f.name)}" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`);
      continue;
    }
    f.apply(cfg, parseValue(f, v));
  }
  for (const k of Object.keys(env)) {
    if (!k.startsWith('ETCD_') || k === 'ETCD_CONFIG_FILE') continue;
    const flag = k.slice(5).toLowerCase().replace(/_/g, '-');
    if (!BY_NAME.has(flag)) warnings.push(`unrecognized environment variable ${k}=${env[k]}`);
  }
  return { kind: 'run', config: cfg, warnings };
}

/** Reads etcd's YAML config file format (flag names as keys, transport security as sub-objects). */
export function loadConfigFile(path: string): EtcdConfig {
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot load config file ${path}: ${(e as Error).message}`);
  }
  const cfg = defaultConfig();
  if (doc === null || doc === undefined) return cfg;
  if (typeof doc !== 'object') throw new ConfigError(`cannot load config file ${path}: not a YAML mapping`);
  for (const [key, raw] of Object.entries(doc as Record<string, unknown>)) {
    if (raw === null || raw === undefined) continue;
    if (key === 'client-transport-security' || key === 'peer-transport-security') {
      const prefix = key === 'client-transport-security' ? '' : 'peer-';
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        const f = SECURITY_KEYS.has(k) ? BY_NAME.get(prefix + k) : undefined;
        if (f && v !== null) f.apply(cfg, parseValue(f, String(v)));
      }
      continue;
    }
    // etcd's embedded transport.TLSInfo structs, by Go field name (matched case-insensitively).
    const tlsInfo = TLS_INFO_KEYS[key.toLowerCase()];
    if (tlsInfo !== undefined && typeof raw === 'object') {
      const s = tlsInfo === 'client' ? cfg.clientSecurity : cfg.peerSecurity;
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (k.toLowerCase() === SKIP_SAN_FIELD && tlsInfo === 'peer' && v !== null && v !== undefined) {
          const f = BY_NAME.get('experimental-peer-skip-client-san-verification')!;
          f.apply(cfg, parseValue(f, String(v), true));
          continue;
        }
        const field = TLS_INFO_FIELDS[k.toLowerCase()];
        if (field !== undefined && v !== null && v !== undefined) s[field] = String(v);
      }
      continue;
    }
    const f = BY_NAME.get(FILE_KEYS[key] ?? key);
    if (!f) continue; // etcd ignores keys it does not know
    const str = Array.isArray(raw) ? raw.join(',') : String(raw);
    f.apply(cfg, parseValue(f, str, true));
  }
  return cfg;
}

/** A default as --help shows it: lists comma-joined, durations as Go writes them. */
function shownDefault(f: FlagDef, d: EtcdConfig): string {
  if (f.defaultText !== undefined) return f.defaultText;
  const v = f.shown?.(d);
  if (Array.isArray(v)) return v.map((x) => (x instanceof URL ? urlString(x) : String(x))).join(',');
  if (f.kind === 'duration' && typeof v === 'number') return goDuration(v);
  return String(v ?? '');
}

/** Milliseconds as Go's time.Duration String() writes the round values used as defaults. */
function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h0m0s`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m0s`;
  if (ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export function usage(): string {
  const d = defaultConfig();
  const lines = ['Usage:', '', '  tsetcd [flags]', '    Start a tsetcd server.', '', 'Flags:'];
  lines.push('  --config-file', '      Path to the server configuration file.');
  for (const f of FLAGS) if (!f.hidden) lines.push(`  --${f.name}`, `      ${f.help} (default '${shownDefault(f, d)}')`);
  lines.push('  --version', '      Print the version and exit.', '  --help', '      Show this help.');
  return lines.join('\n') + '\n';
}
