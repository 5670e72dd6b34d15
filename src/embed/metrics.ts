// The metrics side of embed: what the client API records into (gRPC call counters and client byte
// totals of the server's registry) and the --listen-metrics-urls listener serving /metrics and
// /health, as etcd's embed.serveMetrics does.

import type http from 'node:http';
import type { GrpcServerMetrics } from '../api/grpc/server.js';
import { fromHttp1 } from '../api/http/exchange.js';
import { serveHealth } from '../api/http/endpoints.js';
import type { EtcdServerApi } from '../api/types.js';
import type { SecureListenOptions } from '../pkg/tlsListener.js';
import type { ServerLogger } from '../server/config.js';
import { metricsHandler, startMetricsListener, type MetricsListener } from '../server/metricsHttp.js';
import type { EtcdServer } from '../server/server.js';

/**
 * The gRPC metrics every client listener of `server` shares: per-method counters and one byte
 * total, reported as etcd_network_client_grpc_{received,sent}_bytes_total.
 */
export function grpcMetricsOf(server: EtcdServer): GrpcServerMetrics {
  const bytes = { received: 0, sent: 0 };
  const grpc = server.metrics.grpc;
  server.metrics.setCollectors({
    clientGrpcReceivedBytes: () => bytes.received,
    clientGrpcSentBytes: () => bytes.sent,
  });
  const requests = server.metrics.server.clientRequests;
  // Counted in plain numbers and added to the prom-client counter once per event-loop turn: a
  // labelled inc() hashes its labels, too dear to pay per request. A scrape is a later turn.
  type Pending = { c: { inc(n?: number): void }; n: number };
  const byKind = { unary: new Map<string, Pending>(), stream: new Map<string, Pending>() };
  let series = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    for (const m of [byKind.unary, byKind.stream]) {
      for (const p of m.values()) {
        if (p.n !== 0) p.c.inc(p.n);
        p.n = 0;
      }
    }
  };
  return {
    method: (type, service, method) => grpc.method(type, service, method),
    bytes,
    clientRequest(kind, apiVersion) {
      const m = byKind[kind];
      let p = m.get(apiVersion);
      if (p === undefined) {
        // Bounded: a client chooses the version string, so unknown values share one series.
        const v = series >= 64 ? 'unknown' : apiVersion;
        p = m.get(v);
        if (p === undefined) {
          p = { c: requests.labels(kind, v), n: 0 };
          m.set(v, p);
          series++;
        }
      }
      p.n++;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}

/** Serves /metrics and /health on every URL (https ones with `tls`); resolves once all are bound. */
export async function serveMetricsUrls(
  server: EtcdServer,
  urls: readonly URL[],
  lg: ServerLogger,
  tls?: SecureListenOptions,
): Promise<MetricsListener> {
  const api: EtcdServerApi = server;
  const health = (req: unknown, res: unknown) =>
    serveHealth(fromHttp1(req as http.IncomingMessage, res as http.ServerResponse), api);
  const l = await startMetricsListener(urls, metricsHandler(server.metrics.registry), health, {
    tls: tls?.options,
    secure: tls,
  });
  for (const u of l.urls()) lg.info({ address: u.href }, 'serving metrics');
  return l;
}
