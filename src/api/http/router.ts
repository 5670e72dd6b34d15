// Dispatch of the plain HTTP requests on the client URL (HTTP/1.1, or HTTP/2 without the gRPC
// content type), as etcd's client mux: /health, /livez, /readyz, /version, /metrics, the JSON
// gateway under /v3/, and Go's 404 for anything else. As etcd's access controller: on plaintext
// connections a Host outside --host-whitelist is refused with 421 (DNS rebinding, CVE-2018-5702);
// answers carry CORS headers for "*" or an allowed Origin (--cors); an OPTIONS preflight is
// answered with an empty 200.

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

/** The exchange with the CORS headers (for `origin`, default "*") added to whatever it answers. */
export function withCors(x: HttpExchange, origin = '*'): HttpExchange {
  const cors = origin === '*' ? CORS : { ...CORS, 'access-control-allow-origin': origin };
  return {
    ...x,
    reply: (status, headers, body) => x.reply(status, { ...cors, ...headers }, body),
    start: (status, headers) => x.start(status, { ...cors, ...headers }),
  };
}

export interface AccessOptions {
  /** --cors: allowed origins; empty or containing "*" allows every origin. */
  cors?: readonly string[];
  /** --host-whitelist: Host names accepted on plaintext connections; empty or "*" allows all. */
  hostWhitelist?: readonly string[];
  /** A TLS listener: every Host is accepted, as etcd checks it only without TLS. */
  secure?: boolean;
  /** Serve the JSON gateway (etcd's --enable-grpc-gateway, default true); else /v3/ is a 404. */
  gateway?: boolean;
  /** Told of each request refused for its Host (etcd logs it). */
  onHostRejected?: (host: string) => void;
}

/** A set of names, or null when it allows everything (empty or "*"). */
function allowList(xs: readonly string[] | undefined): ReadonlySet<string> | null {
  return xs === undefined || xs.length === 0 || xs.includes('*') ? null : new Set(xs);
}

/** The host part of a Host header as Go's net.SplitHostPort finds it; the whole value otherwise. */
function hostnameOf(h: string): string {
  const m = /^\[([^\]]*)\]:[^:]*$/.exec(h) ?? /^([^:[\]]*):[^:]*$/.exec(h);
  return m === null ? h : m[1]!;
}

/** etcd's answer to an unlisted Host (errCVE20185702). */
function rebindingRefusal(host: string): string {
  return `
etcd received your request, but the Host header was unrecognized.

To fix this, choose one of the following options:
- Enable TLS, then any HTTPS request will be allowed.
- Add the hostname you want to use to the whitelist in settings.
  - e.g. etcd --host-whitelist ${JSON.stringify(host)}

This requirement has been added to help prevent "DNS Rebinding" attacks (CVE-2018-5702).

`;
}

export class HttpRouter {
  private readonly origins: ReadonlySet<string> | null;
  private readonly hosts: ReadonlySet<string> | null;
  private readonly gatewayOn: boolean;
  private readonly onHostRejected: ((host: string) => void) | undefined;

  constructor(
    private readonly server: EtcdServerApi,
    private readonly gateway: Gateway,
    private readonly metrics: MetricsSource | undefined,
    access: AccessOptions = {},
  ) {
    this.origins = allowList(access.cors);
    this.hosts = access.secure === true ? null : allowList(access.hostWhitelist);
    this.gatewayOn = access.gateway !== false;
    this.onHostRejected = access.onHostRejected;
  }

  serve(raw: HttpExchange): void {
    if (this.hosts !== null) {
      const h = raw.headers[':authority' as 'host'] ?? raw.headers.host ?? '';
      const host = hostnameOf(Array.isArray(h) ? (h[0] ?? '') : h);
      if (!this.hosts.has(host)) {
        this.onHostRejected?.(host);
        raw.reply(421, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }, rebindingRefusal(host));
        return;
      }
    }
    let x = raw;
    if (this.origins === null) x = withCors(raw);
    else {
      const origin = raw.headers.origin;
      if (typeof origin === 'string' && this.origins.has(origin)) x = withCors(raw, origin);
    }
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
    else if (this.gatewayOn && this.gateway.handles(path)) p = this.gateway.serve(x, path);
    else p = notFound(x);
    if (p !== undefined) {
      p.catch((e: unknown) => x.reply(500, { 'content-type': 'text/plain; charset=utf-8' }, `${(e as Error).message}\n`));
    }
  }
}
