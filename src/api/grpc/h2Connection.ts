// The server side of one HTTP/2 connection (RFC 9113), made for gRPC's traffic: many short streams
// on few connections. node:http2 costs tens of microseconds of main-thread time per stream (a
// Duplex per stream, several native callbacks, header objects both ways); here a received chunk is
// parsed in one loop and every frame written during an event-loop turn, for all streams of the
// connection, leaves in one socket write.
//
// Implemented: the preface, SETTINGS, PING, WINDOW_UPDATE flow control both ways (received data is
// credited back as soon as it is handed over; sent data waits for the peer's windows), HEADERS with
// CONTINUATION, padding and priority, trailers, RST_STREAM both ways, GOAWAY (graceful shutdown and
// connection errors). Not implemented: server push and priorities (optional in HTTP/2).

import type { Duplex } from 'node:stream';
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  E_COMPRESSION_ERROR,
  E_ENHANCE_YOUR_CALM,
  E_FLOW_CONTROL_ERROR,
  E_FRAME_SIZE_ERROR,
  E_INTERNAL_ERROR,
  E_NO_ERROR,
  E_PROTOCOL_ERROR,
  E_REFUSED_STREAM,
  F_ACK,
  F_END_HEADERS,
  F_END_STREAM,
  F_PADDED,
  F_PRIORITY,
  FrameInput,
  FrameOutput,
  H2ProtocolError,
  MAX_WINDOW,
  PREFACE,
  S_INITIAL_WINDOW_SIZE,
  S_MAX_CONCURRENT_STREAMS,
  S_MAX_FRAME_SIZE,
  S_MAX_HEADER_LIST_SIZE,
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
import { HpackDecoder, HpackError, encodeHeaderBlock } from '../../pkg/h2/hpack.js';

/** Request headers: lower-case names; repeated fields joined with ", ". */
export type H2Headers = Record<string, string | undefined>;

/** Our receive window per stream: a whole request of the largest accepted size fits in it. */
const STREAM_WINDOW = 4 << 20;
/** Our receive window for the connection. */
const CONN_WINDOW = 16 << 20;
/** Header blocks (before decoding) larger than this end the connection. */
const MAX_HEADER_BLOCK = 256 << 10;
/** Decoded header lists larger than this are refused (HTTP 431), as SETTINGS announces. */
const MAX_HEADER_LIST = 64 << 10;
/** Bytes waiting in the socket beyond which the client is taken to have stopped reading. */
const MAX_UNSENT = 64 << 20;
const KEEPALIVE_PING = Buffer.from('tsetcdka', 'latin1');

function noop(): void {}

/**
 * Constructs request header objects: no Object.prototype behind them (a header named
 * "constructor" or "__proto__" is just a header), yet in V8's fast mode, which an
 * Object.create(null) object is not.
 */
const HeaderFields = function HeaderFields() {} as unknown as new () => H2Headers;
HeaderFields.prototype = Object.create(null) as object;

/** Response headers as a ready block (encode fixed ones once with this). */
export function headerBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  return encodeHeaderBlock(fields);
}

/** One stream. Callbacks are plain fields (one listener each): set them when the stream arrives. */
export class H2Stream {
  /** Each received DATA payload (a view of the received bytes: copy what you keep). */
  onData: (chunk: Buffer) => void = noop;
  /** The client finished sending. */
  onEnd: () => void = noop;
  /** The stream is over (both sides done, reset by either side, or the connection is gone); once. */
  onClose: () => void = noop;
  /** The queued response bytes were all sent (see queuedBytes). */
  onDrain: () => void = noop;

  remoteEnded = false;
  localEnded = false;
  closed = false;
  headersSent = false;
  /** Why the stream closed: 0 (NO_ERROR) unless it was reset. */
  closeCode = E_NO_ERROR;

  /** @internal send window (the peer's credit for this stream) */
  sendWindow: number;
  /** @internal received bytes not yet credited back */
  recvUnacked = 0;
  /** @internal DATA payloads waiting for window; a null entry marks the trailers that follow them. */
  queue: (Buffer | null)[] = [];
  /** @internal the trailer block to send after the queue (null: end with an empty DATA frame) */
  queuedTrailers: Buffer | null = null;
  /** Response bytes waiting for the client's flow-control window. */
  queuedBytes = 0;

  constructor(
    private readonly conn: H2Connection,
    readonly id: number,
    readonly headers: H2Headers,
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow;
  }

