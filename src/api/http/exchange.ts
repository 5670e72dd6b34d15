// One HTTP request/response, whichever protocol carried it: HTTP/1.1 (node:http) or a non-gRPC
// HTTP/2 stream (our HTTP/2 connection's). The endpoints and the JSON gateway are written against this.

import type http from 'node:http';
import { type H2Stream, headerBlock } from '../grpc/h2Connection.js';

export interface HttpExchange {
  readonly method: string;
  /** Path and query, e.g. "/health?serializable=true". */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The whole request body; rejects when it exceeds `limit` bytes. */
  body(limit: number): Promise<Buffer>;
  /** The request body as it arrives (for streaming calls); `onEnd` also when the client goes away. */
  bodyStream(onChunk: (chunk: Buffer) => void, onEnd: () => void): void;
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
    bodyStream(onChunk, onEnd) {
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        onEnd();
      };
      req.on('data', onChunk);
      req.once('end', end);
      req.once('error', end);
    },
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

export function fromHttp2(stream: H2Stream): HttpExchange {
  // Buffer the body from the start: DATA frames may follow the headers in the same read, before
  // the endpoint asks for it.
  let chunks: Buffer[] = [];
  let size = 0;
  let ended = stream.remoteEnded;
  let waiter: (() => void) | null = null;
  // A streaming consumer, once it asks: buffered chunks go to it, then each new one.
  let consumer: ((c: Buffer) => void) | null = null;
  stream.onData = (c) => {
    const own = Buffer.from(c);
    if (consumer !== null) consumer(own);
    else {
      size += c.length;
      chunks.push(own);
    }
  };
  stream.onEnd = () => {
    ended = true;
    waiter?.();
  };
  const closers: (() => void)[] = [];
  stream.onClose = () => {
    ended = true;
    waiter?.();
    for (const cb of closers.splice(0)) cb();
  };
  const respond = (status: number, h: Record<string, string>, endStream: boolean): void => {
    stream.respond(headerBlock([[':status', String(status)], ...Object.entries(h).map(([k, v]) => [k.toLowerCase(), v] as const)]), endStream);
  };
  return {
    method: stream.headers[':method'] ?? 'GET',
    url: stream.headers[':path'] ?? '/',
    headers: stream.headers as http.IncomingHttpHeaders,
    body: (limit) =>
      new Promise((resolve, reject) => {
        const done = (): void => {
          if (size > limit) reject(new BodyTooLarge(`request body larger than ${limit} bytes`));
          else resolve(Buffer.concat(chunks, size));
        };
        if (ended) done();
        else waiter = done;
      }),
    bodyStream(onChunk, onEnd) {
      const buffered = chunks;
      chunks = [];
      consumer = onChunk;
      for (const c of buffered) onChunk(c);
      let finished = false;
      const done = (): void => {
        if (finished) return;
        finished = true;
        onEnd();
      };
      if (ended) done();
      else waiter = done;
    },
    reply(status, h, body) {
      if (stream.closed || stream.headersSent) return;
      const b = typeof body === 'string' ? Buffer.from(body) : body;
      respond(status, { ...h, 'content-length': String(b.length) }, b.length === 0);
      if (b.length > 0) {
        stream.write(b);
        stream.end();
      }
    },
    start(status, h) {
      if (!stream.closed) respond(status, h, false);
    },
    write(chunk) {
      if (!stream.closed) stream.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    },
    end() {
      if (!stream.closed) stream.end();
    },
    onClose(cb) {
      if (stream.closed) queueMicrotask(cb);
      else closers.push(cb);
    },
  };
}
