// Protobuf wire primitives for the server's hand-written codecs (raft_internal.ts): size helpers,
// a writer into one exactly-sized buffer and a reader over a byte range. Numbers are exact below
// 2^53 (revisions, TTLs, counts); int64/uint64 IDs are bigint, negative int64 as 10-byte varints.

const TWO_32 = 4294967296;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export class ProtoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoError';
  }
}

/** Encoded length of a varint holding a non-negative integer ≤ 2^53. */
export function sizeVarint(v: number): number {
  if (v < 0x80) return 1;
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

/** Encoded length of an int64/uint64 varint given as bigint (negative: two's complement, 10 bytes). */
export function sizeVarint64(v: bigint): number {
  if (v < 0n) return 10;
  if (v <= MAX_SAFE) return sizeVarint(Number(v));
  let n = 0;
  while (v > 0n) {
    n++;
    v >>= 7n;
  }
  return n;
}

/** Size of a tagged int field (field number < 16), omitted when zero as proto3 does. */
export const sizeIntField = (v: number): number => (v === 0 ? 0 : 1 + sizeVarint(v));
export const sizeInt64Field = (v: bigint): number => (v === 0n ? 0 : 1 + sizeVarint64(v));
export const sizeBoolField = (v: boolean | undefined): number => (v ? 2 : 0);
/** Size of a tagged length-delimited field of `len` bytes, always written. */
export const sizeLenField = (len: number): number => 1 + sizeVarint(len) + len;
/** Same, omitted when empty. */
export const sizeBytesField = (len: number): number => (len === 0 ? 0 : 1 + sizeVarint(len) + len);

export class Writer {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  varint(v: number): void {
    const b = this.buf;
    while (v >= 0x80000000) {
      b[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    while (v >= 0x80) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[this.pos++] = v;
  }

  varint64(v: bigint): void {
    if (v >= 0n && v <= MAX_SAFE) {
      this.varint(Number(v));
      return;
    }
    let u = BigInt.asUintN(64, v);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** Tagged varint, skipped when zero. */
  int(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, 0);
    this.varint(v);
  }

  int64(field: number, v: bigint): void {
    if (v === 0n) return;
    this.tag(field, 0);
    this.varint64(v);
  }

  bool(field: number, v: boolean | undefined): void {
    if (!v) return;
    this.tag(field, 0);
    this.buf[this.pos++] = 1;
  }

  /** Tagged bytes, skipped when empty. */
  bytes(field: number, v: Uint8Array | undefined): void {
    if (v === undefined || v.length === 0) return;
    this.tag(field, 2);
    this.varint(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Header of an embedded message of `len` bytes; the caller writes its content next. */
  message(field: number, len: number): void {
    this.tag(field, 2);
    this.varint(len);
  }
}

export class Reader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    const b = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError('proto: unexpected EOF');
      const byte = b[this.pos++]!;
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) return result;
      mul *= 128;
    }
    throw new ProtoError('proto: integer overflow');
  }

  /** An int64 varint as bigint (negative values come back negative). */
  int64(): bigint {
    const start = this.pos;
    const v = this.varint();
    if (this.pos - start < 8) return BigInt(v);
    this.pos = start;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asIntN(64, result);
      shift += 7n;
    }
    throw new ProtoError('proto: integer overflow');
  }

  /** A uint64 varint as bigint. */
  uint64(): bigint {
    return BigInt.asUintN(64, this.int64());
  }

  /** int64 known to be small (revisions, TTLs): a number; negative values are returned as such. */
  int(): number {
    const start = this.pos;
    const v = this.varint();
    if (this.pos - start < 10) return v;
    this.pos = start;
    return Number(this.int64());
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  /** A length-delimited field as a view (no copy) into the input. */
  bytes(): Buffer {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new ProtoError('proto: unexpected EOF');
    this.pos = start + len;
    const b = this.buf;
    return Buffer.from(b.buffer, b.byteOffset + start, len);
  }

  /** A sub-reader over an embedded message. */
  sub(): Reader {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new ProtoError('proto: unexpected EOF');
    this.pos = start + len;
    return new Reader(this.buf, start, start + len);
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2: {
        // Read the length first: `pos += varint()` would add to the position before the varint.
        const len = this.varint();
        this.pos += len;
        return;
      }
      case 5:
        this.pos += 4;
        return;
      default:
        throw new ProtoError(`proto: unsupported wire type ${wire}`);
    }
  }
}

export { TWO_32 };
