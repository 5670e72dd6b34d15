// The client-facing server on one client URL: gRPC (KV, Watch, Lease, Maintenance, Cluster, Auth,
// Lock, Election, grpc.health.v1.Health) over HTTP/2 and /health, /version, /metrics and the JSON
// gateway over HTTP/1.1, on the same port.
//
//   const api = new ApiServer(etcdServer, { host: '127.0.0.1', port: 2379 });
//   await api.start();   // api.port is the bound port
//   ...
//   await api.stop();    // ends streams, closes connections
//
// Each service file maps protobuf requests to EtcdServerApi calls; this file only wires them to
// the gRPC server and the gateway by method name.

import http from 'node:http';
import type { KeepaliveOptions } from './grpc/h2Connection.js';
import { GrpcServer, type GrpcServerMetrics } from './grpc/server.js';
import { fromHttp1, fromHttp2, type HttpExchange } from './http/exchange.js';
import type { MetricsSource } from './http/endpoints.js';
import { Gateway } from './http/gateway.js';
import { HttpRouter } from './http/router.js';
import { registerConcurrencyServices } from './concurrency/register.js';
import { ClientListener } from './listener.js';
import type { MessageCodec } from './proto/codec.js';
import { codecOf, serviceMethods, type MethodInfo } from './proto/schema.js';
import type { EtcdServerApi } from './types.js';
import type { SecureListenOptions } from '../pkg/tlsListener.js';
import { authHandlers } from './v3rpc/auth.js';
import { clusterHandlers } from './v3rpc/cluster.js';
import type { StreamHandlers, UnaryHandlers } from './v3rpc/handlers.js';
import { kvHandlers } from './v3rpc/kv.js';
import { HEALTH_SERVICE, HealthService, healthProto } from './v3rpc/health.js';
import { interceptStream, interceptUnary, LeaderMonitor } from './v3rpc/interceptors.js';
import { leaseHandlers, leaseStreamHandlers } from './v3rpc/lease.js';
import { maintenanceHandlers, maintenanceStreamHandlers } from './v3rpc/maintenance.js';
import { watchStreamHandlers } from './v3rpc/watch.js';

/** gRPC's allowance on top of --max-request-bytes for framing and metadata (etcd's grpcOverheadBytes). */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

export interface ApiServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** etcd --max-request-bytes (default 1.5 MiB). */
  maxRequestBytes?: number;
  /** etcd --max-txn-ops (default 128). */
  maxTxnOps?: number;
  /** etcd --experimental-watch-progress-notify-interval (default 10 minutes). */
  watchProgressNotifyIntervalMs?: number;
  /** Served at /metrics (e.g. a prom-client Registry). */
  metrics?: MetricsSource;
  /** Where gRPC calls are counted (the server's EtcdMetrics.grpc plus byte totals). */
  grpcMetrics?: GrpcServerMetrics;
  /** How long stop() lets in-flight unary calls finish before cutting connections. */
  stopGraceMs?: number;
  /** Serve TLS (an https client URL). */
  tls?: SecureListenOptions;
  /** gRPC keepalive (etcd's --grpc-keepalive-interval/-timeout/-min-time). */
  keepalive?: KeepaliveOptions;
  /** etcd --max-concurrent-streams: streams per client connection (default unlimited). */
  maxConcurrentStreams?: number;
  /** etcd --cors: origins the HTTP endpoints allow (default ["*"]: any). */
  cors?: readonly string[];
  /** etcd --host-whitelist: Host names accepted over plaintext HTTP (default ["*"]: any). */
  hostWhitelist?: readonly string[];
  /** etcd --enable-grpc-gateway: serve the JSON gateway under /v3/ (default true). */
  gateway?: boolean;
  /** Told of each HTTP request refused for its Host (--host-whitelist). */
  onHostRejected?: (host: string) => void;
}

export class ApiServer {
  private readonly grpc: GrpcServer;
  private readonly gateway: Gateway;
  private readonly router: HttpRouter;
  private readonly h1: http.Server;
  private readonly listener: ClientListener;
  private readonly opts: Required<
    Omit<ApiServerOptions, 'metrics' | 'grpcMetrics' | 'tls' | 'keepalive' | 'maxConcurrentStreams' | 'cors' | 'hostWhitelist' | 'gateway' | 'onHostRejected'>
  > & { metrics?: MetricsSource };
  /** Cancels require-leader streams once the member has lost its leader (undefined: no leader info). */
  private readonly leaderMonitor: LeaderMonitor | undefined;
  /** The gRPC health service's statuses ("" SERVING, as etcd sets it). */
  readonly health = new HealthService();
  private boundPort = 0;

