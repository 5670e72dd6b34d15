// HTTP side of metrics: a request handler answering GET /metrics from a registry in the Prometheus
// text format (gzip when the scraper accepts it, as Go's promhttp does), and the listener behind
// --listen-metrics-urls, which serves /metrics and, when given, /health on each URL. https URLs
// go through the same TLS front as the client port (etcd serves them with the client TLS info).

import http from 'node:http';
import type net from 'node:net';
import type tls from 'node:tls';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { type SecureListenOptions, SecureListener } from '../pkg/tlsListener.js';

const gzip = promisify(zlib.gzip);

/** What /metrics needs of a prom-client Registry. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** The parts of a request a handler reads (node:http's and node:http2's compat objects both fit). */
export interface MetricsRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** The parts of a response a handler writes. */
export interface MetricsResponse {
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body?: string | Uint8Array): unknown;
}

export type MetricsHandler = (req: MetricsRequest, res: MetricsResponse) => void | Promise<void>;

const TEXT = 'text/plain; charset=utf-8';

function notFound(res: MetricsResponse): void {
  const body = '404 page not found\n';
  res.writeHead(404, { 'content-type': TEXT, 'x-content-type-options': 'nosniff', 'content-length': body.length });
  res.end(body);
}

function acceptsGzip(req: MetricsRequest): boolean {
  const v = req.headers['accept-encoding'];
  const s = Array.isArray(v) ? v.join(',') : v;
  return s !== undefined && /(^|[\s,])gzip\b/i.test(s);
}

/**
 * Serves the registry's exposition text (any method, as promhttp does; HEAD gets headers only).
 * Use it for /metrics only; routing is the caller's.
 */
export function metricsHandler(source: MetricsSource): MetricsHandler {
  return async (req, res) => {
    let text: string;
    try {
      text = await source.metrics();
    } catch (e) {
      const body = `An error has occurred while serving metrics:\n\n${(e as Error).message}\n`;
      res.writeHead(500, { 'content-type': TEXT, 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const headers: Record<string, string | number> = { 'content-type': source.contentType };
    let body: Uint8Array = Buffer.from(text);
    if (acceptsGzip(req)) {
      body = await gzip(body);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

export interface MetricsListenerOptions {
  /** Certificate and key for https:// URLs (etcd uses the client TLS settings). */
  tls?: tls.SecureContextOptions & tls.TlsOptions;
  /** Called for every refused TLS connection (etcd logs "rejected connection"). */
  /** The rest of the TLS front's settings: live certificate source, rejection reports. */
  secure?: Omit<SecureListenOptions, 'options'>;
}

interface Bound {
  url: URL;
  /** Serves HTTP/1.1 on the sockets it is given. */
  server: http.Server;
  /** https: the TLS front that listens and hands over verified sockets. */
  secure?: SecureListener;
}

/** One HTTP(S) server per --listen-metrics-urls entry, serving /metrics and /health. */
export class MetricsListener {
  private readonly servers: Bound[] = [];
  private readonly bound: URL[] = [];
  private started = false;

  constructor(
    urls: readonly (string | URL)[],
    private readonly handler: MetricsHandler,
    private readonly healthHandler?: MetricsHandler,
    opts: MetricsListenerOptions = {},
  ) {
    for (const u of urls) {
      const url = typeof u === 'string' ? new URL(u) : u;
      const route = (req: http.IncomingMessage, res: http.ServerResponse) => this.route(req, res);
      const server = http.createServer(route);
      if (url.protocol === 'http:') this.servers.push({ url, server });
      else if (url.protocol === 'https:') {
        if (opts.tls === undefined) throw new Error(`TLS certificate and key are required to serve metrics on ${url.href}`);
        // An HTTP/1.1 server behind TLS: never offer h2 here, whatever the given options say.
        const options = { ...opts.tls, ALPNProtocols: ['http/1.1'] };
        const secure = new SecureListener({ ...opts.secure, options }, (s) => server.emit('connection', s));
        this.servers.push({ url, server, secure });
      } else throw new Error(`unsupported metrics URL scheme ${JSON.stringify(url.protocol)} in ${url.href} (want http or https)`);
    }
  }

  /** Binds every URL; on a failure closes what was bound and rejects. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      for (const { url, server, secure } of this.servers) {
        const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
        const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
        const listening: net.Server = secure?.server ?? server;
        await new Promise<void>((resolve, reject) => {
          listening.once('error', reject);
          listening.listen(port, host, () => {
            listening.off('error', reject);
            resolve();
          });
        });
        const addr = listening.address() as net.AddressInfo;
        const b = new URL(url.href);
        b.port = String(addr.port);
        this.bound.push(b);
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** The URLs actually bound (port 0 replaced by the chosen port), in start order. */
  urls(): URL[] {
    return this.bound.slice();
  }

  /** Stops listening and drops open connections (scrapers keep them alive between scrapes). */
  async stop(): Promise<void> {
    await Promise.all(
      this.servers.map(({ server, secure }) => {
        if (secure === undefined) return closeServer(server);
        secure.dropHandshaking();
        server.closeAllConnections();
        return closeServer(secure.server);
      }),
    );
    this.bound.length = 0;
    this.started = false;
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse): void {
    const q = req.url?.indexOf('?') ?? -1;
    const path = q < 0 ? req.url : req.url!.slice(0, q);
    const h = path === '/metrics' ? this.handler : path === '/health' ? this.healthHandler : undefined;
    if (h === undefined) return notFound(res);
    Promise.resolve()
      .then(() => h(req, res))
      .catch((e: Error) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': TEXT });
          res.end(`${e.message}\n`);
        } else res.destroy(e);
      });
  }
}

function closeServer(server: http.Server | net.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    if (server instanceof http.Server) server.closeAllConnections();
  });
}

/** Creates and starts a metrics listener on `urls`; stop it with `stop()`. */
export async function startMetricsListener(
  urls: readonly (string | URL)[],
  handler: MetricsHandler,
  healthHandler?: MetricsHandler,
  opts?: MetricsListenerOptions,
): Promise<MetricsListener> {
  const l = new MetricsListener(urls, handler, healthHandler, opts);
  await l.start();
  return l;
}
