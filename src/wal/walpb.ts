// walpb: the protobuf messages of etcd's WAL (walpb/record.proto). A Record is
// {type=1 int64, crc=2 uint32, data=3 bytes}; a Snapshot marker is {index=1, term=2, conf_state=3}.
// Hand-written because records are encoded straight into the WAL's write buffer (see encoder.ts).

import { decodeConfState, encodeConfState } from '../raft/raftpb/codec.js';
import { Reader, Writer, putVarint, sizeLenField, sizeVarint } from '../pkg/protobuf.js';
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

/** Encoded size of a Record; data is present on every type but CrcType. */
export function recordSize(type: number, crc: number, dataLen: number, hasData: boolean): number {
  let n = 1 + sizeVarint(type) + 1 + sizeVarint(crc);
  if (hasData) n += sizeLenField(dataLen);
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
/** Reused: decoding is synchronous, and this saves an allocation per record on replay. */
const reader = new Reader(Buffer.alloc(0));

/** Decodes the Record in `buf[start, end)` into `out` (data is a view). Throws ProtoDecodeError. */
export function decodeRecord(buf: Buffer, start: number, end: number, out: WalRecord): void {
  out.type = 0;
  out.crc = 0;
  out.data = EMPTY;
  const r = reader.reset(buf, start, end);
  while (!r.done()) {
    const key = r.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) out.type = r.varint();
    else if (field === 2 && wire === 0) out.crc = r.varint() >>> 0;
    else if (field === 3 && wire === 2) out.data = r.bytes();
    else r.skip(wire);
  }
}

export function encodeWalSnapshot(s: WalSnapshot): Buffer {
  const cs = s.confState ? encodeConfState(s.confState) : null;
  const w = new Writer(1 + sizeVarint(s.index) + 1 + sizeVarint(s.term) + (cs ? sizeLenField(cs.length) : 0));
  w.uintField(1, s.index);
  w.uintField(2, s.term);
  if (cs) w.bytesField(3, cs);
  return w.buf;
}

export function decodeWalSnapshot(buf: Uint8Array): WalSnapshot {
  const s: WalSnapshot = { index: 0, term: 0 };
  const r = Reader.of(buf);
  while (!r.done()) {
    const key = r.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) s.index = r.varint();
    else if (field === 2 && wire === 0) s.term = r.varint();
    else if (field === 3 && wire === 2) s.confState = decodeConfState(r.bytes());
    else r.skip(wire);
  }
  return s;
}