  /** Sends the response headers; with endStream the response is complete (trailers-only). */
  respond(block: Buffer, endStream = false): void {
    if (this.closed || this.headersSent) return;
    this.headersSent = true;
    this.conn.writeHeaders(this, block, endStream);
  }

  /** Sends response body bytes (as many DATA frames as the peer's frame size and windows need). */
  write(data: Uint8Array): void {
    if (this.closed || this.localEnded) return;
    this.conn.writeData(this, data);
  }

  /** Ends the response: with a trailer block, or with an empty DATA frame flagged END_STREAM. */
  end(trailers: Buffer | null = null): void {
    if (this.closed || this.localEnded) return;
    this.localEnded = true;
    this.conn.writeEnd(this, trailers);
  }

  /** Resets the stream (RST_STREAM with code); the stream closes at once. */
  reset(code: number): void {
    if (this.closed) return;
    this.conn.resetStream(this, code);
  }
}

/** gRPC's keepalive settings on the server side (etcd's --grpc-keepalive-* flags). */
export interface KeepaliveOptions {
  /** Quiet time after which we PING the client (--grpc-keepalive-interval, default 2 h). */
  intervalMs: number;
  /** Time to wait for any sign of life after that PING before closing (--grpc-keepalive-timeout, 20 s). */
  timeoutMs: number;
  /**
   * Shortest interval between client PINGs while streams are open (--grpc-keepalive-min-time, 5 s);
   * without streams, one per two hours. A client that exceeds it more than twice gets
   * GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings"), as grpc-go's enforcement policy does.
   */
  minPingIntervalMs: number;
}

export const DEFAULT_KEEPALIVE: KeepaliveOptions = Object.freeze({
  intervalMs: 2 * 3600_000,
  timeoutMs: 20_000,
  minPingIntervalMs: 5_000,
});

/** grpc-go's ping limit on a connection without streams (its defaultPingTimeout). */
const IDLE_PING_INTERVAL_MS = 2 * 3600_000;
/** Pings beyond the policy tolerated before the connection is closed (grpc-go's maxPingStrikes). */
const MAX_PING_STRIKES = 2;

export interface H2ConnectionOptions {
  /** A new stream (its headers are complete); set its callbacks before returning. */
  onStream: (stream: H2Stream) => void;
  /** The connection is gone (socket closed). */
  onClose?: () => void;
  keepalive?: KeepaliveOptions;
  /**
   * Streams a client may have open at once (etcd's --max-concurrent-streams; default unlimited):
   * announced in SETTINGS, and a stream beyond it is refused with RST_STREAM(REFUSED_STREAM).
   */
  maxConcurrentStreams?: number;
}

export class H2Connection {
  private readonly streams = new Map<number, H2Stream>();
  private readonly out: FrameOutput;
  private readonly input: FrameInput;
  private readonly hpack = new HpackDecoder();
  private prefaceLeft = PREFACE.length;
  private lastStreamId = 0;
  private readonly maxStreams: number;
  private goingAway = false;
  private dead = false;

  // Peer settings and our send windows.
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private connSendWindow = DEFAULT_WINDOW;
  private connRecvUnacked = 0;
  /** Streams with queued output waiting for window, in arrival order. */
  private blocked: H2Stream[] = [];
  private sending = false;

  // Header block being assembled across CONTINUATION frames.
  private hdrStream = 0;
  private hdrEndStream = false;
  private hdrParts: Buffer[] = [];
  private hdrSize = 0;

  // Keepalive: whether anything was read since the last check, and a PING of ours in flight.
  private readonly keepalive: KeepaliveOptions;
  private kaTimer: NodeJS.Timeout | null = null;
  private activity = false;
  private pingOutstanding = false;
  // Ping policy: the client's last PING and how often it broke the policy.
  private lastPingAt = -Infinity;
  private pingStrikes = 0;
  /** Set when we send HEADERS or DATA: the client's next PING is not counted (as grpc-go). */
  private resetPingStrikes = false;

  // The header list being decoded.
  private curHeaders: H2Headers = {};
  private curSize = 0;
  private readonly onField = (name: string, value: string): void => {
    const h = this.curHeaders;
    const prev = h[name];
    h[name] = prev === undefined ? value : `${prev}, ${value}`;
    this.curSize += name.length + value.length + 32;
  };

