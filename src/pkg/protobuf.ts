// Protobuf wire primitives shared by every hand-written codec (raftpb, walpb, snappb, mvccpb,
// leasepb, authpb, etcdserverpb, the gRPC message table): varint sizes, a Writer that fills one
// exactly-sized Buffer (sizes are computed first, so encoding never copies or grows), and a Reader
// over a byte range whose byte fields are views into the input, not copies.
//
// Numbers are exact up to 2^53 (indexes, terms, revisions, TTLs, lengths); 64-bit IDs are bigint;
// a negative int64 (number or bigint) takes ten bytes (two's complement), as protobuf writes it.
// Field writers come in two flavours: `*Field` always writes (proto2 / gogoproto non-nullable
// fields), while `int`, `int64`, `bool` and `bytes` omit the default value (proto3). The
// `size*Field` helpers assume field numbers below 16 (one-byte tags), as all their callers use.

const TWO_32 = 4294967296;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Malformed protobuf input: truncated, an over-long varint, or an unknown wire type. */
export class ProtoDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoDecodeError';
  }
}

const eof = (): ProtoDecodeError => new ProtoDecodeError('unexpected EOF');
const overflow = (): ProtoDecodeError => new ProtoDecodeError('proto: integer overflow');

// ---- sizes ------------------------------------------------------------------------------------

/** Encoded length of the varint of an integer in [-2^53, 2^53] (negative: int64, ten bytes). */
export function sizeVarint(v: number): number {
  if (v < 0x80) return v < 0 ? 10 : 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 4;
  v = Math.floor(v / 0x10000000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 128);
  }
  return n;
}

/** Encoded length of a uint64 or int64 varint (negative: two's complement, ten bytes). */
export function sizeVarintBig(v: bigint): number {
  if (v >= 0n && v <= MAX_SAFE) return sizeVarint(Number(v));
  if (v < 0n) return 10;
  let n = 0;
  while (v > 0n) {
    n++;
    v >>= 7n;
  }
  return n;
}

/** A tagged length-delimited field of `len` bytes, always written. */
export const sizeLenField = (len: number): number => 1 + sizeVarint(len) + len;
/** proto3 sizes: the field is omitted at its default (0, 0n, false, empty). */
export const sizeIntField = (v: number): number => (v === 0 ? 0 : 1 + sizeVarint(v));
export const sizeInt64Field = (v: bigint): number => (v === 0n ? 0 : 1 + sizeVarintBig(v));
export const sizeBoolField = (v: boolean | undefined): number => (v ? 2 : 0);
export const sizeBytesField = (len: number): number => (len === 0 ? 0 : 1 + sizeVarint(len) + len);

// ---- writing ----------------------------------------------------------------------------------

/**
 * Writes the varint of an integer in [-2^53, 2^53] at `pos` (negative: as an int64, ten bytes);
 * returns the position after it. For callers that encode into a buffer they own (the WAL's write
 * buffer, the gRPC codec).
 */
