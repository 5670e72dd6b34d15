// Revisions {main, sub} and their 17-byte key-bucket encoding: 8-byte big-endian main, '_',
// 8-byte big-endian sub, plus a trailing 't' on tombstones (etcd's revision.go / bucket keys).

import { readU64BE, writeU64BE } from '../backend/uint64.js';

export interface Revision {
  main: number;
  sub: number;
}

export const REV_BYTES_LEN = 17;
export const MARKED_REV_BYTES_LEN = 18;
const MARK_TOMBSTONE = 0x74; // 't'

export function revGreater(a: Revision, b: Revision): boolean {
  return a.main > b.main || (a.main === b.main && a.sub > b.sub);
}

export function revToBytes(main: number, sub: number, tombstone = false): Buffer {
  const b = Buffer.allocUnsafe(tombstone ? MARKED_REV_BYTES_LEN : REV_BYTES_LEN);
  writeU64BE(b, 0, main);
  b[8] = 0x5f; // '_'
  writeU64BE(b, 9, sub);
  if (tombstone) b[17] = MARK_TOMBSTONE;
  return b;
}

export function bytesToRev(b: Uint8Array): Revision {
  return { main: readU64BE(b, 0), sub: readU64BE(b, 9) };
}

export function bytesToMain(b: Uint8Array): number {
  return readU64BE(b, 0);
}

export function isTombstone(b: Uint8Array): boolean {
  return b.length === MARKED_REV_BYTES_LEN && b[17] === MARK_TOMBSTONE;
}

/** A revision as a compact map key (for sets of revisions kept by compaction). */
export function revKey(main: number, sub: number): string {
  return sub === 0 ? String(main) : `${main}.${sub}`;
}

/** revKey of an encoded revision. */
export function bytesRevKey(b: Uint8Array): string {
  return revKey(readU64BE(b, 0), readU64BE(b, 9));
}