  constructor(
    private readonly socket: Duplex,
    private readonly opts: H2ConnectionOptions,
  ) {
    this.out = new FrameOutput((b) => {
      if (socket.destroyed) return;
      socket.write(b);
      // Windows bound what a well-behaved client leaves unread; past this it is not reading.
      if (socket.writableLength > MAX_UNSENT) this.destroy();
    });
    this.input = new FrameInput((t, f, sid, p) => this.frame(t, f, sid, p), DEFAULT_MAX_FRAME);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', noop);
    socket.on('close', () => this.gone());
    // Our SETTINGS, then the connection window beyond the default.
    this.maxStreams = opts.maxConcurrentStreams ?? Infinity;
    const limited = this.maxStreams < 0xffffffff;
    const settings = Buffer.allocUnsafe(limited ? 18 : 12);
    settings.writeUInt16BE(S_INITIAL_WINDOW_SIZE, 0);
    settings.writeUInt32BE(STREAM_WINDOW, 2);
    settings.writeUInt16BE(S_MAX_HEADER_LIST_SIZE, 6);
    settings.writeUInt32BE(MAX_HEADER_LIST, 8);
    if (limited) {
      settings.writeUInt16BE(S_MAX_CONCURRENT_STREAMS, 12);
      settings.writeUInt32BE(this.maxStreams, 14);
    }
    this.out.frame(T_SETTINGS, 0, 0, settings);
    this.out.frame32(T_WINDOW_UPDATE, 0, CONN_WINDOW - DEFAULT_WINDOW);
    this.keepalive = opts.keepalive ?? DEFAULT_KEEPALIVE;
    this.armKeepalive(this.keepalive.intervalMs);
    if (socket.isPaused()) socket.resume();
  }

  private armKeepalive(ms: number): void {
    this.kaTimer = setTimeout(this.keepaliveCheck, ms);
    this.kaTimer.unref();
  }

  /** Runs every keepalive interval: a quiet client gets a PING, and one still quiet after it is dropped. */
  private readonly keepaliveCheck = (): void => {
    this.kaTimer = null;
    if (this.dead) return;
    if (this.activity) {
      this.activity = false;
      this.pingOutstanding = false;
      this.armKeepalive(this.keepalive.intervalMs);
      return;
    }
    if (this.pingOutstanding) {
      this.destroy();
      return;
    }
    this.pingOutstanding = true;
    this.out.frame(T_PING, 0, 0, KEEPALIVE_PING);
    this.armKeepalive(this.keepalive.timeoutMs);
  };

  /** A client PING: answered, and checked against the ping policy. */
  private ping(payload: Buffer): void {
    this.out.frame(T_PING, F_ACK, 0, payload);
    const now = performance.now();
    const last = this.lastPingAt;
    this.lastPingAt = now;
    if (this.resetPingStrikes) {
      this.resetPingStrikes = false;
      this.pingStrikes = 0;
      return;
    }
    const limit = this.streams.size === 0 ? IDLE_PING_INTERVAL_MS : this.keepalive.minPingIntervalMs;
    if (now - last < limit) this.pingStrikes++;
    if (this.pingStrikes > MAX_PING_STRIKES) this.fatal(E_ENHANCE_YOUR_CALM, 'too_many_pings');
  }

  /** Open streams. */
  get size(): number {
    return this.streams.size;
  }

  /** True once the socket is gone. */
  get closed(): boolean {
    return this.dead;
  }

  /**
   * Graceful shutdown: GOAWAY(NO_ERROR) with the last stream taken; streams already open finish,
   * new ones are refused; the socket ends when the last stream closes.
   */
  shutdown(): void {
    if (this.dead || this.goingAway) return;
    this.goAway(E_NO_ERROR, '');
    if (this.streams.size === 0) this.endSocket();
  }

  /** Drops the connection now. */
  destroy(): void {
    this.out.flush();
    this.socket.destroy();
    this.gone();
  }

  // --- input ---

  private receive(chunk: Buffer): void {
    if (this.dead) return;
    this.activity = true;
    try {
      if (this.prefaceLeft > 0) {
        const n = Math.min(this.prefaceLeft, chunk.length);
        const at = PREFACE.length - this.prefaceLeft;
        if (!chunk.subarray(0, n).equals(PREFACE.subarray(at, at + n))) {
          throw new H2ProtocolError(E_PROTOCOL_ERROR, 'invalid connection preface');
        }
        this.prefaceLeft -= n;
        chunk = chunk.subarray(n);
        if (chunk.length === 0) return;
      }
      this.input.push(chunk);
      if (this.connRecvUnacked >= CONN_WINDOW / 4) {
        this.out.frame32(T_WINDOW_UPDATE, 0, this.connRecvUnacked);
        this.connRecvUnacked = 0;
      }
    } catch (e) {
      if (e instanceof H2ProtocolError) this.fatal(e.code, e.message);
      else if (e instanceof HpackError) this.fatal(E_COMPRESSION_ERROR, e.message);
      else this.fatal(E_INTERNAL_ERROR, (e as Error).message);
    }
  }

