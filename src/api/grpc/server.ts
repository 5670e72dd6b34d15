// A small gRPC server on our lean HTTP/2 connection (h2Connection.ts; cleartext with prior
// knowledge, or behind the TLS front): unary and streaming calls, length-prefixed messages,
// grpc-status/grpc-message trailers, metadata passed to handlers and cancellation when the client
// resets the stream. Requests that are not gRPC (no application/grpc content type) go to a
// fallback, so HTTP/2 clients can reach /health on the same port.
//
// Response frames written in one tick, for every call of a connection, leave in one socket write.

import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { E_INTERNAL_ERROR } from '../../pkg/h2/frames.js';
import type { GrpcMethodMetrics, GrpcType } from '../../server/metrics.js';
import { Code, GrpcError, toGrpcError } from '../errors.js';
import type { MessageCodec } from '../proto/codec.js';
import type { RequestContext } from '../types.js';
import { Deframer } from './deframer.js';
import { H2Connection, type H2Stream, type KeepaliveOptions, headerBlock } from './h2Connection.js';

/** Call metadata as handlers see it (gRPC over HTTP/2, or the gateway's HTTP/1.1 headers). */
export type CallHeaders = Readonly<Record<string, string | string[] | undefined>>;

export interface UnaryCall {
  readonly headers: CallHeaders;
  readonly ctx: RequestContext;
  /** Encoded size of the request message (etcd checks it against --max-request-bytes). */
  readonly messageLength: number;
}

export type UnaryHandler<Req, Res> = (req: Req, call: UnaryCall) => Promise<Res>;

/** A streaming call as its handler sees it (server-streaming calls receive exactly one message). */
export interface StreamCall<Req, Res> {
  readonly headers: CallHeaders;
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

function apiVersionOf(headers: CallHeaders): string {
  const v = headers['client-api-version'];
  return typeof v === 'string' ? v : 'unknown';
}

export interface GrpcServerOptions {
  /** Largest request message accepted (etcd: --max-request-bytes + 512 KiB). */
  maxReceiveBytes: number;
  /** Non-gRPC HTTP/2 requests. */
  fallback?: (stream: H2Stream) => void;
  metrics?: GrpcServerMetrics;
  /** Keepalive pings and the client ping policy (etcd's defaults when absent). */
  keepalive?: KeepaliveOptions;
  /** Streams per connection (etcd's --max-concurrent-streams; unlimited when absent). */
  maxConcurrentStreams?: number;
}

const GRPC_CONTENT_TYPE = 'application/grpc';
const RESPONSE_FIELDS: ReadonlyArray<readonly [string, string]> = [
  [':status', '200'],
  ['content-type', GRPC_CONTENT_TYPE],
  ['grpc-accept-encoding', 'identity'],
];
const RESPONSE_HEADERS = headerBlock(RESPONSE_FIELDS);
const OK_TRAILERS = headerBlock([['grpc-status', '0']]);
const UNSUPPORTED_MEDIA_TYPE = headerBlock([[':status', '415']]);
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

function statusFields(err: GrpcError): [string, string][] {
  return [
    ['grpc-status', String(err.code)],
    ['grpc-message', encodeGrpcMessage(err.message)],
  ];
}

/**
 * The auth token: `token` metadata, or `authorization` as etcd also accepts (gateway clients); and
 * the connection's verified client-certificate common name, if any.
 */
export function contextOf(headers: CallHeaders, certCN?: string): RequestContext {
  const t = headers['token'] ?? headers['authorization'];
  return { token: typeof t === 'string' ? t : undefined, certCN };
}

/** The common name of a TLS socket's verified client certificate (undefined for plain sockets). */
function verifiedCommonName(socket: Duplex): string | undefined {
  const tls = socket as TLSSocket;
  if (tls.encrypted !== true || !tls.authorized) return undefined;
  const cn = tls.getPeerCertificate()?.subject?.CN as string | string[] | undefined;
  return Array.isArray(cn) ? cn[0] : cn;
}

function noop(): void {}

/** A trailers-only response: the status travels in the response headers. */
function respondStatus(stream: H2Stream, err: GrpcError): void {
  stream.respond(headerBlock([...RESPONSE_FIELDS, ...statusFields(err)]), true);
}

function failStream(stream: H2Stream, err: GrpcError): void {
  if (stream.closed) return;
  if (!stream.headersSent) respondStatus(stream, err);
  else stream.reset(E_INTERNAL_ERROR);
}

export class GrpcServer {
  private readonly methods = new Map<string, Method>();
  private readonly services = new Set<string>();
  private readonly conns = new Set<H2Connection>();
  private readonly streamCalls = new Set<ServerStreamCall>();
  private stopping = false;

