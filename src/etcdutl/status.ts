// `snapshot status`: the hash, revision, key count and size of a snapshot file, computed as etcdutl
// does — CRC-32C over every bucket name (in byte order) followed by each of its keys and values, the
// main revision of the last key in the key bucket, the number of keys in all buckets, and the size
// of the database in use. The database part is copied to a temporary directory first so the user's
// file is never opened for writing (LMDB also creates a lock file beside what it opens).

import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32c } from '../pkg/crc32c.js';
import { ALL_BUCKETS, Backend, Bucket } from '../storage/backend/index.js';
import { bytesToMain } from '../storage/mvcc/revision.js';
import { copyDbPart, inspectSnapshotFile } from './snapshotFile.js';

export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

/** Status of an opened backend (all buckets, nothing ignored). */
export function backendStatus(be: Backend): SnapshotStatus {
  let crc = 0;
  let totalKey = 0;
  let lastKey: Buffer | null = null;
  const names = [...ALL_BUCKETS].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    crc = crc32c(Buffer.from(name), crc);
    const isKey = name === Bucket.Key;
    be.readTx.forEach(name, (k, v) => {
      crc = crc32c(v, crc32c(k, crc));
      totalKey++;
      if (isKey) lastKey = k;
    });
  }
  const last = lastKey as Buffer | null;
  return {
    hash: crc >>> 0,
    revision: last !== null && last.length >= 8 ? bytesToMain(last) : 0,
    totalKey,
    totalSize: be.size(),
  };
}

export async function snapshotStatus(file: string): Promise<SnapshotStatus> {
  const info = await inspectSnapshotFile(file);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tsetcdutl-status-'));
  try {
    const db = path.join(tmp, 'db');
    await copyDbPart(file, info, db, false); // a scratch copy: no fsync needed
    const be = Backend.open(db, { noSync: true });
    try {
      return backendStatus(be);
    } finally {
      await be.close();
    }
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