  private frame(type: number, flags: number, sid: number, payload: Buffer): void {
    if (this.dead) return; // a connection error earlier in the same read
    if (this.hdrStream !== 0 && type !== T_CONTINUATION) {
      throw new H2ProtocolError(E_PROTOCOL_ERROR, 'expected CONTINUATION');
    }
    switch (type) {
      case T_DATA:
        return this.data(flags, sid, payload);
      case T_HEADERS:
        return this.headers(flags, sid, payload);
      case T_CONTINUATION: {
        if (sid !== this.hdrStream || sid === 0) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'unexpected CONTINUATION');
        this.addHeaderPart(payload);
        if (flags & F_END_HEADERS) {
          const sidDone = this.hdrStream;
          this.hdrStream = 0;
          const block = Buffer.concat(this.hdrParts);
          this.hdrParts = [];
          this.headerBlockDone(sidDone, block);
        }
        return;
      }
      case T_RST_STREAM: {
        if (sid === 0 || payload.length !== 4) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'bad RST_STREAM');
        const s = this.streams.get(sid);
        if (s !== undefined) this.close(s, payload.readUInt32BE(0) || 0x8);
        return;
      }
      case T_SETTINGS:
        return this.settings(flags, sid, payload);
      case T_PING: {
        if (sid !== 0 || payload.length !== 8) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'bad PING');
        if (!(flags & F_ACK)) this.ping(payload);
        return;
      }
      case T_GOAWAY:
        // The client is leaving: it starts no more streams; open ones finish normally.
        this.goingAway = true;
        return;
      case T_WINDOW_UPDATE: {
        if (payload.length !== 4) throw new H2ProtocolError(E_FRAME_SIZE_ERROR, 'bad WINDOW_UPDATE');
        const inc = payload.readUInt32BE(0) & 0x7fffffff;
        if (sid === 0) {
          if (inc === 0) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
          this.connSendWindow += inc;
          if (this.connSendWindow > MAX_WINDOW) throw new H2ProtocolError(E_FLOW_CONTROL_ERROR, 'connection window overflow');
        } else {
          const s = this.streams.get(sid);
          if (s === undefined) return;
          s.sendWindow += inc;
        }
        if (this.blocked.length > 0) this.sendBlocked();
        return;
      }
      case T_PUSH_PROMISE:
        throw new H2ProtocolError(E_PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      default:
        return; // PRIORITY and unknown frame types are ignored (RFC 9113 §5.5)
    }
  }

  private data(flags: number, sid: number, payload: Buffer): void {
    if (sid === 0) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'DATA on stream 0');
    this.connRecvUnacked += payload.length;
    const s = this.streams.get(sid);
    if (s === undefined || s.remoteEnded) {
      if (sid > this.lastStreamId) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'DATA on an idle stream');
      return; // a stream we closed: the bytes only count for the connection window
    }
    let data = payload;
    if (flags & F_PADDED) {
      if (payload.length < 1 || payload[0]! >= payload.length) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'bad padding');
      data = payload.subarray(1, payload.length - payload[0]!);
    }
    if (data.length > 0) s.onData(data);
    if (flags & F_END_STREAM) {
      this.remoteEnd(s);
      return;
    }
    s.recvUnacked += payload.length;
    if (s.recvUnacked >= STREAM_WINDOW / 4 && !s.closed) {
      this.out.frame32(T_WINDOW_UPDATE, sid, s.recvUnacked);
      s.recvUnacked = 0;
    }
  }

  private headers(flags: number, sid: number, payload: Buffer): void {
    if (sid === 0) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'HEADERS on stream 0');
    let off = 0;
    let end = payload.length;
    if (flags & F_PADDED) {
      if (payload.length < 1) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'bad padding');
      end -= payload[0]!;
      off = 1;
    }
    if (flags & F_PRIORITY) off += 5;
    if (off > end) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'bad HEADERS padding');
    const frag = payload.subarray(off, end);
    this.hdrEndStream = (flags & F_END_STREAM) !== 0;
    if (flags & F_END_HEADERS) {
      this.headerBlockDone(sid, frag);
      return;
    }
    this.hdrStream = sid;
    this.hdrParts = [];
    this.hdrSize = 0;
    this.addHeaderPart(frag);
  }

  private addHeaderPart(part: Buffer): void {
    this.hdrSize += part.length;
    if (this.hdrSize > MAX_HEADER_BLOCK) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'header block too large');
    this.hdrParts.push(Buffer.from(part));
  }

  private headerBlockDone(sid: number, block: Buffer): void {
    // Every block is decoded, whatever its stream, to keep the HPACK table in step.
    this.curHeaders = new HeaderFields();
    this.curSize = 0;
    this.hpack.decode(block, this.onField);
    const headers = this.curHeaders;
    const endStream = this.hdrEndStream;
    const existing = this.streams.get(sid);
    if (existing !== undefined) {
      // Trailers: they end the request.
      if (!endStream) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'trailers without END_STREAM');
      if (!existing.remoteEnded) this.remoteEnd(existing);
      return;
    }
    if (sid <= this.lastStreamId) return; // a stream already closed
    if ((sid & 1) === 0) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'client stream ids are odd');
    this.lastStreamId = sid;
    if (this.goingAway || this.streams.size >= this.maxStreams) {
      this.out.frame32(T_RST_STREAM, sid, E_REFUSED_STREAM);
      return;
    }
    const s = new H2Stream(this, sid, headers, this.peerInitialWindow);
    this.streams.set(sid, s);
    if (this.curSize > MAX_HEADER_LIST) {
      s.respond(headerBlock([[':status', '431']]), true);
      return;
    }
    this.opts.onStream(s);
    if (endStream && !s.closed) this.remoteEnd(s);
  }

  private remoteEnd(s: H2Stream): void {
    s.remoteEnded = true;
    s.onEnd();
    if (s.localEnded && s.queuedBytes === 0 && s.queue.length === 0) this.close(s, E_NO_ERROR);
  }

  private settings(flags: number, sid: number, payload: Buffer): void {
    if (sid !== 0) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & F_ACK) return;
    if (payload.length % 6 !== 0) throw new H2ProtocolError(E_FRAME_SIZE_ERROR, 'bad SETTINGS length');
    for (let o = 0; o < payload.length; o += 6) {
      const id = payload.readUInt16BE(o);
      const v = payload.readUInt32BE(o + 2);
      if (id === S_INITIAL_WINDOW_SIZE) {
        if (v > MAX_WINDOW) throw new H2ProtocolError(E_FLOW_CONTROL_ERROR, 'initial window too large');
        const delta = v - this.peerInitialWindow;
        this.peerInitialWindow = v;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (id === S_MAX_FRAME_SIZE) {
        if (v < DEFAULT_MAX_FRAME || v > 0xffffff) throw new H2ProtocolError(E_PROTOCOL_ERROR, 'bad max frame size');
        this.peerMaxFrame = v;
      }
    }
    this.out.frame(T_SETTINGS, F_ACK, 0, Buffer.alloc(0));
    if (this.blocked.length > 0) this.sendBlocked();
  }

  // --- output (called by H2Stream) ---

  /** @internal */
  writeHeaders(s: H2Stream, block: Buffer, endStream: boolean): void {
    this.resetPingStrikes = true;
    const max = this.peerMaxFrame;
    const out = this.out;
    let flags = endStream ? F_END_STREAM : 0;
    if (block.length <= max) {
      out.reserve(9 + block.length);
      out.header(block.length, T_HEADERS, flags | F_END_HEADERS, s.id);
      out.bytes(block);
    } else {
      let type = T_HEADERS;
      for (let at = 0; at < block.length; at += max) {
        const to = Math.min(block.length, at + max);
        if (to === block.length) flags |= F_END_HEADERS;
        out.reserve(9 + to - at);
        out.header(to - at, type, flags, s.id);
        out.bytes(block, at, to);
        type = T_CONTINUATION;
        flags = 0;
      }
    }
    if (endStream) {
      s.localEnded = true;
      this.localEnd(s);
    }
  }

  /** @internal */
  writeData(s: H2Stream, data: Uint8Array): void {
    this.resetPingStrikes = true;
    if (s.queue.length === 0) {
      const n = data.length;
      if (n <= s.sendWindow && n <= this.connSendWindow && n <= this.peerMaxFrame) {
        // The usual case: one frame, sent now.
        const out = this.out;
        out.reserve(9 + n);
        out.header(n, T_DATA, 0, s.id);
        out.bytes(data);
        s.sendWindow -= n;
        this.connSendWindow -= n;
        return;
      }
    }
    const copy = Buffer.from(data); // the caller may reuse its buffer
    s.queue.push(copy);
    s.queuedBytes += copy.length;
    this.block(s);
  }

  /** @internal */
  writeEnd(s: H2Stream, trailers: Buffer | null): void {
    if (s.queue.length > 0) {
      s.queue.push(null);
      s.queuedTrailers = trailers;
      return;
    }
    this.finishOutput(s, trailers);
  }

  private finishOutput(s: H2Stream, trailers: Buffer | null): void {
    if (trailers !== null) this.writeHeaders(s, trailers, true);
    else {
      this.out.reserve(9);
      this.out.header(0, T_DATA, F_END_STREAM, s.id);
      this.localEnd(s);
    }
  }

  /** Our side is done: close the stream, resetting it if the client is still sending (as grpc-go). */
  private localEnd(s: H2Stream): void {
    if (!s.remoteEnded) {
      this.out.frame32(T_RST_STREAM, s.id, E_NO_ERROR);
    }
    this.close(s, E_NO_ERROR);
  }

  /** @internal */
  resetStream(s: H2Stream, code: number): void {
    this.out.frame32(T_RST_STREAM, s.id, code);
    this.close(s, code);
  }

  private block(s: H2Stream): void {
    if (!this.blocked.includes(s)) this.blocked.push(s);
    // A drain callback writing more lands here while sendBlocked runs: its loop reaches `s`.
    if (!this.sending) this.sendBlocked();
  }

  /** Sends what the windows allow of the queued output, stream by stream in order. */
  private sendBlocked(): void {
    if (this.sending) return;
    this.sending = true;
    try {
      // Again while it makes progress: a drain callback may have queued more behind the cursor.
      while (this.sendQueued());
    } finally {
      this.sending = false;
    }
    this.blocked = this.blocked.filter((s) => s.queue.length > 0 && !s.closed);
  }

  /** One pass over the blocked streams; true if anything was sent. */
  private sendQueued(): boolean {
    const out = this.out;
    let sent = false;
    for (const s of this.blocked) {
      let progressed = false;
      while (s.queue.length > 0 && !s.closed) {
        const head = s.queue[0] as Buffer | null;
        if (head === null) {
          s.queue.shift();
          const t = s.queuedTrailers;
          s.queuedTrailers = null;
          this.finishOutput(s, t);
          progressed = true;
          break;
        }
        const n = Math.min(head.length, s.sendWindow, this.connSendWindow, this.peerMaxFrame);
        if (n <= 0 && head.length > 0) break;
        out.reserve(9 + n);
        out.header(n, T_DATA, 0, s.id);
        out.bytes(head, 0, n);
        progressed = true;
        s.sendWindow -= n;
        this.connSendWindow -= n;
        s.queuedBytes -= n;
        if (n === head.length) s.queue.shift();
        else s.queue[0] = head.subarray(n);
      }
      if (progressed) {
        sent = true;
        if (s.queue.length === 0 && !s.closed) s.onDrain();
      }
      if (this.connSendWindow <= 0) break;
    }
    return sent;
  }

  private close(s: H2Stream, code: number): void {
    if (s.closed) return;
    s.closed = true;
    s.closeCode = code;
    s.queue = [];
    s.queuedBytes = 0;
    this.streams.delete(s.id);
    s.onClose();
    if (this.goingAway && this.streams.size === 0) this.endSocket();
  }

  private goAway(code: number, debug: string): void {
    this.goingAway = true;
    const d = Buffer.from(debug, 'utf8');
    const p = Buffer.allocUnsafe(8 + d.length);
    p.writeUInt32BE(this.lastStreamId, 0);
    p.writeUInt32BE(code, 4);
    d.copy(p, 8);
    this.out.frame(T_GOAWAY, 0, 0, p);
  }

  private endSocket(): void {
    process.nextTick(() => {
      this.out.flush();
      if (!this.socket.destroyed) this.socket.end();
    });
  }

  /** A connection error: GOAWAY with the code, then the socket is dropped. */
  private fatal(code: number, why: string): void {
    if (this.dead) return;
    this.goAway(code, why);
    this.out.flush();
    this.out.close();
    this.socket.end();
    this.gone();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private gone(): void {
    if (this.dead) return;
    this.dead = true;
    if (this.kaTimer !== null) clearTimeout(this.kaTimer);
    this.out.close();
    const open = [...this.streams.values()];
    for (const s of open) this.close(s, E_INTERNAL_ERROR);
    this.opts.onClose?.();
  }
}