  constructor(
    private readonly server: EtcdServerApi,
    opts: ApiServerOptions = {},
  ) {
    this.opts = {
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 2379,
      maxRequestBytes: opts.maxRequestBytes ?? 1.5 * 1024 * 1024,
      maxTxnOps: opts.maxTxnOps ?? 128,
      watchProgressNotifyIntervalMs: opts.watchProgressNotifyIntervalMs ?? 10 * 60 * 1000,
      stopGraceMs: opts.stopGraceMs ?? 1000,
      metrics: opts.metrics,
    };
    const maxReceive = this.opts.maxRequestBytes + GRPC_OVERHEAD_BYTES;
    this.grpc = new GrpcServer({
      maxReceiveBytes: maxReceive,
      fallback: (stream) => this.serveHttp(fromHttp2(stream)),
      metrics: opts.grpcMetrics,
      keepalive: opts.keepalive,
      maxConcurrentStreams: opts.maxConcurrentStreams,
    });
    this.gateway = new Gateway(maxReceive);
    this.router = new HttpRouter(server, this.gateway, this.opts.metrics, {
      cors: opts.cors,
      hostWhitelist: opts.hostWhitelist,
      secure: opts.tls !== undefined,
      gateway: opts.gateway,
      onHostRejected: opts.onHostRejected,
    });
    this.h1 = http.createServer((req, res) => this.serveHttp(fromHttp1(req, res)));
    this.listener = new ClientListener((socket) => this.grpc.handleConnection(socket), this.h1, opts.tls);
    this.leaderMonitor = LeaderMonitor.for(server);
    this.registerServices();
  }

  /** The bound port (after start). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    this.boundPort = await this.listener.start(this.opts.host, this.opts.port);
    this.leaderMonitor?.start();
  }

  async stop(): Promise<void> {
    this.leaderMonitor?.stop();
    // The listener's close completes only once every connection is gone, HTTP/2 ones included.
    const closed = this.listener.stop();
    this.h1.closeAllConnections();
    await this.grpc.close(this.opts.stopGraceMs);
    await closed;
  }

  private registerServices(): void {
    const s = this.server;
    const o = this.opts;
    const unary: Record<string, UnaryHandlers> = {
      'etcdserverpb.KV': kvHandlers(s, { maxTxnOps: o.maxTxnOps, maxRequestBytes: o.maxRequestBytes }),
      'etcdserverpb.Lease': leaseHandlers(s, o.maxRequestBytes),
      'etcdserverpb.Maintenance': maintenanceHandlers(s),
      'etcdserverpb.Cluster': clusterHandlers(s),
    };
    if (s.auth !== undefined) unary['etcdserverpb.Auth'] = authHandlers(s, s.auth);
    const streams: Record<string, StreamHandlers> = {
      'etcdserverpb.Watch': watchStreamHandlers(s, {
        maxResponseBytes: o.maxRequestBytes + GRPC_OVERHEAD_BYTES,
        progressIntervalMs: o.watchProgressNotifyIntervalMs,
      }),
      'etcdserverpb.Lease': leaseStreamHandlers(s),
      'etcdserverpb.Maintenance': maintenanceStreamHandlers(s),
    };
    for (const service of new Set([...Object.keys(unary), ...Object.keys(streams)])) {
      this.registerService(serviceMethods(service), codecOf, unary[service], streams[service]);
    }
    // etcd registers grpc-go's health server on the same server, behind the same interceptors.
    const hp = healthProto();
    this.registerService(hp.serviceMethods(HEALTH_SERVICE), hp.codecOf, this.health.unaryHandlers(), this.health.streamHandlers());
    // Lock and Election sit behind the same interceptors as etcd's services.
    registerConcurrencyServices(this.grpc, this.gateway, s, (h, unary) => interceptStream(s, unary ? undefined : this.leaderMonitor, h));
  }

  /** Adds a service's handlers to gRPC (and the gateway where the proto routes them), behind the
   *  learner and require-leader checks (v3rpc/interceptors.ts). */
  private registerService(
    methods: MethodInfo[],
    codec: (typeName: string) => MessageCodec<unknown>,
    unary: UnaryHandlers | undefined,
    streams: StreamHandlers | undefined,
  ): void {
    const s = this.server;
    for (const m of methods) {
      const req = codec(m.requestType);
      const res = codec(m.responseType);
      const uh = unary?.[m.name];
      const u = uh && interceptUnary(s, m.name, uh);
      const sh = streams?.[m.name];
      const st = sh && interceptStream(s, this.leaderMonitor, sh);
      if (u !== undefined && !m.requestStream && !m.responseStream) {
        this.grpc.addUnary(m.path, req, res, u);
        if (m.httpPost !== undefined) this.gateway.addUnary(m.httpPost, req, res, u);
      } else if (st !== undefined && (m.requestStream || m.responseStream)) {
        const type = !m.requestStream ? 'server_stream' : m.responseStream ? 'bidi_stream' : 'client_stream';
        this.grpc.addStream(m.path, req, res, st, type);
        if (m.httpPost !== undefined) this.gateway.addStream(m.httpPost, req, res, st);
      }
    }
  }

  private serveHttp(x: HttpExchange): void {
    this.router.serve(x);
  }
}
