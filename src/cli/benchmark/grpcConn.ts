// A lean gRPC client connection for the load tool: unary calls over one HTTP/2 connection on a
// plain TCP socket (h2c, as etcd's `http://` client URLs serve). @grpc/grpc-js costs ~150 µs of CPU
// per call, node:http2 ~60 µs, which on a small machine makes the client the bottleneck; this one
// frames requests straight into a shared output slab (one socket write per event-loop turn for all
// calls issued in it), parses response frames in place and decodes headers with a connection HPACK
// decoder. It implements what a unary client needs: SETTINGS, PING, WINDOW_UPDATE flow control in
// both directions, CONTINUATION, RST_STREAM, GOAWAY and MAX_CONCURRENT_STREAMS.
import net from 'node:net';
import {
  DEFAULT_WINDOW,
  F_ACK,
  F_END_HEADERS,
  F_END_STREAM,
  F_PADDED,
  F_PRIORITY,
  FrameInput,
  FrameOutput,
  PREFACE,
  S_ENABLE_PUSH,
  S_HEADER_TABLE_SIZE,
  S_INITIAL_WINDOW_SIZE,
  S_MAX_CONCURRENT_STREAMS,
  S_MAX_FRAME_SIZE,
  T_CONTINUATION,
  T_DATA,
  T_GOAWAY,
  T_HEADERS,
  T_PING,
  T_PUSH_PROMISE,
  T_RST_STREAM,
  T_SETTINGS,
  T_WINDOW_UPDATE,
} from '../../pkg/h2/frames.js';
import { HpackDecoder, encodeHeaderBlock } from '../../pkg/h2/hpack.js';

// Our receive windows: large, so the server never waits on us; replenished at half.
const RECV_WINDOW = 1 << 30;
const MAX_STREAM_ID = 0x7fffffff;

/** gRPC status code names, for error texts shaped like grpc-go's ("rpc error: code = X desc = Y"). */
export const GRPC_CODE_NAMES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists',
  'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange',
  'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
];

export class GrpcCallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`rpc error: code = ${GRPC_CODE_NAMES[code] ?? `Code(${code})`} desc = ${details}`);
  }
}

/** Called once per call: `body` is the response message (without the gRPC length prefix). */
export type UnaryCallback = (err: GrpcCallError | null, body: Buffer | null) => void;

/** A method prepared for one connection: its encoded request header block. */
export interface Method {
  readonly path: string;
  readonly headerBlock: Buffer;
}

class Stream {
  status = -1;
  message = '';
  httpStatus = 0;
  chunks: Buffer[] = [];
  recvUnacked = 0;
  sendWindow: number;
  pending: Buffer | null = null; // gRPC-framed request bytes not yet sent (flow control)
  pendingOff = 0;
  constructor(
    readonly id: number,
    readonly cb: UnaryCallback,
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow;
  }
}

interface QueuedCall {
  method: Method;
  msg: Uint8Array;
  cb: UnaryCallback;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** Milliseconds to wait for the TCP connection and the server's SETTINGS. */
  timeoutMs?: number;
}

export class GrpcConn {
  private readonly socket: net.Socket;
  private readonly authority: string;
  private readonly hpack = new HpackDecoder();
  private readonly streams = new Map<number, Stream>();
  private nextStreamId = 1;

  // Frames written in one event-loop turn leave in one socket write.
  private readonly out: FrameOutput;
  private readonly input = new FrameInput((t, f, sid, p) => this.handleFrame(t, f, sid, p));
  private ended = false;
  // Header block being assembled across CONTINUATION frames.
  private hdrStream = 0;
  private hdrEndStream = false;
  private hdrParts: Buffer[] = [];
  private hdrTarget: Stream | null = null;

  // Peer settings and windows.
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = 16384;
  private peerMaxStreams = Infinity;
  private connSendWindow = DEFAULT_WINDOW;
  private connRecvUnacked = 0;
  private blocked: Stream[] = []; // streams with request bytes waiting for window
  private queued: QueuedCall[] = []; // calls waiting for a concurrent-stream slot
  private queuedHead = 0;

  private closedErr: GrpcCallError | null = null;
  private readonly methods = new Map<string, Method>();
  private readonly onField = (name: string, value: string): void => this.field(name, value);

  private constructor(socket: net.Socket, authority: string) {
    this.socket = socket;
    this.authority = authority;
    this.out = new FrameOutput((b) => {
      if (!this.ended) socket.write(b);
    });
  }

