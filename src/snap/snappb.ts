// snappb.snapshot {crc=1 uint32, data=2 bytes}: the envelope of a `.snap` file, whose data is an
// encoded raftpb.Snapshot and whose crc is the CRC-32C of that data.

import { sizeVarint } from '../raft/raftpb/codec.js';

export interface SnapEnvelope {
  crc: number;
  data: Uint8Array;
}

function putVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

export function encodeSnapEnvelope(crc: number, data: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(1 + sizeVarint(crc) + 1 + sizeVarint(data.length) + data.length);
  let pos = 0;
  buf[pos++] = 0x08;
  pos = putVarint(buf, pos, crc);
  buf[pos++] = 0x12;
  pos = putVarint(buf, pos, data.length);
  buf.set(data, pos);
  return buf;
}

function varint(buf: Uint8Array, r: { pos: number }): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (r.pos >= buf.length) throw new Error('unexpected EOF');
    const b = buf[r.pos++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) return result;
    mul *= 128;
  }
  throw new Error('varint overflow');
}

/** Decodes the envelope (data is a view into `buf`); throws on malformed input. */
export function decodeSnapEnvelope(buf: Uint8Array): SnapEnvelope {
  const out: SnapEnvelope = { crc: 0, data: new Uint8Array(0) };
  const r = { pos: 0 };
  while (r.pos < buf.length) {
    const key = varint(buf, r);
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) {
      const v = varint(buf, r);
      if (field === 1) out.crc = v >>> 0;
    } else if (wire === 2) {
      const len = varint(buf, r);
      if (r.pos + len > buf.length) throw new Error('unexpected EOF');
      if (field === 2) out.data = buf.subarray(r.pos, r.pos + len);
      r.pos += len;
    } else if (wire === 1 || wire === 5) {
      r.pos += wire === 1 ? 8 : 4;
      if (r.pos > buf.length) throw new Error('unexpected EOF');
    } else throw new Error(`illegal wire type ${wire}`);
  }
  return out;
}
