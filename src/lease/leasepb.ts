// Hand-written protobuf codec of etcd's leasepb.Lease {ID=1, TTL=2, RemainingTTL=3} (all int64),
// the value stored per lease in the `lease` bucket, and the bucket's key: the ID as 8 bytes
// big-endian (uint64 of the int64), as etcd's schema/lease.go writes them.

import { Reader, Writer, sizeInt64Field, sizeIntField } from '../pkg/protobuf.js';

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

export function encodeLease(r: LeaseRecord): Buffer {
  const w = new Writer(sizeInt64Field(r.id) + sizeIntField(r.ttl) + sizeIntField(r.remainingTtl));
  w.int64(1, r.id);
  w.int(2, r.ttl);
  w.int(3, r.remainingTtl);
  return w.buf;
}

export function decodeLease(buf: Uint8Array): LeaseRecord {
  const l: LeaseRecord = { id: 0n, ttl: 0, remainingTtl: 0 };
  const r = Reader.of(buf);
  while (!r.done()) {
    const key = r.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) l.id = r.int64();
    else if (field === 2 && wire === 0) l.ttl = r.int();
    else if (field === 3 && wire === 0) l.remainingTtl = r.int();
    else r.skip(wire);
  }
  return l;
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
