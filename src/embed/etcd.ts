// startEtcd (etcd's embed.StartEtcd): from a validated EtcdConfig to a serving member — logger,
// data dir, server bootstrap, peer transport and listener, client listener — and a clean close.
// The order follows etcd's: configure listeners, bootstrap the server, serve peers, start the
// server, serve clients.
import type { ServerLogger, ServerConfig } from '../server/config.js';
import { defaultServerConfig } from '../server/config.js';
import { EtcdServer } from '../server/server.js';
import { PeerServer, Transport } from '../transport/index.js';
import { ApiServer } from '../api/apiServer.js';
import type { EtcdServerApi } from '../api/types.js';
import { configureSecurity, type Security } from './tls.js';
import type { MetricsListener } from '../server/metricsHttp.js';
import { grpcMetricsOf, serveMetricsUrls } from './metrics.js';
import { createEtcdMetrics } from '../server/metrics.js';
import { newLogger } from './logging.js';
import {
  type EtcdConfig,
  effectiveDataDir,
  corruptCheckTimeMs,
  keepaliveOf,
  effectiveInitialCluster,
  ignoredFlagWarnings,
  parseCompactionRetention,
  parseInitialCluster,
  urlString,
} from './config.js';

/** The client-facing listener as embed needs it (the API layer provides it). */
export interface ClientServer {
  stop(): Promise<void>;
  /** The URLs actually bound (ephemeral ports resolved). */
  readonly urls: string[];
}

export type ServeClients = (
  server: EtcdServer,
  cfg: EtcdConfig,
  lg: ServerLogger,
  /** TLS for https client URLs (loaded from cfg.clientSecurity by startEtcd). */
  tls?: Security['client'],
) => Promise<ClientServer>;

export interface Etcd {
  server: EtcdServer;
  peerServers: PeerServer[];
  clients: ClientServer | null;
  logger: ServerLogger;
  /** Stops clients, then the server (in-flight requests finish), then peers. Idempotent. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Serves the client URLs; omitted: no client listener (tests of the server alone). */
  serveClients?: ServeClients;
  logger?: ServerLogger;
  /** Overrides of the derived server config (tests: unsafeNoFsync, requestTimeoutMs ...). */
  server?: Partial<ServerConfig>;
}

/** etcd's floor for --experimental-watch-progress-notify-interval. */
const MIN_WATCH_PROGRESS_MS = 100;

/**
 * The watch progress interval the API serves with: etcd keeps its 10-minute default for a value
 * <= 0 and raises anything below 100 ms to 100 ms (with a warning).
 */
export function watchProgressIntervalMs(cfg: EtcdConfig, lg?: ServerLogger): number {
  const v = cfg.experimentalWatchProgressNotifyIntervalMs;
  if (v <= 0) return 10 * 60_000;
  if (v < MIN_WATCH_PROGRESS_MS) {
    lg?.warn({ 'min-watch-progress-notify-interval': `${MIN_WATCH_PROGRESS_MS}ms` }, 'adjusting watch progress notify interval to minimum period');
    return MIN_WATCH_PROGRESS_MS;
  }
  return v;
}