  constructor(private readonly opts: GrpcServerOptions) {}

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

  /** Serves HTTP/2 on a connected socket (its first bytes are the client's connection preface). */
  handleConnection(socket: Duplex): void {
    const certCN = verifiedCommonName(socket);
    const conn: H2Connection = new H2Connection(socket, {
      onStream: (s) => this.dispatch(s, certCN),
      keepalive: this.opts.keepalive,
      maxConcurrentStreams: this.opts.maxConcurrentStreams,
      onClose: () => {
        this.conns.delete(conn);
        if (this.conns.size === 0) this.onIdle();
      },
    });
    if (conn.closed) return;
    this.conns.add(conn);
    if (this.stopping) conn.shutdown();
  }

  private onIdle: () => void = noop;

  /** Ends every streaming call, closes connections gracefully, drops what remains after graceMs. */
  async close(graceMs = 1000): Promise<void> {
    this.stopping = true;
    for (const c of [...this.streamCalls]) c.abort(new GrpcError(Code.UNAVAILABLE, 'grpc: the server has been stopped'));
    if (this.conns.size === 0) return;
    const conns = [...this.conns];
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.onIdle = resolve;
      timer = setTimeout(() => {
        for (const c of conns) c.destroy();
      }, graceMs);
      for (const c of conns) c.shutdown();
    });
    clearTimeout(timer);
  }

  private dispatch(stream: H2Stream, certCN: string | undefined): void {
    const headers = stream.headers;
    const ct = headers['content-type'];
    if (ct === undefined || !ct.startsWith(GRPC_CONTENT_TYPE)) {
      if (this.opts.fallback !== undefined) this.opts.fallback(stream);
      else stream.respond(UNSUPPORTED_MEDIA_TYPE, true);
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
      failStream(stream, new GrpcError(Code.UNIMPLEMENTED, msg));
      return;
    }
    if (m.kind === 'unary') {
      const run = new UnaryRun(stream, m, this.opts, certCN);
      stream.onData = run.onData;
      stream.onEnd = run.onEnd;
    } else this.runStream(stream, m, certCN);
  }

  private runStream(stream: H2Stream, m: Method, certCN: string | undefined): void {
    const metrics = this.opts.metrics;
    const mm = m.mm;
    const headers = stream.headers;
    const call = new ServerStreamCall(stream, certCN, m.res, () => this.streamCalls.delete(call), mm, metrics?.bytes);
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
    stream.onData = (chunk: Buffer) => {
      if (call.ended) return;
      if (metrics !== undefined) metrics.bytes.received += chunk.length;
      try {
        // A copy: decoded requests hold views of it for as long as the call keeps them (watch keys).
        deframer.push(Buffer.from(chunk));
      } catch (e) {
        call.end(toGrpcError(e));
      }
    };
    stream.onEnd = () => {
      if (!call.ended) call.onHalfClose();
    };
    try {
      (m.stream as StreamHandler<unknown, unknown>)(call);
    } catch (e) {
      call.end(toGrpcError(e));
    }
  }
}

