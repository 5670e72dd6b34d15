// Hand-written protobuf codec of etcd's leasepb.Lease {ID=1, TTL=2, RemainingTTL=3} (all int64),
// the value stored per lease in the `lease` bucket, and the bucket's key: the ID as 8 bytes
// big-endian (uint64 of the int64), as etcd's schema/lease.go writes them.

export interface LeaseRecord {
  id: bigint;
  /** Seconds. */
  ttl: number;
  /** Seconds; 0 means unset. */
  remainingTtl: number;
}

export class LeasePbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeasePbError';
  }
}

const U64 = (1n << 64n) - 1n;

/** Varint of an int64 (negative values take ten bytes, two's complement, as protobuf does). */
function varintSize(v: bigint): number {
  let u = v & U64;
  let n = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, off: number, v: bigint): number {
  let u = v & U64;
  while (u >= 0x80n) {
    buf[off++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[off++] = Number(u);
  return off;
}

export function encodeLease(r: LeaseRecord): Buffer {
  const ttl = BigInt(r.ttl);
  const rem = BigInt(r.remainingTtl);
  let size = 0;
  if (r.id !== 0n) size += 1 + varintSize(r.id);
  if (ttl !== 0n) size += 1 + varintSize(ttl);
  if (rem !== 0n) size += 1 + varintSize(rem);
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  if (r.id !== 0n) {
    buf[off++] = 0x08;
    off = writeVarint(buf, off, r.id);
  }
  if (ttl !== 0n) {
    buf[off++] = 0x10;
    off = writeVarint(buf, off, ttl);
  }
  if (rem !== 0n) {
    buf[off++] = 0x18;
    off = writeVarint(buf, off, rem);
  }
  return buf;
}

export function decodeLease(buf: Uint8Array): LeaseRecord {
  const r: LeaseRecord = { id: 0n, ttl: 0, remainingTtl: 0 };
  let off = 0;
  const readVarint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (off >= buf.length) throw new LeasePbError('leasepb: unexpected EOF');
      const b = buf[off++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, v);
      shift += 7n;
      if (shift >= 70n) throw new LeasePbError('leasepb: integer overflow');
    }
  };
  while (off < buf.length) {
    const tag = Number(readVarint());
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      const v = readVarint();
      if (field === 1) r.id = v;
      else if (field === 2) r.ttl = Number(v);
      else if (field === 3) r.remainingTtl = Number(v);
    } else if (wire === 2) {
      const len = Number(readVarint());
      if (len < 0 || off + len > buf.length) throw new LeasePbError('leasepb: unexpected EOF');
      off += len;
    } else if (wire === 1) {
      off += 8;
    } else if (wire === 5) {
      off += 4;
    } else {
      throw new LeasePbError(`leasepb: illegal wireType ${wire} for field ${field}`);
    }
  }
  if (off > buf.length) throw new LeasePbError('leasepb: unexpected EOF');
  return r;
}

/** The lease bucket key of a lease ID. */
export function leaseIdKey(id: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, id));
  return b;
}

export function leaseIdFromKey(key: Uint8Array): bigint {
  if (key.length !== 8) throw new LeasePbError('lease ID must be 8-byte');
  return Buffer.from(key.buffer, key.byteOffset, 8).readBigInt64BE();
}