/** The server configuration derived from the flags (etcd's embed -> config.ServerConfig). */
export function serverConfigFrom(cfg: EtcdConfig, lg: ServerLogger, over: Partial<ServerConfig> = {}): ServerConfig {
  const initial = new Map<string, string[]>();
  for (const [name, urls] of parseInitialCluster(effectiveInitialCluster(cfg))) initial.set(name, urls.map(urlString));
  return defaultServerConfig({
    name: cfg.name,
    dataDir: effectiveDataDir(cfg),
    walDir: cfg.walDir,
    initialCluster: initial,
    initialClusterToken: cfg.initialClusterToken,
    newCluster: cfg.initialClusterState === 'new',
    forceNewCluster: cfg.forceNewCluster,
    peerUrls: cfg.initialAdvertisePeerUrls.map(urlString),
    clientUrls: cfg.advertiseClientUrls.map(urlString),
    snapshotCount: cfg.snapshotCount,
    snapshotCatchUpEntries: cfg.experimentalSnapshotCatchUpEntries,
    heartbeatMs: cfg.heartbeatIntervalMs,
    electionMs: cfg.electionTimeoutMs,
    maxSnapshots: cfg.maxSnapshots,
    maxWals: cfg.maxWals,
    quotaBackendBytes: cfg.quotaBackendBytes,
    maxTxnOps: cfg.maxTxnOps,
    maxRequestBytes: cfg.maxRequestBytes,
    autoCompactionMode: cfg.autoCompactionMode === 'revision' ? 'revision' : 'periodic',
    autoCompactionRetention: parseCompactionRetention(cfg.autoCompactionMode, cfg.autoCompactionRetention),
    preVote: cfg.preVote,
    strictReconfigCheck: cfg.strictReconfigCheck,
    backendBatchIntervalMs: cfg.backendBatchIntervalMs,
    backendBatchLimit: cfg.backendBatchLimit,
    initialCorruptCheck: cfg.experimentalInitialCorruptCheck,
    corruptCheckTimeMs: corruptCheckTimeMs(cfg),
    authToken: cfg.authToken,
    bcryptCost: cfg.bcryptCost,
    authTokenTtlMs: cfg.authTokenTtl * 1000,
    initialElectionTickAdvance: cfg.initialElectionTickAdvance,
    enableLeaseCheckpoint: cfg.experimentalEnableLeaseCheckpoint,
    // etcd's store falls back to its default for 0; a negative limit would never finish a batch.
    compactionBatchLimit: cfg.experimentalCompactionBatchLimit > 0 ? cfg.experimentalCompactionBatchLimit : 1000,
    warningApplyDurationMs: cfg.experimentalWarningApplyDurationMs,
    // --metrics=extensive adds grpc_server_handling_seconds (registered when the metrics are created).
    ...(cfg.metrics === 'extensive' ? { metrics: createEtcdMetrics({ extensive: true }) } : {}),
    logger: lg,
    ...over,
  });
}

/**
 * Serves the client API on every --listen-client-urls address (gRPC and HTTP on one port each).
 * The server satisfies the API layer's EtcdServerApi contract structurally.
 */
export const serveClients: ServeClients = async (server, cfg, lg, tls) => {
  const api: EtcdServerApi = server;
  const started: ApiServer[] = [];
  const urls: string[] = [];
  const grpcMetrics = grpcMetricsOf(server);
  const progressMs = watchProgressIntervalMs(cfg, lg);
  try {
    for (const u of cfg.listenClientUrls) {
      const a = new ApiServer(api, {
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: Number(u.port || 2379),
        maxRequestBytes: cfg.maxRequestBytes,
        maxTxnOps: cfg.maxTxnOps,
        keepalive: keepaliveOf(cfg),
        tls: u.protocol === 'https:' ? tls : undefined,
        metrics: server.metrics.registry,
        grpcMetrics,
        watchProgressNotifyIntervalMs: progressMs,
        maxConcurrentStreams: cfg.maxConcurrentStreams,
        cors: cfg.cors,
        hostWhitelist: cfg.hostWhitelist,
        gateway: cfg.enableGrpcGateway,
        onHostRejected: (host) => lg.warn({ host }, 'rejecting HTTP request to prevent DNS rebinding attacks'),
      });
      await a.start();
      started.push(a);
      urls.push(`${u.protocol}//${u.hostname}:${a.port}`);
    }
  } catch (err) {
    for (const a of started) await a.stop().catch(() => {});
    throw err;
  }
  return {
    urls,
    stop: async () => {
      await Promise.all(started.map((a) => a.stop()));
    },
  };
};

