// Backend database snapshots: `<index %016x>.snap.db` files in the snap directory, received from a
// leader to catch a follower up. On the wire a database travels in transfer form: its bytes followed
// by the SHA-256 of those bytes (32 bytes, as etcd appends to a snapshot stream), checked on
// receipt before the file is renamed into place, so a damaged transfer never becomes a snapshot.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { PRIVATE_FILE_MODE, exists, fsyncDir, writeFullAt } from '../pkg/fileutil.js';
import { SnapError } from './errors.js';

export const HASH_SIZE = 32;

export function dbFileName(index: number): string {
  return `${index.toString(16).padStart(16, '0')}.snap.db`;
}

/** Path of the database snapshot for `index`; throws ErrNoDBSnapshot if there is none. */
export async function dbFilePath(dir: string, index: number): Promise<string> {
  const file = path.join(dir, dbFileName(index));
  if (await exists(file)) return file;
  throw new SnapError('ErrNoDBSnapshot', file);
}

/**
 * Streams `src` into `<dir>/<index>.snap.db`: written to a temporary file, fsynced, renamed into
 * place and the directory fsynced, so the file is complete and durable once this returns (the WAL's
 * snapshot record must never be synced before it). With `trailingHash`, `src` is in transfer form:
 * the last 32 bytes must be the SHA-256 of the rest and are not stored. Returns the bytes stored.
 */
export async function saveDBFrom(
  dir: string,
  src: AsyncIterable<Uint8Array>,
  index: number,
  trailingHash: boolean,
): Promise<number> {
  const tmp = path.join(dir, `tmp${process.pid}.${Math.random().toString(36).slice(2)}`);
  const fh = await fs.open(tmp, 'wx', PRIVATE_FILE_MODE);
  let n = 0;
  try {
    const hash = trailingHash ? createHash('sha256') : null;
    let held: Buffer = Buffer.alloc(0); // up to HASH_SIZE bytes that may be the trailer
    // Small network chunks are gathered into 1 MiB writes.
    const pending = Buffer.allocUnsafe(1 << 20);
    let plen = 0;
    let pos = 0;
    const flush = async () => {
      if (plen === 0) return;
      await writeFullAt(fh, pending, 0, plen, pos);
      pos += plen;
      plen = 0;
    };
    const write = async (b: Uint8Array) => {
      if (b.length === 0) return;
      hash?.update(b);
      n += b.length;
      if (plen + b.length > pending.length) await flush();
      if (b.length >= pending.length) {
        await writeFullAt(fh, b, 0, b.length, pos);
        pos += b.length;
      } else {
        pending.set(b, plen);
        plen += b.length;
      }
    };
    for await (const c of src) {
      const chunk = c instanceof Uint8Array ? c : Buffer.from(c as string);
      if (!hash) {
        await write(chunk);
        continue;
      }
      const total = held.length + chunk.length;
      if (total <= HASH_SIZE) {
        held = Buffer.concat([held, chunk]);
        continue;
      }
      const emit = total - HASH_SIZE;
      const fromHeld = Math.min(held.length, emit);
      await write(held.subarray(0, fromHeld));
      await write(chunk.subarray(0, emit - fromHeld));
      held = Buffer.concat([held.subarray(fromHeld), chunk.subarray(emit - fromHeld)]);
    }
    if (hash) {
      if (held.length !== HASH_SIZE) throw new SnapError('ErrSnapshotHashMismatch', `transfer of ${n + held.length} bytes is too short`);
      const want = hash.digest();
      if (!want.equals(held)) {
        throw new SnapError('ErrSnapshotHashMismatch', `received ${held.toString('hex')}, computed ${want.toString('hex')}`);
      }
    }
    await flush();
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await fs.unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  const file = path.join(dir, dbFileName(index));
  try {
    if (await exists(file)) {
      // An earlier save for the same index; its rename may not have been made durable before a crash.
      await fs.unlink(tmp);
    } else {
      await fs.rename(tmp, file);
    }
  } catch (e) {
    await fs.unlink(tmp).catch(() => {});
    throw e;
  }
  await fsyncDir(dir);
  return n;
}

/** The database file's bytes followed by their SHA-256: what a leader sends. */
export async function* dbTransferChunks(file: string): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    yield chunk as Buffer;
  }
  yield hash.digest();
}

/** `dbTransferChunks` as a Readable stream (for HTTP/2 or gRPC bodies). */
export function dbTransferStream(file: string): Readable {
  return Readable.from(dbTransferChunks(file), { objectMode: false });
}

/**
 * Checks a file holding a database in transfer form (e.g. a snapshot saved by a client) and
 * returns the size of the database part. Throws ErrSnapshotHashMismatch if the trailer is wrong.
 */
export async function checkTrailingHash(file: string): Promise<number> {
  const { size } = await fs.stat(file);
  if (size < HASH_SIZE) throw new SnapError('ErrSnapshotHashMismatch', `${file} is too short`);
  const dbSize = size - HASH_SIZE;
  const hash = createHash('sha256');
  if (dbSize > 0) {
    for await (const chunk of createReadStream(file, { start: 0, end: dbSize - 1, highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
    }
  }
  const fh = await fs.open(file, 'r');
  const trailer = Buffer.alloc(HASH_SIZE);
  try {
    await fh.read(trailer, 0, HASH_SIZE, dbSize);
  } finally {
    await fh.close();
  }
  const want = hash.digest();
  if (!want.equals(trailer)) {
    throw new SnapError('ErrSnapshotHashMismatch', `${file}: stored ${trailer.toString('hex')}, computed ${want.toString('hex')}`);
  }
  return dbSize;
}
