// mvccpb.KeyValue and mvccpb.Event: the stored value of every revision in the key bucket, encoded
// by hand as protobuf (key=1, create_revision=2, mod_revision=3, version=4, value=5, lease=6),
// zero fields omitted as gogo/protobuf does, so the bytes (and HashKV) match etcd's.

export interface KeyValue {
  key: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Buffer;
  /** Lease ID (int64); 0n when the key has no lease. */
  lease: bigint;
}

export const EventType = { PUT: 0, DELETE: 1 } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export interface Event {
  type: EventType;
  kv: KeyValue;
  prevKv?: KeyValue;
}

export const EMPTY = Buffer.alloc(0);
export const NO_LEASE = 0n;

const TWO32 = 0x1_0000_0000;

function varintLen(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function leaseLen(lease: bigint): number {
  if (lease > 0n && lease <= 0x1f_ffff_ffff_ffffn) return varintLen(Number(lease));
  let u = BigInt.asUintN(64, lease);
  let len = 1;
  while (u >= 128n) {
    u >>= 7n;
    len++;
  }
  return len;
}

/** Protobuf-encoded size of a KeyValue. */
export function keyValueSize(kv: KeyValue): number {
  let n = 0;
  const k = kv.key.length;
  if (k > 0) n += 1 + varintLen(k) + k;
  if (kv.createRevision !== 0) n += 1 + varintLen(kv.createRevision);
  if (kv.modRevision !== 0) n += 1 + varintLen(kv.modRevision);
  if (kv.version !== 0) n += 1 + varintLen(kv.version);
  const v = kv.value.length;
  if (v > 0) n += 1 + varintLen(v) + v;
  if (kv.lease !== NO_LEASE) n += 1 + leaseLen(kv.lease);
  return n;
}

/** Protobuf-encoded size of an Event (type=1, kv=2, prev_kv=3). */
export function eventSize(ev: Event): number {
  let n = ev.type === EventType.DELETE ? 2 : 0;
  const k = keyValueSize(ev.kv);
  n += 1 + varintLen(k) + k;
  if (ev.prevKv !== undefined) {
    const p = keyValueSize(ev.prevKv);
    n += 1 + varintLen(p) + p;
  }
  return n;
}

function putVarint(b: Buffer, off: number, n: number): number {
  while (n >= 128) {
    b[off++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  b[off++] = n;
  return off;
}

function putLease(b: Buffer, off: number, lease: bigint): number {
  if (lease > 0n && lease <= 0x1f_ffff_ffff_ffffn) return putVarint(b, off, Number(lease));
  let u = BigInt.asUintN(64, lease);
  while (u >= 128n) {
    b[off++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  b[off++] = Number(u);
  return off;
}

export function encodeKeyValue(kv: KeyValue): Buffer {
  const b = Buffer.allocUnsafe(keyValueSize(kv));
  let o = 0;
  const k = kv.key.length;
  if (k > 0) {
    b[o++] = 0x0a;
    o = putVarint(b, o, k);
    o += kv.key.copy(b, o);
  }
  if (kv.createRevision !== 0) {
    b[o++] = 0x10;
    o = putVarint(b, o, kv.createRevision);
  }
  if (kv.modRevision !== 0) {
    b[o++] = 0x18;
    o = putVarint(b, o, kv.modRevision);
  }
  if (kv.version !== 0) {
    b[o++] = 0x20;
    o = putVarint(b, o, kv.version);
  }
  const v = kv.value.length;
  if (v > 0) {
    b[o++] = 0x2a;
    o = putVarint(b, o, v);
    o += kv.value.copy(b, o);
  }
  if (kv.lease !== NO_LEASE) {
    b[o++] = 0x30;
    o = putLease(b, o, kv.lease);
  }
  return b;
}

/**
 * Decodes a KeyValue. Key and value are views into `b` (no copy): `b` must not be reused.
 * Unknown fields are skipped, as protobuf requires.
 */
export function decodeKeyValue(b: Buffer): KeyValue {
  const kv: KeyValue = { key: EMPTY, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: NO_LEASE };
  let o = 0;
  const end = b.length;
  while (o < end) {
    const tag = b[o++];
    const wire = tag & 7;
    const field = tag >>> 3;
    if (tag >= 0x80) throw new Error('mvcc: unsupported protobuf tag in KeyValue');
    if (wire === 0) {
      // varint: numbers below 2^53 read exactly; the lease may use all 64 bits
      let lo = 0;
      let hi = 0;
      let shift = 0;
      let byte: number;
      do {
        if (o >= end) throw new Error('mvcc: truncated KeyValue');
        byte = b[o++];
        if (shift < 28) lo |= (byte & 0x7f) << shift;
        else if (shift === 28) {
          lo |= (byte & 0x0f) << 28;
          hi = (byte & 0x7f) >>> 4;
        } else hi |= (byte & 0x7f) << (shift - 32);
        shift += 7;
      } while (byte >= 0x80);
      const n = (hi >>> 0) * TWO32 + (lo >>> 0);
      switch (field) {
        case 2:
          kv.createRevision = n;
          break;
        case 3:
          kv.modRevision = n;
          break;
        case 4:
          kv.version = n;
          break;
        case 6:
          kv.lease = BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
          break;
      }
    } else if (wire === 2) {
      let len = 0;
      let shift = 0;
      let byte: number;
      do {
        byte = b[o++];
        len += (byte & 0x7f) * 2 ** shift;
        shift += 7;
      } while (byte >= 0x80);
      if (o + len > end) throw new Error('mvcc: truncated KeyValue');
      if (field === 1) kv.key = b.subarray(o, o + len);
      else if (field === 5) kv.value = b.subarray(o, o + len);
      o += len;
    } else if (wire === 5) o += 4;
    else if (wire === 1) o += 8;
    else throw new Error(`mvcc: bad wire type ${wire} in KeyValue`);
  }
  return kv;
}
