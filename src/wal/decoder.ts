// Decoding framed records from one segment held in memory, checking each record's CRC against the
// running chain. It tells three endings apart:
// - End: a zero length word (the preallocated, never written part of a segment) or end of file;
// - Torn: in the last segment only, a record cut short by a crash mid-write: it runs past the end
//   of the file, or it fails to decode or to match its CRC while one of the 512-byte disk sectors it
//   spans is all zeros (a sector the disk never wrote) — etcd's rule; the caller truncates there;
// - corruption: anything else (a bad CRC with every sector written, a malformed length word, or any
//   failure in an earlier segment): WalCorruptionError naming the file and the record's offset.
// Length words are checked strictly: our writer always pads to 8 bytes and marks the padding, and
// since length words never straddle sectors a torn write leaves them zero, never garbage.

import { crc32c } from '../pkg/crc32c.js';
import { FRAME_SIZE, padBytes } from './encoder.js';
import { WalCorruptionError } from './errors.js';
import { ProtoDecodeError, asBuffer } from '../pkg/protobuf.js';
import { CrcType, WalRecord, decodeRecord } from './walpb.js';

const SECTOR = 512;

export const enum DecodeStatus {
  Record = 0,
  End = 1,
  Torn = 2,
}

const EMPTY = new Uint8Array(0);

export class RecordDecoder {
  /** The running CRC after the last record (0 before the first segment's crc record). */
  crc = 0;
  /** Offset just past the last valid record of the current segment. */
  lastValidOff = 0;
  /** Offset of the record returned by the last `next()` (or of the torn record). */
  recordOff = 0;
  /** Why the last segment's tail was judged torn. */
  tornReason = '';
  readonly rec: WalRecord = { type: 0, crc: 0, data: EMPTY };
  private buf: Buffer = asBuffer(EMPTY);
  private file = '';
  private isLast = false;

  /** Starts decoding `buf`, the contents of segment `file`; torn records are tolerated only if `isLast`. */
  beginSegment(buf: Uint8Array, file: string, isLast: boolean): void {
    this.buf = asBuffer(buf);
    this.file = file;
    this.isLast = isLast;
    this.lastValidOff = 0;
    this.recordOff = 0;
  }

  /** Decodes the next record into `this.rec`. Throws WalCorruptionError on corruption. */
  next(): DecodeStatus {
    const b = this.buf;
    const off = this.lastValidOff;
    this.recordOff = off;
    const size = b.length;
    if (off === size) return DecodeStatus.End;
    if (off + FRAME_SIZE > size) {
      if (allZero(b, off, size)) return DecodeStatus.End;
      return this.tornOrCorrupt('length word cut short by the end of the file', true);
    }
    const lo = (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
    const hi = (b[off + 4]! | (b[off + 5]! << 8) | (b[off + 6]! << 16) | (b[off + 7]! << 24)) >>> 0;
    if (lo === 0 && hi === 0) return DecodeStatus.End;
    const pad = padBytes(lo);
    const wantHi = pad !== 0 ? ((0x80 | pad) << 24) >>> 0 : 0;
    if (hi !== wantHi || lo === 0) {
      throw new WalCorruptionError(
        'ErrCorrupt',
        this.file,
        off,
        `invalid length word 0x${hi.toString(16).padStart(8, '0')}${lo.toString(16).padStart(8, '0')}`,
      );
    }
    const start = off + FRAME_SIZE;
    const end = start + lo;
    if (end + pad > size) {
      return this.tornOrCorrupt(`record of ${lo} bytes runs past the end of the file (${size} bytes)`, true);
    }
    const rec = this.rec;
    try {
      decodeRecord(b, start, end, rec);
    } catch (e) {
      if (!(e instanceof ProtoDecodeError)) throw e;
      return this.tornOrCorrupt(`malformed record: ${e.message}`, this.hasZeroSector(start, end + pad));
    }
    // Padding is not covered by the CRC; our writer (and etcd's) always zeroes it.
    if (!allZero(b, end, end + pad)) {
      throw new WalCorruptionError('ErrCorrupt', this.file, off, 'non-zero padding after the record');
    }
    if (rec.type !== CrcType) {
      const crc = crc32c(rec.data, this.crc);
      if (crc !== rec.crc) {
        const detail = `walpb: crc mismatch: expected: ${rec.crc.toString(16)} computed: ${crc.toString(16)}`;
        if (this.isLast && this.hasZeroSector(start, end + pad)) return this.torn(detail);
        throw new WalCorruptionError('ErrCRCMismatch', this.file, off, detail);
      }
      this.crc = crc;
    }
    this.lastValidOff = end + pad;
    return DecodeStatus.Record;
  }

  private torn(reason: string): DecodeStatus {
    this.tornReason = reason;
    return DecodeStatus.Torn;
  }

  private tornOrCorrupt(detail: string, tornShape: boolean): DecodeStatus {
    if (this.isLast && tornShape) return this.torn(detail);
    throw new WalCorruptionError('ErrCorrupt', this.file, this.recordOff, detail);
  }

  /** Whether any 512-byte disk sector overlapping `[from, to)` is all zeros within that range. */
  private hasZeroSector(from: number, to: number): boolean {
    let s = from;
    while (s < to) {
      const e = Math.min(to, (Math.floor(s / SECTOR) + 1) * SECTOR);
      if (allZero(this.buf, s, e)) return true;
      s = e;
    }
    return false;
  }
}

export function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

const ZEROS = new Uint8Array(1 << 16);

/** Offset just past the last non-zero byte of `b` at or after `from` (`from` if there is none). */
export function nonZeroEnd(b: Uint8Array, from: number): number {
  let end = b.length;
  // Compare whole chunks against zeros with the native comparison, from the end backwards.
  while (end - from >= ZEROS.length) {
    const chunk = b.subarray(end - ZEROS.length, end);
    if (Buffer.compare(chunk, ZEROS) !== 0) break;
    end -= ZEROS.length;
  }
  while (end > from && b[end - 1] === 0) end--;
  return end;
}
