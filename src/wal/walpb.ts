// walpb: the protobuf messages of etcd's WAL (walpb/record.proto). A Record is
// {type=1 int64, crc=2 uint32, data=3 bytes}; a Snapshot marker is {index=1, term=2, conf_state=3}.
// Hand-written because records are encoded straight into the WAL's write buffer (see encoder.ts).

import { decodeConfState, encodeConfState, sizeVarint } from '../raft/raftpb/codec.js';
import type { ConfState } from '../raft/raftpb/types.js';

export const MetadataType = 1;
export const EntryType = 2;
export const StateType = 3;
export const CrcType = 4;
export const SnapshotType = 5;

/** A snapshot position recorded in the WAL (walpb.Snapshot). */
export interface WalSnapshot {
  index: number;
  term: number;
  /** Absent only on the initial {0, 0} marker written at creation. */
  confState?: ConfState;
}

/** A decoded record; `data` is a view into the segment buffer. Reused by the decoder. */
export interface WalRecord {
  type: number;
  crc: number;
  data: Uint8Array;
}

export class WalpbDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WalpbDecodeError';
  }
}

/** Writes a varint of a non-negative integer ≤ 2^53 at `pos`; returns the position after it. */
export function putVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80000000) {
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

/** Reads a varint at `r.pos` within `end`, advancing `r.pos`. */
function getVarint(buf: Uint8Array, r: { pos: number }, end: number): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (r.pos >= end) throw new WalpbDecodeError('unexpected EOF in varint');
    const b = buf[r.pos++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) return result;
    mul *= 128;
  }
  throw new WalpbDecodeError('varint overflow');
}

function skipField(buf: Uint8Array, r: { pos: number }, end: number, wire: number): void {
  switch (wire) {
    case 0:
      getVarint(buf, r, end);
      return;
    case 1:
      r.pos += 8;
      break;
    case 2:
      r.pos += getVarint(buf, r, end);
      break;
    case 5:
      r.pos += 4;
      break;
    default:
      throw new WalpbDecodeError(`illegal wire type ${wire}`);
  }
  if (r.pos > end) throw new WalpbDecodeError('unexpected EOF');
}

/** Encoded size of a Record; data is present on every type but CrcType. */
export function recordSize(type: number, crc: number, dataLen: number, hasData: boolean): number {
  let n = 1 + sizeVarint(type) + 1 + sizeVarint(crc);
  if (hasData) n += 1 + sizeVarint(dataLen) + dataLen;
  return n;
}

/** Writes a Record at `pos`; returns the position after it. */
export function putRecord(buf: Uint8Array, pos: number, type: number, crc: number, data: Uint8Array | null): number {
  buf[pos++] = 0x08;
  pos = putVarint(buf, pos, type);
  buf[pos++] = 0x10;
  pos = putVarint(buf, pos, crc);
  if (data !== null) {
    buf[pos++] = 0x1a;
    pos = putVarint(buf, pos, data.length);
    buf.set(data, pos);
    pos += data.length;
  }
  return pos;
}

const EMPTY = new Uint8Array(0);
const cursor = { pos: 0 };

/** Decodes the Record in `buf[start, end)` into `out` (data is a view). Throws WalpbDecodeError. */
export function decodeRecord(buf: Uint8Array, start: number, end: number, out: WalRecord): void {
  out.type = 0;
  out.crc = 0;
  out.data = EMPTY;
  const r = cursor;
  r.pos = start;
  while (r.pos < end) {
    const key = getVarint(buf, r, end);
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) out.type = getVarint(buf, r, end);
    else if (field === 2 && wire === 0) out.crc = getVarint(buf, r, end) >>> 0;
    else if (field === 3 && wire === 2) {
      const len = getVarint(buf, r, end);
      if (r.pos + len > end) throw new WalpbDecodeError('unexpected EOF in data');
      out.data = buf.subarray(r.pos, r.pos + len);
      r.pos += len;
    } else skipField(buf, r, end, wire);
  }
}

export function encodeWalSnapshot(s: WalSnapshot): Buffer {
  const cs = s.confState ? encodeConfState(s.confState) : null;
  const size =
    1 + sizeVarint(s.index) + 1 + sizeVarint(s.term) + (cs ? 1 + sizeVarint(cs.length) + cs.length : 0);
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  buf[pos++] = 0x08;
  pos = putVarint(buf, pos, s.index);
  buf[pos++] = 0x10;
  pos = putVarint(buf, pos, s.term);
  if (cs) {
    buf[pos++] = 0x1a;
    pos = putVarint(buf, pos, cs.length);
    buf.set(cs, pos);
  }
  return buf;
}

export function decodeWalSnapshot(buf: Uint8Array): WalSnapshot {
  const s: WalSnapshot = { index: 0, term: 0 };
  const r = { pos: 0 };
  const end = buf.length;
  while (r.pos < end) {
    const key = getVarint(buf, r, end);
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) s.index = getVarint(buf, r, end);
    else if (field === 2 && wire === 0) s.term = getVarint(buf, r, end);
    else if (field === 3 && wire === 2) {
      const len = getVarint(buf, r, end);
      if (r.pos + len > end) throw new WalpbDecodeError('unexpected EOF in conf_state');
      s.confState = decodeConfState(buf.subarray(r.pos, r.pos + len));
      r.pos += len;
    } else skipField(buf, r, end, wire);
  }
  return s;
}