export function putVarint(buf: Uint8Array, pos: number, v: number): number {
  if (v < 0) return putVarintBig(buf, pos, BigInt(v));
  while (v >= TWO_32) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Writes a uint64 or int64 (negative: ten bytes, two's complement) at `pos`; returns the end. */
export function putVarintBig(buf: Uint8Array, pos: number, v: bigint): number {
  if (v >= 0n && v <= MAX_SAFE) return putVarint(buf, pos, Number(v));
  let u = BigInt.asUintN(64, v);
  while (u >= 0x80n) {
    buf[pos++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[pos++] = Number(u);
  return pos;
}

/** Writes protobuf into one Buffer of the exact encoded size (compute sizes first). */
export class Writer {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  varint(v: number): void {
    this.pos = putVarint(this.buf, this.pos, v);
  }

  varintBig(v: bigint): void {
    this.pos = putVarintBig(this.buf, this.pos, v);
  }

  tag(field: number, wire: number): void {
    const t = field * 8 + wire;
    if (t < 0x80) this.buf[this.pos++] = t;
    else this.varint(t);
  }

  /** Tagged varint, always written. */
  uintField(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }

  /** Tagged uint64/int64 varint, always written. */
  uint64Field(field: number, v: bigint): void {
    this.tag(field, 0);
    this.varintBig(v);
  }

  /** Tagged bytes, always written. */
  bytesField(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  /** Header of a length-delimited field of `len` bytes (an embedded message): the caller writes the content next. */
  lenField(field: number, len: number): void {
    this.tag(field, 2);
    this.varint(len);
  }

  /** proto3 varint: omitted when zero. */
  int(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, 0);
    this.varint(v);
  }

  /** proto3 int64/uint64: omitted when zero. */
  int64(field: number, v: bigint): void {
    if (v === 0n) return;
    this.tag(field, 0);
    this.varintBig(v);
  }

  /** proto3 bool: omitted when false. */
  bool(field: number, v: boolean | undefined): void {
    if (!v) return;
    this.tag(field, 0);
    this.buf[this.pos++] = 1;
  }

  /** proto3 bytes: omitted when empty. */
  bytes(field: number, v: Uint8Array | undefined): void {
    if (v === undefined || v.length === 0) return;
    this.bytesField(field, v);
  }
}

// ---- reading ----------------------------------------------------------------------------------

/** A Buffer view (no copy) of any Uint8Array, so decoded byte fields are Buffers. */
export const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * Reads protobuf from `buf[pos, end)`; byte fields come back as views into `buf`. The constructor
 * takes a Buffer (checked by the compiler, not at run time: sub-readers are made per embedded
 * message); `Reader.of` accepts any Uint8Array.
 */
export class Reader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  static of(bytes: Uint8Array, start = 0, end = bytes.length): Reader {
    return new Reader(asBuffer(bytes), start, end);
  }

  /** Points this reader at another range, so a hot loop can reuse one reader. */
  reset(buf: Buffer, start = 0, end = buf.length): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number: exact up to 2^53 (a negative int64 comes back as a large positive). */
  varint(): number {
    // One-byte values (tags, small lengths and numbers) are most of what is read.
    const pos = this.pos;
    if (pos < this.end) {
      const byte = this.buf[pos]!;
      if (byte < 0x80) {
        this.pos = pos + 1;
        return byte;
      }
    }
    return this.varintLong();
  }

  private varintLong(): number {
    const b = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw eof();
      const byte = b[this.pos++]!;
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) return result;
      mul *= 128;
    }
    throw overflow();
  }

  /** A varint as a bigint in [0, 2^64), read as two 32-bit halves so only the result is a BigInt. */
  private big(): bigint {
    const b = this.buf;
    const end = this.end;
    let pos = this.pos;
    let lo = 0;
    let byte = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= end) throw eof();
      byte = b[pos++]!;
      lo |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = pos;
        return BigInt(lo >>> 0);
      }
    }
    if (pos >= end) throw eof();
    byte = b[pos++]!;
    lo |= (byte & 0x0f) << 28;
    let hi = (byte & 0x7f) >>> 4;
    for (let shift = 3; byte >= 0x80; shift += 7) {
      if (shift > 31) throw overflow();
      if (pos >= end) throw eof();
      byte = b[pos++]!;
      hi |= (byte & 0x7f) << shift;
    }
    this.pos = pos;
    return hi === 0 ? BigInt(lo >>> 0) : (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }

  /** A uint64 as bigint; values below 2^49 (seven bytes) avoid BigInt arithmetic. */
  uint64(): bigint {
    const start = this.pos;
    const v = this.varint();
    if (this.pos - start < 8) return BigInt(v);
    this.pos = start;
    return this.big();
  }

  /** An int64 as bigint (negative values come back negative). */
  int64(): bigint {
    const start = this.pos;
    const v = this.varint();
    if (this.pos - start < 8) return BigInt(v);
    this.pos = start;
    return BigInt.asIntN(64, this.big());
  }

  /** An int64 known to be small (revisions, TTLs) as a number; negative values stay negative. */
  int(): number {
    const start = this.pos;
    const v = this.varint();
    if (this.pos - start < 10) return v;
    this.pos = start;
    return Number(BigInt.asIntN(64, this.big()));
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  /** The [start, end) of a length-delimited field's content; the reader moves past it. */
  lenDelimited(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw eof();
    this.pos = end;
    return [start, end];
  }

  /** A length-delimited field as a view (no copy) into the input. */
  bytes(): Buffer {
    const len = this.varint();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw eof();
    this.pos = end;
    return this.buf.subarray(start, end);
  }

  /** A reader over an embedded message; this reader moves past it. */
  sub(): Reader {
    const len = this.varint();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw eof();
    this.pos = end;
    return new Reader(this.buf, start, end);
  }

  /** Skips a field's value of wire type `wire` (the tag already read). */
  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2: {
        // The length must be read before it is added: `pos += varint()` would add to the old pos.
        const len = this.varint();
        this.pos += len;
        break;
      }
      case 5:
        this.pos += 4;
        break;
      default:
        throw new ProtoDecodeError(`proto: illegal wireType ${wire}`);
    }
    if (this.pos > this.end) throw eof();
  }

  /** A repeated uint64 field, packed (wire 2) or not (wire 0), appended to `into`. */
  uint64s(wire: number, into: bigint[]): void {
    if (wire === 0) {
      into.push(this.uint64());
      return;
    }
    if (wire !== 2) throw new ProtoDecodeError(`proto: wrong wireType ${wire} for repeated uint64`);
    const s = this.sub();
    while (!s.done()) into.push(s.uint64());
  }
}