  /** Opens a connection and resolves once the server's first SETTINGS frame arrived. */
  static connect(opts: ConnectOptions): Promise<GrpcConn> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: opts.host, port: opts.port });
      const conn = new GrpcConn(socket, `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`);
      let settled = false;
      const timer = setTimeout(() => fail(new Error(`timed out connecting to ${conn.authority}`)), timeoutMs);
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      conn.onSettings = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(conn);
      };
      socket.setNoDelay(true);
      socket.once('error', (err) => fail(new Error(`cannot connect to ${conn.authority}: ${err.message}`)));
      socket.on('error', (err) => conn.terminate(14, err.message));
      socket.on('close', () => {
        fail(new Error(`connection to ${conn.authority} closed before HTTP/2 settings`));
        conn.terminate(14, 'connection closed');
      });
      socket.on('data', (chunk: Buffer) => {
        try {
          conn.receive(chunk);
        } catch (e) {
          conn.terminate(13, `protocol error: ${(e as Error).message}`);
          fail(e as Error);
          socket.destroy();
        }
      });
      socket.once('connect', () => {
        socket.write(PREFACE);
        const settings = Buffer.alloc(18);
        settings.writeUInt16BE(S_ENABLE_PUSH, 0);
        settings.writeUInt32BE(0, 2);
        settings.writeUInt16BE(S_INITIAL_WINDOW_SIZE, 6);
        settings.writeUInt32BE(RECV_WINDOW, 8);
        settings.writeUInt16BE(S_HEADER_TABLE_SIZE, 12);
        settings.writeUInt32BE(4096, 14);
        conn.frame(T_SETTINGS, 0, 0, settings);
        conn.windowUpdate(0, RECV_WINDOW - DEFAULT_WINDOW);
      });
    });
  }

  private onSettings: () => void = () => {};

  /** Prepares (once per path) the header block of a method such as `/etcdserverpb.KV/Put`. */
  method(path: string): Method {
    let m = this.methods.get(path);
    if (!m) {
      const headerBlock = encodeHeaderBlock([
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', path],
        [':authority', this.authority],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
      ]);
      m = { path, headerBlock };
      this.methods.set(path, m);
    }
    return m;
  }

  /** Number of calls in flight or queued. */
  get inflight(): number {
    return this.streams.size + this.queued.length - this.queuedHead;
  }

  /**
   * Starts a unary call. `msg` is the encoded request; it is copied before this returns, so the
   * caller may reuse its buffer.
   */
  unary(method: Method, msg: Uint8Array, cb: UnaryCallback): void {
    if (this.closedErr) {
      const err = this.closedErr;
      process.nextTick(() => cb(err, null));
      return;
    }
    if (this.streams.size >= this.peerMaxStreams) {
      this.queued.push({ method, msg: Buffer.from(msg), cb });
      return;
    }
    this.start(method, msg, cb);
  }

  private start(method: Method, msg: Uint8Array, cb: UnaryCallback): void {
    if (this.nextStreamId > MAX_STREAM_ID) {
      process.nextTick(() => cb(new GrpcCallError(14, 'HTTP/2 stream ids exhausted on this connection'), null));
      return;
    }
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const s = new Stream(id, cb, this.peerInitialWindow);
    this.streams.set(id, s);

    const block = method.headerBlock;
    const dataLen = 5 + msg.length;
    const out = this.out;
    out.reserve(9 + block.length + 9 + dataLen);
    out.header(block.length, T_HEADERS, F_END_HEADERS, id);
    out.bytes(block);

    if (this.blocked.length === 0 && dataLen <= this.peerMaxFrame && dataLen <= this.connSendWindow && dataLen <= s.sendWindow) {
      // Fast path: the whole request in one DATA frame.
      out.header(dataLen, T_DATA, F_END_STREAM, id);
      const b = out.buf;
      const o = out.pos;
      b[o] = 0;
      b.writeUInt32BE(msg.length, o + 1);
      out.pos = o + 5;
      out.bytes(msg);
      this.connSendWindow -= dataLen;
      s.sendWindow -= dataLen;
    } else {
      const framed = Buffer.allocUnsafe(dataLen);
      framed[0] = 0;
      framed.writeUInt32BE(msg.length, 1);
      framed.set(msg, 5);
      s.pending = framed;
      this.blocked.push(s);
      this.sendBlocked();
    }
  }

  /** Sends what flow control allows of the blocked streams' request bytes. */
  private sendBlocked(): void {
    let i = 0;
    for (; i < this.blocked.length; i++) {
      const s = this.blocked[i]!;
      if (!this.streams.has(s.id)) continue;
      const data = s.pending!;
      while (s.pendingOff < data.length) {
        const n = Math.min(data.length - s.pendingOff, this.peerMaxFrame, this.connSendWindow, s.sendWindow);
        if (n <= 0) break;
        const last = s.pendingOff + n === data.length;
        this.out.reserve(9 + n);
        this.out.header(n, T_DATA, last ? F_END_STREAM : 0, s.id);
        this.out.bytes(data, s.pendingOff, s.pendingOff + n);
        s.pendingOff += n;
        this.connSendWindow -= n;
        s.sendWindow -= n;
      }
      if (s.pendingOff < data.length) {
        if (this.connSendWindow <= 0) break; // nobody can send; keep this and the rest
        continue; // only this stream's window is exhausted
      }
      s.pending = null;
    }
    this.blocked = this.blocked.filter((s) => s.pending !== null && this.streams.has(s.id));
  }

  /** Closes the connection; calls still in flight fail with Canceled. */
  close(): void {
    this.terminate(1, 'connection closed by client');
    this.ended = true;
    this.socket.end();
  }

  // --- output ---

  private frame(type: number, flags: number, streamId: number, payload: Uint8Array): void {
    this.out.frame(type, flags, streamId, payload);
  }

  // --- input ---

  private receive(chunk: Buffer): void {
    this.input.push(chunk);
    if (this.connRecvUnacked >= RECV_WINDOW / 2) {
      this.windowUpdate(0, this.connRecvUnacked);
      this.connRecvUnacked = 0;
    }
  }

  private handleFrame(type: number, flags: number, sid: number, payload: Buffer): void {
    if (this.hdrStream !== 0 && type !== T_CONTINUATION) throw new Error('expected CONTINUATION');
    switch (type) {
      case T_DATA: {
        this.connRecvUnacked += payload.length;
        const s = this.streams.get(sid);
        if (!s) return;
        let data = payload;
        if (flags & F_PADDED) data = payload.subarray(1, payload.length - payload[0]!);
        if (data.length > 0) s.chunks.push(data);
        s.recvUnacked += payload.length;
        if (flags & F_END_STREAM) this.finish(s);
        else if (s.recvUnacked >= RECV_WINDOW / 2) {
          this.windowUpdate(sid, s.recvUnacked);
          s.recvUnacked = 0;
        }
        return;
      }
      case T_HEADERS: {
        let off = 0;
        let end = payload.length;
        if (flags & F_PADDED) {
          end -= payload[0]!;
          off = 1;
        }
        if (flags & F_PRIORITY) off += 5;
        const frag = payload.subarray(off, end);
        this.hdrTarget = this.streams.get(sid) ?? null;
        this.hdrEndStream = (flags & F_END_STREAM) !== 0;
        if (flags & F_END_HEADERS) this.headersDone(frag);
        else {
          this.hdrStream = sid;
          this.hdrParts = [Buffer.from(frag)];
        }
        return;
      }
      case T_CONTINUATION: {
        if (sid !== this.hdrStream) throw new Error('CONTINUATION on an unexpected stream');
        this.hdrParts.push(Buffer.from(payload));
        if (flags & F_END_HEADERS) {
          this.hdrStream = 0;
          const block = Buffer.concat(this.hdrParts);
          this.hdrParts = [];
          this.headersDone(block);
        }
        return;
      }
      case T_RST_STREAM: {
        const s = this.streams.get(sid);
        if (!s) return;
        const code = payload.readUInt32BE(0);
        this.streams.delete(sid);
        // REFUSED_STREAM means unprocessed: Unavailable, as grpc-go reports it.
        s.cb(new GrpcCallError(code === 7 ? 14 : 13, `stream reset by server (HTTP/2 error ${code})`), null);
        this.startQueued();
        return;
      }
      case T_SETTINGS: {
        if (flags & F_ACK) return;
        for (let o = 0; o + 6 <= payload.length; o += 6) {
          const id = payload.readUInt16BE(o);
          const v = payload.readUInt32BE(o + 2);
          if (id === S_INITIAL_WINDOW_SIZE) {
            const delta = v - this.peerInitialWindow;
            this.peerInitialWindow = v;
            for (const s of this.streams.values()) s.sendWindow += delta;
          } else if (id === S_MAX_FRAME_SIZE) this.peerMaxFrame = v;
          else if (id === S_MAX_CONCURRENT_STREAMS) this.peerMaxStreams = v;
        }
        this.frame(T_SETTINGS, F_ACK, 0, Buffer.alloc(0));
        this.sendBlocked();
        this.startQueued();
        this.onSettings();
        return;
      }
      case T_PING: {
        if (!(flags & F_ACK)) this.frame(T_PING, F_ACK, 0, Buffer.from(payload));
        return;
      }
      case T_GOAWAY: {
        const last = payload.readUInt32BE(0) & 0x7fffffff;
        const code = payload.readUInt32BE(4);
        const debug = payload.subarray(8).toString('latin1');
        const err = new GrpcCallError(14, `server sent GOAWAY (HTTP/2 error ${code})${debug ? ': ' + debug : ''}`);
        this.closedErr ??= err;
        for (const [id, s] of this.streams) {
          if (id > last) {
            this.streams.delete(id);
            s.cb(err, null);
          }
        }
        this.failQueued(err);
        return;
      }
      case T_WINDOW_UPDATE: {
        const inc = payload.readUInt32BE(0) & 0x7fffffff;
        if (sid === 0) this.connSendWindow += inc;
        else {
          const s = this.streams.get(sid);
          if (s) s.sendWindow += inc;
        }
        if (this.blocked.length > 0) this.sendBlocked();
        return;
      }
      case T_PUSH_PROMISE:
        throw new Error('PUSH_PROMISE although push is disabled');
      default:
        return; // unknown frame types are ignored (RFC 7540 §4.1)
    }
  }

  private headersDone(block: Uint8Array): void {
    // Every block must be decoded, even for unknown streams, to keep the HPACK table in step.
    const s = this.hdrTarget;
    this.cur = s;
    this.hpack.decode(block, this.onField);
    this.cur = null;
    this.hdrTarget = null;
    if (s && this.hdrEndStream) this.finish(s);
  }

  private cur: Stream | null = null;

  private field(name: string, value: string): void {
    const s = this.cur;
    if (!s) return;
    if (name === 'grpc-status') s.status = Number(value);
    else if (name === 'grpc-message') s.message = percentDecode(value);
    else if (name === ':status') s.httpStatus = Number(value);
  }

  private finish(s: Stream): void {
    this.streams.delete(s.id);
    if (s.status === 0) {
      let body: Buffer;
      if (s.chunks.length === 1) body = s.chunks[0]!;
      else body = Buffer.concat(s.chunks);
      const msgLen = body.length >= 5 ? body.readUInt32BE(1) : -1;
      if (msgLen < 0 || body.length < 5 + msgLen) s.cb(new GrpcCallError(13, 'incomplete response message'), null);
      else s.cb(null, body.subarray(5, 5 + msgLen));
    } else if (s.status > 0) {
      s.cb(new GrpcCallError(s.status, s.message), null);
    } else if (s.httpStatus !== 0 && s.httpStatus !== 200) {
      s.cb(new GrpcCallError(s.httpStatus === 404 ? 12 : 2, `unexpected HTTP status code ${s.httpStatus}`), null);
    } else {
      s.cb(new GrpcCallError(13, 'server closed the stream without sending trailers'), null);
    }
    if (this.queuedHead < this.queued.length) this.startQueued();
  }

  private startQueued(): void {
    while (this.queuedHead < this.queued.length && this.streams.size < this.peerMaxStreams && !this.closedErr) {
      const q = this.queued[this.queuedHead]!;
      this.queued[this.queuedHead++] = undefined as unknown as QueuedCall;
      this.start(q.method, q.msg, q.cb);
    }
    if (this.queuedHead === this.queued.length) {
      this.queued = [];
      this.queuedHead = 0;
    }
  }

  private failQueued(err: GrpcCallError): void {
    const q = this.queued.slice(this.queuedHead);
    this.queued = [];
    this.queuedHead = 0;
    for (const c of q) c.cb(err, null);
  }

  private windowUpdate(sid: number, inc: number): void {
    this.out.frame32(T_WINDOW_UPDATE, sid, inc);
  }

  private terminate(code: number, why: string): void {
    if (this.closedErr && this.streams.size === 0 && this.queuedHead === this.queued.length) return;
    const err = this.closedErr ?? new GrpcCallError(code, why);
    this.closedErr = err;
    const pending = [...this.streams.values()];
    this.streams.clear();
    for (const s of pending) s.cb(err, null);
    this.failQueued(err);
  }
}

/** Decodes grpc-message's percent-encoding; malformed escapes are kept as they are. */
export function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
