// HTTP/2 client sessions to other members' peer URLs, one per origin, reused across requests and
// dialed with the peer TLS options when the URL is https. Used by the server's own peer-to-peer
// requests (lease forwarding, HashKV checks, membership lookups and promotions); raft traffic has its
// own transport. A PeerSessions made for a few requests (joining a cluster) is closed after them.
import http2 from 'node:http2';

export interface PeerResponse {
  /** The HTTP status; 0 when the request failed (see error). */
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  error: string | undefined;
}

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

  /**
   * One request to `origin`: resolves with the status, response headers and whole body; status 0
   * when the stream broke (reset, refused, connection failure, or cancelled after `timeoutMs`),
   * with `error` saying why; rejects only if the request cannot start.
   */
  request(
    origin: string,
    headers: http2.OutgoingHttpHeaders,
    body: string | Buffer,
    timeoutMs: number,
  ): Promise<PeerResponse> {
    const session = this.get(origin);
    return new Promise((resolve, reject) => {
      let req: http2.ClientHttp2Stream;
      try {
        req = session.request(headers, { endStream: false });
      } catch (err) {
        session.destroy();
        reject(err as Error);
        return;
      }
      let error: string | undefined;
      const timer = setTimeout(() => {
        error ??= 'request timed out';
        req.close(http2.constants.NGHTTP2_CANCEL);
      }, timeoutMs);
      let status = 0;
      let resHeaders: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      req.on('response', (h) => {
        status = Number(h[':status'] ?? 0);
        resHeaders = h;
      });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', (err) => (error ??= err.message)); // reported on close as status 0
      req.on('close', () => {
        clearTimeout(timer);
        const broken = req.rstCode !== undefined && req.rstCode !== http2.constants.NGHTTP2_NO_ERROR;
        resolve({
          status: broken ? 0 : status,
          headers: resHeaders,
          body: Buffer.concat(chunks),
          error: broken ? (error ?? `stream reset (HTTP/2 error ${req.rstCode})`) : undefined,
        });
      });
      req.end(body);
    });
  }

  close(): void {
    this.closed = true;
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }
}