/**
 * One unary call: its state, the call object its handler sees and its listeners in one object.
 * The usual request arrives as one chunk holding exactly one message, which is taken as a view
 * without a Deframer; anything else (split, several or bad messages) goes through one.
 */
class UnaryRun implements UnaryCall {
  readonly ctx: RequestContext;
  readonly headers: CallHeaders;
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
    private readonly stream: H2Stream,
    private readonly m: Method,
    private readonly opts: GrpcServerOptions,
    certCN: string | undefined,
  ) {
    this.headers = stream.headers;
    this.ctx = contextOf(stream.headers, certCN);
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
    if (stream.closed) return;
    let frame: Buffer;
    try {
      frame = this.m.res.encodeFrame(res);
    } catch (e) {
      failStream(stream, new GrpcError(Code.INTERNAL, `grpc: error marshalling response: ${(e as Error).message}`));
      return;
    }
    const bytes = this.opts.metrics?.bytes;
    if (bytes !== undefined) bytes.sent += frame.length;
    stream.respond(RESPONSE_HEADERS);
    stream.write(frame);
    stream.end(OK_TRAILERS);
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
  readonly headers: CallHeaders;
  onMessage: (req: unknown) => void = noop;
  onHalfClose: () => void = noop;
  onCancel: () => void = noop;
  ended = false;
  private readonly t0: number;
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly stream: H2Stream,
    certCN: string | undefined,
    private readonly codec: MessageCodec<unknown>,
    private readonly release: () => void,
    private readonly mm?: GrpcMethodMetrics,
    private readonly bytes?: { sent: number },
  ) {
    this.headers = stream.headers;
    this.ctx = contextOf(stream.headers, certCN);
    this.t0 = mm !== undefined ? performance.now() : 0;
    stream.onDrain = () => this.wakeDrainWaiters();
    stream.onClose = () => {
      this.wakeDrainWaiters();
      if (this.ended) return;
      this.ended = true;
      this.handled(Code.CANCELLED);
      this.release();
      this.onCancel();
    };
  }

  private handled(code: number): void {
    if (this.mm === undefined) return;
    this.mm.handled(code);
    this.mm.handlingSeconds((performance.now() - this.t0) / 1000);
  }

  write(res: unknown): boolean {
    if (this.ended) return false;
    const s = this.stream;
    if (s.closed) return false;
    let frame: Buffer;
    try {
      frame = this.codec.encodeFrame(res);
    } catch (e) {
      // A malformed response must not throw into the server code that produced it.
      this.end(new GrpcError(Code.INTERNAL, `grpc: error marshalling response: ${(e as Error).message}`));
      return false;
    }
    if (!s.headersSent) s.respond(RESPONSE_HEADERS);
    if (this.mm !== undefined) this.mm.msgSent();
    if (this.bytes !== undefined) this.bytes.sent += frame.length;
    s.write(frame);
    return true;
  }

  blocked(): boolean {
    return this.stream.queuedBytes >= STREAM_WRITE_BUDGET;
  }

  drained(): Promise<void> {
    const s = this.stream;
    if (this.ended || s.closed || s.queuedBytes === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private wakeDrainWaiters(): void {
    const w = this.drainWaiters;
    if (w.length === 0) return;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  end(err?: GrpcError): void {
    if (this.ended) return;
    this.ended = true;
    this.handled(err === undefined ? Code.OK : err.code);
    this.release();
    const s = this.stream;
    if (s.closed) return;
    if (!s.headersSent) {
      if (err === undefined) {
        s.respond(RESPONSE_HEADERS);
        s.end(OK_TRAILERS);
      } else respondStatus(s, err);
      return;
    }
    s.end(err === undefined ? OK_TRAILERS : headerBlock(statusFields(err)));
  }

  /** Ends the call from the server side (stop): the handler is told through onCancel. */
  abort(err: GrpcError): void {
    if (this.ended) return;
    this.end(err);
    this.onCancel();
  }
}
