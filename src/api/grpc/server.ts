// A small gRPC server on node:http2 (cleartext, prior knowledge): unary and streaming calls,
// length-prefixed messages, grpc-status/grpc-message trailers, metadata passed to handlers and
// cancellation when the client resets the stream. Requests that are not gRPC (no application/grpc
// content type) go to a fallback, so HTTP/2 clients can reach /health on the same port.
//
// Responses written in one tick are corked together, so a burst of stream messages leaves in
// one socket write.

import http2 from 'node:http2';
import type { GrpcMethodMetrics, GrpcType } from '../../server/metrics.js';
import { Code, GrpcError, toGrpcError } from '../errors.js';
import type { MessageCodec } from '../proto/codec.js';
import type { RequestContext } from '../types.js';
import { Deframer } from './deframer.js';

export interface UnaryCall {
  readonly headers: http2.IncomingHttpHeaders;
  readonly ctx: RequestContext;
  /** Encoded size of the request message (etcd checks it against --max-request-bytes). */
  readonly messageLength: number;
}

export type UnaryHandler<Req, Res> = (req: Req, call: UnaryCall) => Promise<Res>;

/** A streaming call as its handler sees it (server-streaming calls receive exactly one message). */
export interface StreamCall<Req, Res> {
  readonly headers: http2.IncomingHttpHeaders;
  readonly ctx: RequestContext;
  /** Each request message, in order. */
  onMessage: (req: Req) => void;
  /** The client finished sending (the call stays open until end() or cancel). */
  onHalfClose: () => void;
  /** The stream went away before end(): client reset, connection loss or server stop. */
  onCancel: () => void;
  /** Sends a response; false once the call has ended. */
  write(res: Res): boolean;
  /** Resolves once written responses have left the buffer (flow control for bulk streams). */
  drained?(): Promise<void>;
  /**
   * True while written responses wait for a slow client beyond the stream's write budget: stop
   * producing until drained() resolves, or they would pile up in memory.
   */
  blocked?(): boolean;
  /** Finishes the call with OK or the given error; later calls are ignored. */
  end(err?: GrpcError): void;
  readonly ended: boolean;
}

export type StreamHandler<Req, Res> = (call: StreamCall<Req, Res>) => void;

interface Method {
  kind: 'unary' | 'stream';
  req: MessageCodec<unknown>;
  res: MessageCodec<unknown>;
  unary?: UnaryHandler<unknown, unknown>;
  stream?: StreamHandler<unknown, unknown>;
  /** This method's counters; undefined without metrics. */
  mm?: GrpcMethodMetrics;
}

/** What the server records (go-grpc-prometheus's server metrics and etcd's client byte counts). */
export interface GrpcServerMetrics {
  method(type: GrpcType, service: string, method: string): GrpcMethodMetrics;
  /** Bytes of client requests and responses; one object may be shared by several servers. */
  readonly bytes: { received: number; sent: number };
  /** One call began; `apiVersion` is the client-api-version metadata ('unknown' if absent). */
  clientRequest?(kind: 'unary' | 'stream', apiVersion: string): void;
}

function apiVersionOf(headers: http2.IncomingHttpHeaders): string {
  const v = headers['client-api-version'];
  return typeof v === 'string' ? v : 'unknown';
}

export interface GrpcServerOptions {
  /** Largest request message accepted (etcd: --max-request-bytes + 512 KiB). */
  maxReceiveBytes: number;
  /** Non-gRPC HTTP/2 requests. */
  fallback?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;
  metrics?: GrpcServerMetrics;
}

const GRPC_CONTENT_TYPE = 'application/grpc';
const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': GRPC_CONTENT_TYPE,
  'grpc-accept-encoding': 'identity',
};
const OK_TRAILERS = { 'grpc-status': '0' };
// sendDate is honoured by node's respond() though absent from its typings: gRPC needs no Date.
type RespondOptions = http2.ServerStreamResponseOptions & { sendDate?: boolean };
const RESPOND_STREAMING: RespondOptions = { waitForTrailers: true, sendDate: false };
const RESPOND_END: RespondOptions = { endStream: true, sendDate: false };
const WINDOW_SIZE = 4 << 20;
/** Bytes a stream call may hold for a client that is not reading before blocked() says stop. */
const STREAM_WRITE_BUDGET = 256 << 10;

