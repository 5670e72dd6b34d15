// Dispatch of the plain HTTP requests on the client URL (HTTP/1.1, or HTTP/2 without the gRPC
// content type), as etcd's client mux: /health, /livez, /readyz, /version, /metrics, the JSON
// gateway under /v3/, and Go's 404 for anything else. Every answer carries etcd's CORS headers
// (its default --cors is "*"), and an OPTIONS preflight is answered with an empty 200.

import { type MetricsSource, notFound, serveMetrics, serveVersion } from './endpoints.js';
import type { HttpExchange } from './exchange.js';
import type { Gateway } from './gateway.js';
import { serveProbe } from './health.js';
import type { EtcdServerApi } from '../types.js';

const CORS: Record<string, string> = {
  'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'accept, content-type, authorization',
};

/** The exchange with the CORS headers added to whatever it answers. */
export function withCors(x: HttpExchange): HttpExchange {
  return {
    ...x,
    reply: (status, headers, body) => x.reply(status, { ...CORS, ...headers }, body),
    start: (status, headers) => x.start(status, { ...CORS, ...headers }),
  };
}

export class HttpRouter {
  constructor(
    private readonly server: EtcdServerApi,
    private readonly gateway: Gateway,
    private readonly metrics: MetricsSource | undefined,
  ) {}

  serve(raw: HttpExchange): void {
    const x = withCors(raw);
    if (x.method === 'OPTIONS') {
      x.reply(200, {}, '');
      return;
    }
    const q = x.url.indexOf('?');
    const path = q < 0 ? x.url : x.url.slice(0, q);
    let p: Promise<void> | void;
    if (path === '/health' || path === '/livez' || path === '/readyz') p = serveProbe(x, this.server, path);
    else if (path === '/version') p = serveVersion(x, this.server);
    else if (path === '/metrics') p = serveMetrics(x, this.metrics);
    else if (this.gateway.handles(path)) p = this.gateway.serve(x, path);
    else p = notFound(x);
    if (p !== undefined) {
      p.catch((e: unknown) => x.reply(500, { 'content-type': 'text/plain; charset=utf-8' }, `${(e as Error).message}\n`));
    }
  }
}
