// HTTP/2 framing (RFC 9113 §4, §6) shared by our lean HTTP/2 endpoints, the gRPC server and the load
// tool's client: the frame, flag and setting numbers, an input splitter that hands out complete
// frames as views of the received bytes, and an output slab that collects the frames written during
// one event-loop turn and hands them to the socket in a single write.

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const T_DATA = 0x0;
export const T_HEADERS = 0x1;
export const T_PRIORITY = 0x2;
export const T_RST_STREAM = 0x3;
export const T_SETTINGS = 0x4;
export const T_PUSH_PROMISE = 0x5;
export const T_PING = 0x6;
export const T_GOAWAY = 0x7;
export const T_WINDOW_UPDATE = 0x8;
export const T_CONTINUATION = 0x9;

export const F_END_STREAM = 0x1;
export const F_ACK = 0x1;
export const F_END_HEADERS = 0x4;
export const F_PADDED = 0x8;
export const F_PRIORITY = 0x20;

export const S_HEADER_TABLE_SIZE = 0x1;
export const S_ENABLE_PUSH = 0x2;
export const S_MAX_CONCURRENT_STREAMS = 0x3;
export const S_INITIAL_WINDOW_SIZE = 0x4;
export const S_MAX_FRAME_SIZE = 0x5;
export const S_MAX_HEADER_LIST_SIZE = 0x6;

// Error codes (§7).
export const E_NO_ERROR = 0x0;
export const E_PROTOCOL_ERROR = 0x1;
export const E_INTERNAL_ERROR = 0x2;
export const E_FLOW_CONTROL_ERROR = 0x3;
export const E_STREAM_CLOSED = 0x5;
export const E_FRAME_SIZE_ERROR = 0x6;
export const E_REFUSED_STREAM = 0x7;
export const E_CANCEL = 0x8;
export const E_COMPRESSION_ERROR = 0x9;
export const E_ENHANCE_YOUR_CALM = 0xb;

export const DEFAULT_WINDOW = 65535;
export const DEFAULT_MAX_FRAME = 16384;
export const MAX_WINDOW = 0x7fffffff;

/** A connection error: the peer broke the protocol; the connection ends with GOAWAY(code). */
export class H2ProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export type FrameHandler = (type: number, flags: number, streamId: number, payload: Buffer) => void;

/**
 * Splits received bytes into frames. Payloads are views of the received chunk (valid as long as
 * the receiver keeps them; a frame split across chunks is reassembled into a copy).
 */
export class FrameInput {
  private carry: Buffer | null = null;

  /** @param maxFrame the largest payload accepted (our SETTINGS_MAX_FRAME_SIZE) */
  constructor(
    private readonly onFrame: FrameHandler,
    private readonly maxFrame = Infinity,
  ) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.carry !== null) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let p = 0;
    const n = buf.length;
    while (n - p >= 9) {
      const len = (buf[p]! << 16) | (buf[p + 1]! << 8) | buf[p + 2]!;
      if (len > this.maxFrame) throw new H2ProtocolError(E_FRAME_SIZE_ERROR, `frame of ${len} bytes exceeds ${this.maxFrame}`);
      if (n - p - 9 < len) break;
      const sid = buf.readUInt32BE(p + 5) & 0x7fffffff;
      this.onFrame(buf[p + 3]!, buf[p + 4]!, sid, buf.subarray(p + 9, p + 9 + len));
      p += 9 + len;
    }
    // Copy: keep no reference into a large chunk for a few trailing bytes.
    if (p < n) this.carry = Buffer.from(buf.subarray(p));
  }
}

const SLAB_SIZE = 256 * 1024;

/**
 * Frames written during one turn of the event loop, flushed together with one socket write on the
 * next tick. A flushed region is never rewritten (the socket may still hold it): filling continues
 * after it, and a full slab is replaced by a new one.
 */
export class FrameOutput {
  private slab = Buffer.allocUnsafe(SLAB_SIZE);
  private start = 0;
  /** Write position in `buf` (advance it after writing directly). */
  pos = 0;
  private scheduled = false;
  private closed = false;

  constructor(private readonly write: (bytes: Buffer) => void) {}

  /** The current slab: after reserve(n), n bytes from `pos` may be written directly. */
  get buf(): Buffer {
    return this.slab;
  }

  /** Makes room for n more bytes and schedules a flush. */
  reserve(n: number): void {
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
    if (this.pos + n <= this.slab.length) return;
    const pending = this.slab.subarray(this.start, this.pos);
    const next = Buffer.allocUnsafe(Math.max(SLAB_SIZE, n + pending.length));
    pending.copy(next, 0);
    this.slab = next;
    this.start = 0;
    this.pos = pending.length;
  }

  /** Writes a 9-byte frame header at `pos` (room must have been reserved). */
  header(len: number, type: number, flags: number, streamId: number): void {
    const b = this.slab;
    const o = this.pos;
    b[o] = len >>> 16;
    b[o + 1] = (len >>> 8) & 0xff;
    b[o + 2] = len & 0xff;
    b[o + 3] = type;
    b[o + 4] = flags;
    b.writeUInt32BE(streamId, o + 5);
    this.pos = o + 9;
  }

  /** Copies bytes at `pos` (room must have been reserved). */
  bytes(src: Uint8Array, from = 0, to = src.length): void {
    this.slab.set(from === 0 && to === src.length ? src : src.subarray(from, to), this.pos);
    this.pos += to - from;
  }

  /** A whole frame. */
  frame(type: number, flags: number, streamId: number, payload: Uint8Array): void {
    this.reserve(9 + payload.length);
    this.header(payload.length, type, flags, streamId);
    this.bytes(payload);
  }

  /** A frame with a 4-byte payload (WINDOW_UPDATE, RST_STREAM). */
  frame32(type: number, streamId: number, value: number): void {
    this.reserve(13);
    this.header(4, type, 0, streamId);
    this.slab.writeUInt32BE(value, this.pos);
    this.pos += 4;
  }

  /** Stops writing (the socket is gone); later frames are dropped. */
  close(): void {
    this.closed = true;
  }

  /** Hands the collected frames to the socket now. */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.pos === this.start || this.closed) return;
    const out = this.slab.subarray(this.start, this.pos);
    this.start = this.pos;
    this.write(out);
  };
}
