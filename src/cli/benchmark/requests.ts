// Request generators for the load tool: the protobuf bytes of etcdserverpb.PutRequest and
// RangeRequest, built once as templates and patched in place per request (no per-request
// allocation). Keys follow etcd 3.4's benchmark: a zeroed key of --key-size bytes holding the
// zig-zag varint of the key number (sequential or uniformly random within --key-space-size).
import { randomBytes } from 'node:crypto';

export const KV_PUT = '/etcdserverpb.KV/Put';
export const KV_RANGE = '/etcdserverpb.KV/Range';

function varintLen(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function putVarint(b: Uint8Array, off: number, v: number): number {
  while (v >= 128) {
    b[off++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  b[off++] = v;
  return off;
}

function putBytesField(b: Uint8Array, off: number, tag: number, data: Uint8Array): number {
  b[off++] = tag;
  off = putVarint(b, off, data.length);
  b.set(data, off);
  return off + data.length;
}

/** Bytes of the zig-zag varint Go's binary.PutVarint writes for a non-negative n. */
export function zigzagVarintLen(n: number): number {
  return varintLen(n * 2);
}

/** Writes Go's binary.PutVarint(key, n) for n >= 0 into a zeroed key. */
export function writeKeyNumber(key: Uint8Array, n: number): void {
  key.fill(0);
  putVarint(key, 0, n * 2);
}

/** Encodes a PutRequest{key, value}. */
export function encodePut(key: Uint8Array, value: Uint8Array): Uint8Array {
  const b = new Uint8Array(2 + varintLen(key.length) + key.length + varintLen(value.length) + value.length);
  const o = putBytesField(b, 0, 0x0a, key);
  putBytesField(b, o, 0x12, value);
  return b;
}

/** Encodes a RangeRequest{key, range_end, serializable}. */
export function encodeRange(key: Uint8Array, rangeEnd: Uint8Array, serializable: boolean): Uint8Array {
  const size =
    1 + varintLen(key.length) + key.length +
    (rangeEnd.length > 0 ? 1 + varintLen(rangeEnd.length) + rangeEnd.length : 0) +
    (serializable ? 2 : 0);
  const b = new Uint8Array(size);
  let o = putBytesField(b, 0, 0x0a, key);
  if (rangeEnd.length > 0) o = putBytesField(b, o, 0x12, rangeEnd);
  if (serializable) {
    b[o++] = 0x38; // field 7, varint
    b[o++] = 1;
  }
  return b;
}

export interface PutLoad {
  keySize: number;
  valSize: number;
  keySpaceSize: number;
  sequentialKeys: boolean;
}

/**
 * Returns a generator of PutRequests: call i returns the request for the i-th put. The returned
 * bytes are a shared template rewritten on each call; the connection copies them at once.
 */
export function putGenerator(p: PutLoad, value: Uint8Array = randomBytes(p.valSize)): (i: number) => Uint8Array {
  const tmpl = encodePut(new Uint8Array(p.keySize), value);
  const key = tmpl.subarray(1 + varintLen(p.keySize), 1 + varintLen(p.keySize) + p.keySize);
  return (i) => {
    const n = p.sequentialKeys ? i % p.keySpaceSize : Math.floor(Math.random() * p.keySpaceSize);
    writeKeyNumber(key, n);
    return tmpl;
  };
}
