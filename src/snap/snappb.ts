// snappb.snapshot {crc=1 uint32, data=2 bytes}: the envelope of a `.snap` file, whose data is an
// encoded raftpb.Snapshot and whose crc is the CRC-32C of that data.

import { Reader, Writer, sizeLenField, sizeVarint } from '../pkg/protobuf.js';

export interface SnapEnvelope {
  crc: number;
  data: Uint8Array;
}

export function encodeSnapEnvelope(crc: number, data: Uint8Array): Buffer {
  const w = new Writer(1 + sizeVarint(crc) + sizeLenField(data.length));
  w.uintField(1, crc);
  w.bytesField(2, data);
  return w.buf;
}

/** Decodes the envelope (data is a view into `buf`); throws ProtoDecodeError on malformed input. */
export function decodeSnapEnvelope(buf: Uint8Array): SnapEnvelope {
  const out: SnapEnvelope = { crc: 0, data: new Uint8Array(0) };
  const r = Reader.of(buf);
  while (!r.done()) {
    const key = r.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) out.crc = r.varint() >>> 0;
    else if (field === 2 && wire === 2) out.data = r.bytes();
    else r.skip(wire);
  }
  return out;
}
