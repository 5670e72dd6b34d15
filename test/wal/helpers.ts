// Helpers for the WAL tests: temporary directories, entry makers, and a minimal independent parser
// of the on-disk framing (so tests check the format without going through the decoder under test).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Entry } from '../../src/raft/raftpb/types.js';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function rmDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Entries first..last with `size` bytes of data derived from the index (never all zero). */
export function makeEntries(first: number, last: number, term = 1, size = 64): Entry[] {
  const out: Entry[] = [];
  for (let i = first; i <= last; i++) {
    const data = Buffer.alloc(size);
    for (let j = 0; j < size; j++) data[j] = ((i * 31 + j * 7) % 251) + 1;
    out.push({ term, index: i, type: 0, data });
  }
  return out;
}

export interface RawRecord {
  /** Offset of the length word. */
  offset: number;
  recBytes: number;
  pad: number;
  type: number;
  crc: number;
  data: Buffer;
}

function varint(b: Buffer, pos: { p: number }): number {
  let r = 0;
  let m = 1;
  for (;;) {
    const x = b[pos.p++]!;
    r += (x & 0x7f) * m;
    if (x < 0x80) return r;
    m *= 128;
  }
}

/** Parses the framed records of a segment file up to the first zero length word. */
export function parseSegment(file: string): RawRecord[] {
  const b = fs.readFileSync(file);
  const out: RawRecord[] = [];
  let off = 0;
  while (off + 8 <= b.length) {
    const lo = b.readUInt32LE(off);
    const hi = b.readUInt32LE(off + 4);
    if (lo === 0 && hi === 0) break;
    const pad = hi & 0x80000000 ? (hi >>> 24) & 7 : 0;
    const start = off + 8;
    const end = start + lo;
    const rec: RawRecord = { offset: off, recBytes: lo, pad, type: 0, crc: 0, data: Buffer.alloc(0) };
    const pos = { p: start };
    while (pos.p < end) {
      const key = varint(b, pos);
      if (key === 0x08) rec.type = varint(b, pos);
      else if (key === 0x10) rec.crc = varint(b, pos);
      else if (key === 0x1a) {
        const n = varint(b, pos);
        rec.data = b.subarray(pos.p, pos.p + n);
        pos.p += n;
      } else throw new Error(`unexpected key ${key} at ${pos.p}`);
    }
    out.push(rec);
    off = end + pad;
  }
  return out;
}

export function walFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.wal'))
    .sort();
}