function textLogger(lg: ServerLogger) {
  return {
    debug: (t: string) => lg.debug({}, t),
    info: (t: string) => lg.info({}, t),
    warning: (t: string) => lg.warn({}, t),
    error: (t: string) => lg.error({}, t),
  };
}

export async function startEtcd(cfg: EtcdConfig, opts: StartOptions = {}): Promise<Etcd> {
  const lg = opts.logger ?? newLogger({ level: cfg.logLevel, outputs: cfg.logOutputs, debug: cfg.debug });
  for (const w of ignoredFlagWarnings(cfg)) lg.warn({}, w);
  const scfg = serverConfigFrom(cfg, lg, opts.server);
  lg.info(
    {
      name: cfg.name,
      'data-dir': scfg.dataDir,
      'snapshot-count': scfg.snapshotCount,
      'snapshot-catchup-entries': scfg.snapshotCatchUpEntries,
      'listen-peer-urls': cfg.listenPeerUrls.map(urlString),
      'listen-client-urls': cfg.listenClientUrls.map(urlString),
      'initial-cluster': effectiveInitialCluster(cfg),
      'initial-cluster-state': cfg.initialClusterState,
      'force-new-cluster': scfg.forceNewCluster === true,
      'initial-election-tick-advance': cfg.initialElectionTickAdvance,
      'max-concurrent-streams': cfg.maxConcurrentStreams,
      cors: cfg.cors,
      'host-whitelist': cfg.hostWhitelist,
    },
    'starting an etcd server',
  );
  const security = await configureSecurity(cfg, lg);
  const server = await EtcdServer.create({ ...scfg, peerTls: security.peerClient });
  const peerServers: PeerServer[] = [];
  let clients: ClientServer | null = null;
  let metricsListener: MetricsListener | null = null;
  try {
    const transport = new Transport({
      id: server.id,
      clusterId: server.clusterId,
      handler: server,
      tls: security.peerClient,
      logger: textLogger(lg),
    });
    server.setTransport(transport);
    for (const u of cfg.listenPeerUrls) {
      lg.info({ 'listen-peer-url': urlString(u) }, 'configuring peer listeners');
      const ps = new PeerServer((s, h) => transport.handleStream(s, h), {
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: Number(u.port || 2380),
        tls: u.protocol === 'https:' ? security.peerServer?.options : undefined,
        secure: security.peerServer,
        // Lease renewals and time-to-live lookups forwarded by followers.
        fallback: (s, h) => server.servePeer(s, h),
      });
      await ps.start();
      peerServers.push(ps);
    }
    await server.checkInitialHashKV();
    server.start();
    if (opts.serveClients !== undefined) {
      clients = await opts.serveClients(server, cfg, lg, security.client);
      for (const u of clients.urls) {
        if (u.startsWith('https:')) lg.info({ address: u }, 'serving client traffic securely');
        else lg.info({ address: u }, 'serving client traffic insecurely; this is strongly discouraged!');
      }
    }
    if (cfg.listenMetricsUrls.length > 0) {
      metricsListener = await serveMetricsUrls(server, cfg.listenMetricsUrls, lg, security.metrics);
    }
  } catch (err) {
    if (clients !== null) await clients.stop().catch(() => {});
    await server.stop();
    for (const ps of peerServers) await ps.stop().catch(() => {});
    throw err;
  }
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      lg.info({ name: cfg.name }, 'closing etcd server');
      await metricsListener?.stop().catch(() => {});
      if (clients !== null) await clients.stop().catch(() => {});
      await server.stop();
      for (const ps of peerServers) await ps.stop().catch(() => {});
      lg.info({ name: cfg.name }, 'closed etcd server');
      // Log lines to files and pipes are written asynchronously: hand them over before returning.
      await new Promise<void>((resolve) => {
        const f = (lg as { flush?: (cb: () => void) => void }).flush;
        if (typeof f === 'function') f.call(lg, () => resolve());
        else resolve();
      });
    })();
    return closing;
  };
  return { server, peerServers, clients, logger: lg, close };
}