/** grpc-message is percent-encoded: bytes outside printable ASCII, and '%'. */
export function encodeGrpcMessage(msg: string): string {
  if (!/[^\x20-\x24\x26-\x7e]/.test(msg)) return msg;
  let out = '';
  for (const b of Buffer.from(msg, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function statusHeaders(err: GrpcError): http2.OutgoingHttpHeaders {
  return {
    ...RESPONSE_HEADERS,
    'grpc-status': String(err.code),
    'grpc-message': encodeGrpcMessage(err.message),
  };
}

/** The auth token: `token` metadata, or `authorization` as etcd also accepts (gateway clients). */
export function contextOf(headers: http2.IncomingHttpHeaders): RequestContext {
  const t = headers['token'] ?? headers['authorization'];
  return { token: typeof t === 'string' ? t : undefined };
}

function noop(): void {}

/**
 * Once the status is sent the call is over: if the client is still sending, reset the stream
 * with NO_ERROR as grpc-go does, so a half-open stream does not linger (and block shutdown).
 */
function finish(stream: http2.ServerHttp2Stream): void {
  if (stream.readableEnded) return; // the usual case: the client finished sending first
  setImmediate(() => {
    if (!stream.destroyed && !stream.closed && !stream.readableEnded) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  });
}

function sendTrailers(stream: http2.ServerHttp2Stream, trailers: http2.OutgoingHttpHeaders): void {
  stream.sendTrailers(trailers);
  finish(stream);
}

function respondStatus(stream: http2.ServerHttp2Stream, err: GrpcError): void {
  stream.respond(statusHeaders(err), RESPOND_END);
  finish(stream);
}

export class GrpcServer {
  readonly http2: http2.Http2Server;
  private readonly methods = new Map<string, Method>();
  private readonly services = new Set<string>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly streamCalls = new Set<ServerStreamCall>();
  private stopping = false;

  constructor(private readonly opts: GrpcServerOptions) {
    this.http2 = http2.createServer({
      maxSessionMemory: 64,
      settings: { initialWindowSize: WINDOW_SIZE, maxHeaderListSize: 64 << 10 },
    });
    this.http2.on('session', (s) => this.trackSession(s));
    this.http2.on('stream', (stream, headers) => this.dispatch(stream, headers));
    this.http2.on('sessionError', noop);
  }

  addUnary<Req, Res>(path: string, req: MessageCodec<Req>, res: MessageCodec<Res>, h: UnaryHandler<Req, Res>): void {
    this.add(path, { kind: 'unary', req, res, unary: h as UnaryHandler<unknown, unknown> } as Method);
  }

  /** `type` only labels the metrics (the call is driven the same way). */
  addStream<Req, Res>(
    path: string,
    req: MessageCodec<Req>,
    res: MessageCodec<Res>,
    h: StreamHandler<Req, Res>,
    type: Exclude<GrpcType, 'unary'> = 'bidi_stream',
  ): void {
    this.add(path, { kind: 'stream', req, res, stream: h as StreamHandler<unknown, unknown> } as Method, type);
  }

  private add(path: string, m: Method, type: GrpcType = 'unary'): void {
    const slash = path.lastIndexOf('/');
    const service = path.slice(1, slash);
    this.services.add(service);
    // Created at registration so every method reports zeros before its first call, as etcd's do.
    if (this.opts.metrics !== undefined) m.mm = this.opts.metrics.method(type, service, path.slice(slash + 1));
    this.methods.set(path, m);
  }

  /** Ends every streaming call, closes sessions gracefully, destroys what remains after graceMs. */
  async close(graceMs = 1000): Promise<void> {
    this.stopping = true;
    for (const c of [...this.streamCalls]) c.abort(new GrpcError(Code.UNAVAILABLE, 'grpc: the server has been stopped'));
    const sessions = [...this.sessions];
    if (sessions.length === 0) return;
    await new Promise<void>((resolve) => {
      let left = sessions.length;
      const timer = setTimeout(() => {
        for (const s of sessions) if (!s.destroyed) s.destroy();
      }, graceMs);
      const done = () => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      for (const s of sessions) {
        if (s.destroyed || s.closed) {
          s.destroy();
          done();
          continue;
        }
        s.once('close', done);
        s.close();
      }
    });
  }

  private trackSession(s: http2.ServerHttp2Session): void {
    this.sessions.add(s);
    s.on('error', noop);
    s.once('close', () => this.sessions.delete(s));
    // A larger connection window lets big requests and watch bursts flow without stalls.
    s.once('connect', () => {
      if (!s.destroyed) s.setLocalWindowSize(WINDOW_SIZE);
    });
    if (this.stopping) s.close();
  }

  private dispatch(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', noop);
    const ct = headers['content-type'];
    if (typeof ct !== 'string' || !ct.startsWith(GRPC_CONTENT_TYPE)) {
      if (this.opts.fallback !== undefined) this.opts.fallback(stream, headers);
      else stream.respond({ ':status': 415 }, RESPOND_END);
      return;
    }
    const path = headers[':path'] ?? '';
    const m = this.methods.get(path);
    if (m === undefined) {
      const slash = path.lastIndexOf('/');
      const service = path.slice(1, slash);
      const msg = this.services.has(service)
        ? `unknown method ${path.slice(slash + 1)} for service ${service}`
        : `unknown service ${service}`;
      stream.resume();
      this.fail(stream, new GrpcError(Code.UNIMPLEMENTED, msg));
      return;
    }
    if (m.kind === 'unary') this.runUnary(stream, headers, m);
    else this.runStream(stream, headers, m);
  }

  private fail(stream: http2.ServerHttp2Stream, err: GrpcError): void {
    failStream(stream, err);
  }

  private runUnary(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, m: Method): void {
    const run = new UnaryRun(stream, headers, m, this.opts);
    stream.on('data', run.onData);
    stream.once('end', run.onEnd);
  }

  private runStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, m: Method): void {
    const metrics = this.opts.metrics;
    const mm = m.mm;
    const call = new ServerStreamCall(stream, headers, m.res, () => this.streamCalls.delete(call), mm, metrics?.bytes);
    this.streamCalls.add(call);
    if (mm !== undefined) {
      mm.started();
      metrics?.clientRequest?.('stream', apiVersionOf(headers));
    }
    const deframer = new Deframer(this.opts.maxReceiveBytes, (b) => {
      if (call.ended) return;
      let req: unknown;
      try {
        req = m.req.decode(b);
      } catch (e) {
        call.end(new GrpcError(Code.INTERNAL, `grpc: error unmarshalling request: ${(e as Error).message}`));
        return;
      }
      mm?.msgReceived();
      call.onMessage(req);
    });
    stream.on('data', (chunk: Buffer) => {
      if (call.ended) return;
      if (metrics !== undefined) metrics.bytes.received += chunk.length;
      try {
        deframer.push(chunk);
      } catch (e) {
        call.end(toGrpcError(e));
      }
    });
    stream.once('end', () => {
      if (!call.ended) call.onHalfClose();
    });
    try {
      (m.stream as StreamHandler<unknown, unknown>)(call);
    } catch (e) {
      call.end(toGrpcError(e));
    }
  }
}

function failStream(stream: http2.ServerHttp2Stream, err: GrpcError): void {
  if (stream.destroyed || stream.closed) return;
  if (!stream.headersSent) respondStatus(stream, err);
  else stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
}

/** A shared 'wantTrailers' listener (emitters call it with the stream as `this`): no per-call closure. */
function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  sendTrailers(this, OK_TRAILERS);
}

/**
 * One unary call: its state, the call object its handler sees and its listeners in one object.
 * The usual request arrives as one chunk holding exactly one message, which is taken as a view
 * without a Deframer; anything else (split, several or bad messages) goes through one.
 */
class UnaryRun implements UnaryCall {
  readonly ctx: RequestContext;
  messageLength = 0;
  private msg: Buffer | undefined = undefined;
  private count = 0;
  private failed = false;
  private deframer: Deframer | null = null;
  private t0 = 0;
  readonly onData = (chunk: Buffer): void => this.data(chunk);
  readonly onEnd = (): void => this.end();
  private readonly onOk = (res: unknown): void => this.ok(res);
  private readonly onErr = (e: unknown): void => this.failHandled(toGrpcError(e));

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    readonly headers: http2.IncomingHttpHeaders,
    private readonly m: Method,
    private readonly opts: GrpcServerOptions,
  ) {
    this.ctx = contextOf(headers);
  }

  private data(chunk: Buffer): void {
    if (this.failed) return;
    const bytes = this.opts.metrics?.bytes;
    if (bytes !== undefined) bytes.received += chunk.length;
    if (this.deframer === null && this.count === 0 && chunk.length >= 5 && chunk[0] === 0) {
      const len = chunk.readUInt32BE(1);
      if (chunk.length === 5 + len && len <= this.opts.maxReceiveBytes) {
        this.msg = chunk.subarray(5);
        this.count = 1;
        return;
      }
    }
    if (this.deframer === null) {
      this.deframer = new Deframer(this.opts.maxReceiveBytes, (b) => {
        this.msg = b;
        this.count++;
      });
    }
    try {
      this.deframer.push(chunk);
    } catch (e) {
      this.failed = true;
      failStream(this.stream, toGrpcError(e));
    }
  }

  private end(): void {
    if (this.failed) return;
    const stream = this.stream;
    const msg = this.msg;
    if (this.count !== 1 || msg === undefined) {
      failStream(stream, new GrpcError(Code.INTERNAL, `grpc: unary call received ${this.count} messages`));
      return;
    }
    const m = this.m;
    let req: unknown;
    try {
      req = m.req.decode(msg);
    } catch (e) {
      failStream(stream, new GrpcError(Code.INTERNAL, `grpc: error unmarshalling request: ${(e as Error).message}`));
      return;
    }
    this.messageLength = msg.length;
    const mm = m.mm;
    if (mm !== undefined) {
      this.t0 = performance.now();
      mm.started();
      mm.msgReceived();
      this.opts.metrics?.clientRequest?.('unary', apiVersionOf(this.headers));
    }
    let pending: Promise<unknown>;
    try {
      pending = (m.unary as UnaryHandler<unknown, unknown>)(req, this);
    } catch (e) {
      this.failHandled(toGrpcError(e));
      return;
    }
    pending.then(this.onOk, this.onErr);
  }

  private ok(res: unknown): void {
    const mm = this.m.mm;
    if (mm !== undefined) {
      mm.handled(0);
      mm.msgSent();
      mm.handlingSeconds((performance.now() - this.t0) / 1000);
    }
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    let frame: Buffer;
    try {
      frame = this.m.res.encodeFrame(res);
    } catch (e) {
      failStream(stream, new GrpcError(Code.INTERNAL, `grpc: error marshalling response: ${(e as Error).message}`));
      return;
    }
    const bytes = this.opts.metrics?.bytes;
    if (bytes !== undefined) bytes.sent += frame.length;
    stream.respond(RESPONSE_HEADERS, RESPOND_STREAMING);
    // 'wantTrailers' fires once per stream, so `on` (no once-wrapper allocation) is enough.
    stream.on('wantTrailers', sendOkTrailers);
    stream.end(frame);
  }

  private failHandled(err: GrpcError): void {
    const mm = this.m.mm;
    if (mm !== undefined) {
      mm.handled(err.code);
      mm.handlingSeconds((performance.now() - this.t0) / 1000);
    }
    failStream(this.stream, err);
  }
}

