// A snapshot file as `etcdctl snapshot save` writes it: the backend database (an LMDB file here)
// followed, when it came from a Maintenance.Snapshot stream, by the SHA-256 of the database bytes.
// As etcd does, a trailer is recognised by the size alone: database files are whole pages (multiples
// of 512 bytes), so a size of 32 modulo 512 means a trailer is present.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { HASH_SIZE } from '../snap/index.js';

export class SnapshotFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotFileError';
  }
}

export interface SnapshotFileInfo {
  /** Size of the whole file. */
  size: number;
  /** Size of the database part (the file less any trailer). */
  dbSize: number;
  hasHash: boolean;
}

/** etcd's hasChecksum: the file size leaves exactly a SHA-256 over whole 512-byte sectors. */
export function hasChecksum(size: number): boolean {
  return size % 512 === HASH_SIZE;
}

const LMDB_MAGIC = 0xbeefc0de;
const BOLT_MAGIC = 0xed0cdaed;

/**
 * Size, trailer and a check that the database is an LMDB file: LMDB must never be handed anything
 * else (it may crash the process rather than report an error).
 */
export async function inspectSnapshotFile(file: string): Promise<SnapshotFileInfo> {
  const st = await fs.stat(file);
  if (!st.isFile()) throw new SnapshotFileError(`${file} is not a file`);
  const hasHash = hasChecksum(st.size);
  const info = { size: st.size, dbSize: hasHash ? st.size - HASH_SIZE : st.size, hasHash };
  const head = Buffer.alloc(32);
  const fh = await fs.open(file, 'r');
  try {
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  // The first meta page: the magic follows the page header (16 bytes in LMDB 0.9, 24 in LMDB 1.x).
  if (info.dbSize >= head.length && (head.readUInt32LE(16) === LMDB_MAGIC || head.readUInt32LE(24) === LMDB_MAGIC)) {
    return info;
  }
  if (info.dbSize >= head.length && head.readUInt32LE(16) === BOLT_MAGIC) {
    throw new SnapshotFileError(`invalid database: ${file} is an etcd (bbolt) snapshot; tsetcd snapshots are LMDB databases`);
  }
  throw new SnapshotFileError('invalid database');
}

/** Go's %v of a byte slice: `[1 69 37 ...]`, as etcd prints hashes in its mismatch error. */
function goBytes(b: Uint8Array): string {
  return `[${Array.from(b).join(' ')}]`;
}

/** Checks the trailer against the SHA-256 of the database part; throws etcd's error on mismatch. */
export async function verifyTrailingHash(file: string, info: SnapshotFileInfo): Promise<void> {
  if (!info.hasHash) throw new SnapshotFileError(`${file} has no sha256 trailer`);
  const hash = createHash('sha256');
  if (info.dbSize > 0) {
    for await (const chunk of createReadStream(file, { start: 0, end: info.dbSize - 1, highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
    }
  }
  const stored = Buffer.alloc(HASH_SIZE);
  const fh = await fs.open(file, 'r');
  try {
    await fh.read(stored, 0, HASH_SIZE, info.dbSize);
  } finally {
    await fh.close();
  }
  const computed = hash.digest();
  if (!computed.equals(stored)) {
    throw new SnapshotFileError(`expected sha256 ${goBytes(stored)}, got ${goBytes(computed)}`);
  }
}

/** Copies the database part of `file` to `dest` (created, mode 0600), fsynced unless `sync` is false. */
export async function copyDbPart(file: string, info: SnapshotFileInfo, dest: string, sync = true): Promise<void> {
  await fs.copyFile(file, dest, fs.constants.COPYFILE_EXCL);
  const fh = await fs.open(dest, 'r+');
  try {
    await fh.chmod(0o600);
    if (info.hasHash) await fh.truncate(info.dbSize);
    if (sync) await fh.sync();
  } finally {
    await fh.close();
  }
}
