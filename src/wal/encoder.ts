// Record framing for WAL writes. Each record is an 8-byte little-endian length word followed by
// the walpb.Record bytes and zero padding to an 8-byte boundary; the length word carries the record
// size in its lower 56 bits and, when padding is present, 0x80|pad in its top byte (etcd's format).
// The 8-byte alignment means a length word never straddles a disk sector, so it is never torn.
//
// The CRC of each record is the running CRC-32C over the data of every record before it (across
// segments): a crc record opening each segment carries the value the chain continues from.
// The encoder appends records to one reusable buffer, so a whole Ready is one write call.

import { crc32c } from '../pkg/crc32c.js';
import { CrcType, putRecord, recordSize } from './walpb.js';

export const FRAME_SIZE = 8;

/** Padding needed after `n` record bytes. */
export function padBytes(n: number): number {
  return (8 - (n % 8)) % 8;
}

export class RecordEncoder {
  /** The running CRC after the last encoded record. */
  crc: number;
  /** Encoded bytes pending a write: `buf[0, len)`. */
  buf: Buffer;
  len = 0;

  constructor(prevCrc: number, initialCapacity = 1 << 20) {
    this.crc = prevCrc;
    this.buf = Buffer.allocUnsafe(initialCapacity);
  }

  /** Forgets the pending bytes (after they were written); the CRC chain continues. */
  reset(): void {
    this.len = 0;
  }

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const nb = Buffer.allocUnsafe(cap);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }

  /**
   * Appends one framed record. A crc record carries the current chain value and no data; every
   * other record extends the chain with its data.
   */
  encode(type: number, data: Uint8Array | null): void {
    const hasData = type !== CrcType;
    const payload = hasData ? (data ?? EMPTY) : null;
    if (payload !== null) this.crc = crc32c(payload, this.crc);
    const recBytes = recordSize(type, this.crc, payload?.length ?? 0, hasData);
    const pad = padBytes(recBytes);
    this.ensure(FRAME_SIZE + recBytes + pad);
    const b = this.buf;
    let pos = this.len;
    // Length word: records are far below 4 GiB, so the high word only holds the padding marker.
    b.writeUInt32LE(recBytes, pos);
    b.writeUInt32LE(pad !== 0 ? ((0x80 | pad) << 24) >>> 0 : 0, pos + 4);
    pos = putRecord(b, pos + FRAME_SIZE, type, this.crc, payload);
    for (let i = 0; i < pad; i++) b[pos++] = 0;
    this.len = pos;
  }
}

const EMPTY = new Uint8Array(0);