class ServerStreamCall implements StreamCall<unknown, unknown> {
  readonly ctx: RequestContext;
  onMessage: (req: unknown) => void = noop;
  onHalfClose: () => void = noop;
  onCancel: () => void = noop;
  ended = false;
  private corked = false;
  private trailers: http2.OutgoingHttpHeaders = OK_TRAILERS;
  private readonly t0: number;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    readonly headers: http2.IncomingHttpHeaders,
    private readonly codec: MessageCodec<unknown>,
    private readonly release: () => void,
    private readonly mm?: GrpcMethodMetrics,
    private readonly bytes?: { sent: number },
  ) {
    this.ctx = contextOf(headers);
    this.t0 = mm !== undefined ? performance.now() : 0;
    stream.once('close', () => {
      if (this.ended) return;
      this.ended = true;
      this.handled(Code.CANCELLED);
      this.release();
      this.onCancel();
    });
  }

  private handled(code: number): void {
    if (this.mm === undefined) return;
    this.mm.handled(code);
    this.mm.handlingSeconds((performance.now() - this.t0) / 1000);
  }

  write(res: unknown): boolean {
    if (this.ended) return false;
    const s = this.stream;
    if (s.destroyed || s.closed) return false;
    let frame: Buffer;
    try {
      frame = this.codec.encodeFrame(res);
    } catch (e) {
      // A malformed response must not throw into the server code that produced it.
      this.end(new GrpcError(Code.INTERNAL, `grpc: error marshalling response: ${(e as Error).message}`));
      return false;
    }
    if (!s.headersSent) this.respond();
    if (this.mm !== undefined) this.mm.msgSent();
    if (this.bytes !== undefined) this.bytes.sent += frame.length;
    if (!this.corked) {
      this.corked = true;
      s.cork();
      process.nextTick(() => {
        this.corked = false;
        s.uncork();
      });
    }
    s.write(frame);
    return true;
  }

  blocked(): boolean {
    return this.stream.writableLength >= STREAM_WRITE_BUDGET;
  }

  drained(): Promise<void> {
    const s = this.stream;
    if (this.ended || s.destroyed || s.closed || !s.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        s.off('drain', done);
        s.off('close', done);
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
    });
  }

  end(err?: GrpcError): void {
    if (this.ended) return;
    this.ended = true;
    this.handled(err === undefined ? Code.OK : err.code);
    this.release();
    const s = this.stream;
    if (s.destroyed || s.closed) return;
    if (!s.headersSent) {
      if (err === undefined) {
        this.respond();
        s.end();
      } else respondStatus(s, err);
      return;
    }
    if (err !== undefined) {
      this.trailers = { 'grpc-status': String(err.code), 'grpc-message': encodeGrpcMessage(err.message) };
    }
    s.end();
  }

  /** Ends the call from the server side (stop): the handler is told through onCancel. */
  abort(err: GrpcError): void {
    if (this.ended) return;
    this.end(err);
    this.onCancel();
  }

  private respond(): void {
    const s = this.stream;
    s.respond(RESPONSE_HEADERS, RESPOND_STREAMING);
    s.once('wantTrailers', () => sendTrailers(s, this.trailers));
  }
}
