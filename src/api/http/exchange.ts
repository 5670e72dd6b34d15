// One HTTP request/response, whichever protocol carried it: HTTP/1.1 (node:http) or a non-gRPC
// HTTP/2 stream. The endpoints and the JSON gateway are written against this.

import type http from 'node:http';
import type http2 from 'node:http2';

export interface HttpExchange {
  readonly method: string;
  /** Path and query, e.g. "/health?serializable=true". */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The whole request body; rejects when it exceeds `limit` bytes. */
  body(limit: number): Promise<Buffer>;
  /** A complete response. */
  reply(status: number, headers: Record<string, string>, body: string | Buffer): void;
  /** Starts a streamed response (chunked in HTTP/1.1). */
  start(status: number, headers: Record<string, string>): void;
  write(chunk: string | Buffer): void;
  end(): void;
  /** Called once when the client goes away or the response ends. */
  onClose(cb: () => void): void;
}

export class BodyTooLarge extends Error {}

function collect(src: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    src.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        reject(new BodyTooLarge(`request body larger than ${limit} bytes`));
        src.removeAllListeners('data');
        src.resume();
        return;
      }
      chunks.push(c);
    });
    src.once('end', () => resolve(Buffer.concat(chunks, n)));
    src.once('error', reject);
  });
}

export function fromHttp1(req: http.IncomingMessage, res: http.ServerResponse): HttpExchange {
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: req.headers,
    body: (limit) => collect(req, limit),
    reply(status, headers, body) {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    },
    start(status, headers) {
      res.writeHead(status, headers);
      res.flushHeaders();
    },
    write(chunk) {
      if (!res.destroyed) res.write(chunk);
    },
    end() {
      if (!res.destroyed) res.end();
    },
    onClose(cb) {
      res.once('close', cb);
    },
  };
}

export function fromHttp2(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): HttpExchange {
  const gone = () => stream.destroyed || stream.closed;
  return {
    method: String(headers[':method'] ?? 'GET'),
    url: String(headers[':path'] ?? '/'),
    headers: headers as http.IncomingHttpHeaders,
    body: (limit) => collect(stream, limit),
    reply(status, h, body) {
      if (gone() || stream.headersSent) return;
      stream.respond({ ':status': status, ...h, 'content-length': Buffer.byteLength(body) });
      stream.end(body);
    },
    start(status, h) {
      if (!gone()) stream.respond({ ':status': status, ...h });
    },
    write(chunk) {
      if (!gone()) stream.write(chunk);
    },
    end() {
      if (!gone()) stream.end();
    },
    onClose(cb) {
      stream.once('close', cb);
    },
  };
}

