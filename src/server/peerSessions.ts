// HTTP/2 client sessions to other members' peer URLs, one per origin, reused across requests and
// dialed with the peer TLS options when the URL is https. Used by the server's own peer-to-peer
// requests (lease forwarding, HashKV checks, membership lookups); raft traffic has its own transport.
import http2 from 'node:http2';

export class PeerSessions {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();
  private closed = false;

  constructor(private readonly tls: http2.SecureClientSessionOptions = {}) {}

  isClosed(): boolean {
    return this.closed;
  }

  /** A live session to `origin` (scheme://host:port); errors surface on the requests made on it. */
  get(origin: string): http2.ClientHttp2Session {
    const cached = this.sessions.get(origin);
    if (cached !== undefined && !cached.closed && !cached.destroyed) return cached;
    const s = origin.startsWith('https:') ? http2.connect(origin, this.tls) : http2.connect(origin);
    s.on('error', () => {});
    s.once('close', () => {
      if (this.sessions.get(origin) === s) this.sessions.delete(origin);
    });
    s.unref();
    this.sessions.set(origin, s);
    return s;
  }

  close(): void {
    this.closed = true;
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }
}
