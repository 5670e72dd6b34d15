// WAL segment names: `%016x-%016x.wal` (sequence, index of the first entry the segment may hold),
// and choosing which segments to read for a snapshot position.

import * as fs from 'node:fs/promises';
import { WalError } from './errors.js';

const WAL_NAME = /^([0-9a-fA-F]{16})-([0-9a-fA-F]{16})\.wal$/;

export function walName(seq: number, index: number): string {
  return `${seq.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}.wal`;
}

/** [seq, firstIndex] of a segment name, or null if `name` is not one. */
export function parseWalName(name: string): [number, number] | null {
  const m = WAL_NAME.exec(name);
  if (!m) return null;
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16)];
}

/** Whether `dir` holds any WAL segment. */
export async function walExists(dir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).some((n) => n.endsWith('.wal'));
  } catch {
    return false;
  }
}

/** Segment names in `dir`, in sequence order; other files (locks, .tmp, .broken) are ignored. */
export async function readWalNames(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new WalError('ErrFileNotFound', `wal: file not found (no directory ${dir})`);
    throw e;
  }
  const wal = names.filter((n) => parseWalName(n) !== null).sort();
  if (wal.length === 0) throw new WalError('ErrFileNotFound', `wal: file not found in ${dir}`);
  return wal;
}

/** Position in `names` of the last segment whose first index is ≤ `index`, or -1. */
export function searchIndex(names: string[], index: number): number {
  for (let i = names.length - 1; i >= 0; i--) {
    if (index >= parseWalName(names[i]!)![1]) return i;
  }
  return -1;
}

/** Whether the sequence numbers of `names` increase by one each. */
export function isValidSeq(names: string[]): boolean {
  let last = -1;
  for (const n of names) {
    const seq = parseWalName(n)![0];
    if (last !== -1 && seq !== last + 1) return false;
    last = seq;
  }
  return true;
}

/** The segments to read from snapshot index `index` on, checked for a continuous sequence. */
export async function selectWalFiles(dir: string, index: number): Promise<string[]> {
  const names = await readWalNames(dir);
  const i = searchIndex(names, index);
  if (i < 0) {
    throw new WalError('ErrFileNotFound', `wal: file not found which matches the snapshot index '${index}' in ${dir}`);
  }
  const selected = names.slice(i);
  if (!isValidSeq(selected)) {
    throw new WalError(
      'ErrBadSequence',
      `wal: file sequence numbers (starting from ${selected[0]}) do not increase continuously in ${dir}`,
    );
  }
  return selected;
}
