// etcd's command line: the flag table (names, defaults, help), parsing of argv (`--flag=v`,
// `--flag v`, `-flag v`), ETCD_* environment variables (a flag given on the command line wins) and
// the YAML `--config-file` (which, as in etcd, replaces flags and environment entirely).
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import {
  ConfigError,
  EtcdConfig,
  TransportSecurity,
  defaultConfig,
  parseUrls,
} from '../embed/config.js';

type Kind = 'string' | 'uint' | 'bool' | 'urls';

interface FlagDef {
  name: string;
  kind: Kind;
  help: string;
  apply(cfg: EtcdConfig, v: string | number | boolean | URL[]): void;
}

function def<K extends keyof EtcdConfig>(name: string, kind: Kind, key: K, help: string): FlagDef {
  return { name, kind, help, apply: (cfg, v) => ((cfg as unknown as Record<string, unknown>)[key] = v) };
}

function sec(prefix: '' | 'peer-', field: keyof TransportSecurity, kind: Kind, help: string, flag?: string): FlagDef {
  const name = flag ?? `${prefix}${field.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;
  return {
    name,
    kind,
    help,
    apply: (cfg, v) => {
      const s = prefix === '' ? cfg.clientSecurity : cfg.peerSecurity;
      (s as unknown as Record<string, unknown>)[field] = v;
    },
  };
}

export const FLAGS: FlagDef[] = [
  def('name', 'string', 'name', 'Human-readable name for this member.'),
  def('data-dir', 'string', 'dataDir', 'Path to the data directory.'),
  def('wal-dir', 'string', 'walDir', 'Path to the dedicated wal directory.'),
  def('snapshot-count', 'uint', 'snapshotCount', 'Number of committed transactions to trigger a snapshot to disk.'),
  def('experimental-snapshot-catchup-entries', 'uint', 'experimentalSnapshotCatchUpEntries', 'Number of entries for a slow follower to catch up after compacting the raft storage entries.'),
  def('heartbeat-interval', 'uint', 'heartbeatIntervalMs', 'Time (in milliseconds) of a heartbeat interval.'),
  def('election-timeout', 'uint', 'electionTimeoutMs', 'Time (in milliseconds) for an election to timeout.'),
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
  def('initial-advertise-peer-urls', 'urls', 'initialAdvertisePeerUrls', "List of this member's peer URLs to advertise to the rest of the cluster."),
  def('initial-cluster', 'string', 'initialCluster', 'Initial cluster configuration for bootstrapping.'),
  def('initial-cluster-state', 'string', 'initialClusterState', "Initial cluster state ('new' or 'existing')."),
  def('initial-cluster-token', 'string', 'initialClusterToken', 'Initial cluster token for the etcd cluster during bootstrap.'),
  def('advertise-client-urls', 'urls', 'advertiseClientUrls', "List of this member's client URLs to advertise to the public."),
  def('strict-reconfig-check', 'bool', 'strictReconfigCheck', 'Reject reconfiguration requests that would cause quorum loss.'),
  def('pre-vote', 'bool', 'preVote', 'Enable to run an additional Raft election phase.'),
  def('auto-compaction-mode', 'string', 'autoCompactionMode', "Interpret 'auto-compaction-retention' one of: periodic|revision."),
  def('auto-compaction-retention', 'string', 'autoCompactionRetention', 'Auto compaction retention for mvcc key value store. 0 means disable auto compaction.'),
  def('force-new-cluster', 'bool', 'forceNewCluster', 'Force to create a new one member cluster.'),
  def('experimental-initial-corrupt-check', 'bool', 'experimentalInitialCorruptCheck', 'Enable to check data corruption before serving any client/peer traffic.'),
  def('experimental-corrupt-check-time', 'string', 'experimentalCorruptCheckTime', 'Duration of time between cluster corruption check passes.'),
  def('grpc-keepalive-min-time', 'string', 'grpcKeepaliveMinTime', 'Minimum interval duration that a client should wait before pinging server.'),
  def('grpc-keepalive-interval', 'string', 'grpcKeepaliveInterval', 'Frequency duration of server-to-client ping to check if a connection is alive (0 to disable).'),
  def('grpc-keepalive-timeout', 'string', 'grpcKeepaliveTimeout', 'Additional duration of wait before closing a non-responsive connection (0 to disable).'),
  def('auth-token', 'string', 'authToken', "Specify auth token specific options ('simple' or 'jwt,...')."),
  def('bcrypt-cost', 'uint', 'bcryptCost', 'Specify bcrypt algorithm cost factor for auth password hashing.'),
  def('auth-token-ttl', 'uint', 'authTokenTtl', 'The lifetime in seconds of the auth token.'),
  def('logger', 'string', 'logger', "Currently only supports 'zap' for structured logging."),
  def('log-level', 'string', 'logLevel', 'Configures log level. Only supports debug, info, warn, error, panic, or fatal.'),
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
  },
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

export type ParsedArgs =
  | { kind: 'run'; config: EtcdConfig; warnings: string[] }
  | { kind: 'help' }
  | { kind: 'version' };

function parseValue(f: FlagDef, raw: string): string | number | boolean | URL[] {
  switch (f.kind) {
    case 'string':
      return raw;
    case 'uint': {
      if (!/^\d+$/.test(raw.trim())) {
        throw new ConfigError(`invalid value "${raw}" for flag -${f.name}: parse error`);
      }
      return Number(raw.trim());
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
        throw new ConfigError(`invalid value "${raw}" for flag -${f.name}: ${(e as Error).message}`);
      }
  }
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
        const field = TLS_INFO_FIELDS[k.toLowerCase()];
        if (field !== undefined && v !== null && v !== undefined) s[field] = String(v);
      }
      continue;
    }
    const f = BY_NAME.get(FILE_KEYS[key] ?? key);
    if (!f) continue; // etcd ignores keys it does not know
    const str = Array.isArray(raw) ? raw.join(',') : String(raw);
    f.apply(cfg, parseValue(f, str));
  }
  return cfg;
}

export function usage(): string {
  const lines = ['Usage:', '', '  tsetcd [flags]', '    Start a tsetcd server.', '', 'Flags:'];
  lines.push('  --config-file', '      Path to the server configuration file.');
  for (const f of FLAGS) lines.push(`  --${f.name}`, `      ${f.help}`);
  lines.push('  --version', '      Print the version and exit.', '  --help', '      Show this help.');
  return lines.join('\n') + '\n';
}
