// Reading a run of WAL segments in order: each segment is read whole (asynchronously), its records
// decoded and handed to a visitor, and the CRC chain checked where each segment's crc record says
// it continues. Shared by WAL.readAll, verify and validSnapshotEntries.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DecodeStatus, RecordDecoder, nonZeroEnd } from './decoder.js';
import { WalCorruptionError, WalError } from './errors.js';
import { CrcType, WalRecord } from './walpb.js';

/** Receives each non-crc record; `file` and `offset` locate it for error messages. */
export type RecordVisitor = (rec: WalRecord, file: string, offset: number) => void;

export interface ScanResult {
  /** The running CRC after the last valid record (where appends continue the chain). */
  crc: number;
  /** Path of the last segment read. */
  tailPath: string;
  /** Offset just past its last valid record. */
  validEnd: number;
  /** Offset just past its last non-zero byte (> validEnd when unsynced or torn bytes follow). */
  dirtyEnd: number;
  /** Set when the last record of the last segment was torn: why. */
  torn: string | null;
  /** Size of the last segment file. */
  tailSize: number;
}

/**
 * Reads `names` (consecutive segments of `dir`) in order. Corruption anywhere throws
 * WalCorruptionError; a torn record at the end of the last segment stops the scan and is reported.
 * `onSegmentEnd` sees each segment's buffer after its records were visited.
 */
export async function scanSegments(
  dir: string,
  names: string[],
  visit: RecordVisitor,
  onSegmentEnd?: (buf: Buffer, validEnd: number) => void,
): Promise<ScanResult> {
  const dec = new RecordDecoder();
  const res: ScanResult = { crc: 0, tailPath: '', validEnd: 0, dirtyEnd: 0, torn: null, tailSize: 0 };
  for (let i = 0; i < names.length; i++) {
    const file = path.join(dir, names[i]!);
    const isLast = i === names.length - 1;
    const buf = await fs.readFile(file);
    dec.beginSegment(buf, file, isLast);
    let status: DecodeStatus;
    while ((status = dec.next()) === DecodeStatus.Record) {
      const rec = dec.rec;
      if (rec.type === CrcType) {
        // The chain continues from the previous segment's last record (unchecked when this is the
        // first segment read: the decoder has nothing to compare with yet).
        if (dec.crc !== 0 && rec.crc !== dec.crc) {
          throw new WalCorruptionError(
            'ErrCRCMismatch',
            file,
            dec.recordOff,
            `walpb: crc mismatch: the segment continues the chain from ${rec.crc.toString(16)} but the ` +
              `previous segment ends at ${dec.crc.toString(16)}`,
          );
        }
        dec.crc = rec.crc;
        continue;
      }
      try {
        visit(rec, file, dec.recordOff);
      } catch (e) {
        if (e instanceof WalError) throw e;
        // A record with a valid CRC whose contents do not decode: written wrong, not torn.
        throw new WalCorruptionError('ErrCorrupt', file, dec.recordOff, `undecodable record: ${(e as Error).message}`);
      }
    }
    if (!isLast) {
      // Sealed segments are truncated at their last record when the next one is cut.
      const end = nonZeroEnd(buf, dec.lastValidOff);
      if (status !== DecodeStatus.End || end > dec.lastValidOff) {
        throw new WalCorruptionError('ErrCorrupt', file, dec.lastValidOff, 'data after a zero length word in a sealed segment');
      }
    }
    onSegmentEnd?.(buf, dec.lastValidOff);
    if (isLast) {
      res.tailPath = file;
      res.validEnd = dec.lastValidOff;
      res.dirtyEnd = nonZeroEnd(buf, dec.lastValidOff);
      res.torn = status === DecodeStatus.Torn ? dec.tornReason : null;
      res.tailSize = buf.length;
    }
  }
  res.crc = dec.crc;
  return res;
}
