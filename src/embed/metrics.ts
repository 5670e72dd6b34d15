// The metrics side of embed: what the client API records into (gRPC call counters and client byte
// totals of the server's registry) and the --listen-metrics-urls listener serving /metrics and
// /health, as etcd's embed.serveMetrics does.

import type http from 'node:http';
import type { GrpcServerMetrics } from '../api/grpc/server.js';
import { fromHttp1 } from '../api/http/exchange.js';
import { serveHealth } from '../api/http/endpoints.js';
import type { EtcdServerApi } from '../api/types.js';
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
  const byKind = new Map<string, { inc(): void }>();
  return {
    method: (type, service, method) => grpc.method(type, service, method),
    bytes,
    clientRequest(kind, apiVersion) {
      const key = `${kind} ${apiVersion}`;
      let c = byKind.get(key);
      if (c === undefined) {
        // Bounded: a client chooses the version string, so unknown values share one series.
        if (byKind.size >= 64) apiVersion = 'unknown';
        c = requests.labels(kind, apiVersion);
        byKind.set(`${kind} ${apiVersion}`, c);
      }
      c.inc();
    },
  };
}

/** Serves /metrics and /health on every URL; resolves once all are bound. */
export async function serveMetricsUrls(server: EtcdServer, urls: readonly URL[], lg: ServerLogger): Promise<MetricsListener> {
  const api: EtcdServerApi = server;
  const health = (req: unknown, res: unknown) =>
    serveHealth(fromHttp1(req as http.IncomingMessage, res as http.ServerResponse), api);
  const l = await startMetricsListener(urls, metricsHandler(server.metrics.registry), health);
  for (const u of l.urls()) lg.info({ address: u.href }, 'serving metrics');
  return l;
}
