// The peer listener: an HTTP/2 server (cleartext, or TLS when given) on a member's peer URL that
// hands raft paths to the transport and anything else to an optional fallback (the server's
// /members, /version ...), answering 404 otherwise. With TLS, a TLS front (etcd's tlsListener:
// client certificate and SAN checks) completes the handshake and hands the socket to the server.

import * as http2 from 'node:http2';
import type { AddressInfo, Server } from 'node:net';
import { type SecureListenOptions, SecureListener } from '../pkg/tlsListener.js';
import { http2Settings, MAX_SESSION_MEMORY_MB, SESSION_WINDOW_BYTES } from './options.js';

export type StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;

export interface PeerServerOptions {
  /** Listen address (default 127.0.0.1) and port (default 0: ephemeral). */
  host?: string;
  port?: number;
  /** Serve TLS (h2) instead of cleartext HTTP/2. */
  tls?: http2.SecureServerOptions;
  /** The rest of the TLS front's settings: live certificate source, rejection reports, SAN check. */
  secure?: Omit<SecureListenOptions, 'options'>;
  /** Serves requests the transport does not; returns false to get a 404. */
  fallback?: StreamHandler;
}

export class PeerServer {
  private readonly server: http2.Http2Server;
  /** What listens: the HTTP/2 server itself, or the TLS front handing sockets to it. */
  private readonly listener: Server;
  private readonly secure: SecureListener | null = null;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private listening = false;

  constructor(
    private readonly handle: StreamHandler,
    private readonly opts: PeerServerOptions = {},
  ) {
    const common = { settings: http2Settings, maxSessionMemory: MAX_SESSION_MEMORY_MB };
    this.server = http2.createServer(common);
    this.listener = this.server;
    if (opts.tls) {
      const tlsOpts = { ALPNProtocols: ['h2'], ...opts.tls };
      this.secure = new SecureListener({ ...opts.secure, options: tlsOpts }, (sock) =>
        this.server.emit('connection', sock),
      );
      this.listener = this.secure.server;
    }
    this.server.on('session', (s: http2.ServerHttp2Session) => {
      this.sessions.add(s);
      s.on('error', () => {}); // a peer vanishing mid-session is routine; its streams see it
      s.once('close', () => this.sessions.delete(s));
      s.setLocalWindowSize(SESSION_WINDOW_BYTES);
    });
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
  }

  /** Listens; resolves once bound. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.listener.once('error', onError);
      this.listener.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => {
        this.listener.off('error', onError);
        this.listening = true;
        resolve();
      });
    });
  }

  get port(): number {
    return (this.listener.address() as AddressInfo).port;
  }

  /** The URL peers dial to reach this server. */
  get url(): string {
    const a = this.listener.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${this.opts.tls ? 'https' : 'http'}://${host}:${a.port}`;
  }

  /** Stops listening and drops every session; resolves when the listener is closed. */
  stop(): Promise<void> {
    if (!this.listening) return Promise.resolve();
    this.listening = false;
    return new Promise((resolve) => {
      this.listener.close(() => resolve());
      this.secure?.dropHandshaking();
      for (const s of this.sessions) s.destroy();
      this.sessions.clear();
    });
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    if (this.handle(stream, headers)) return;
    if (this.opts.fallback?.(stream, headers)) return;
    stream.on('error', () => {});
    stream.respond({ ':status': 404, 'content-type': 'text/plain; charset=utf-8' });
    stream.end('404 page not found\n');
  }
}
