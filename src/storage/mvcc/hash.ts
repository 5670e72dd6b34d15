// HashKV as etcd computes it (mvcc/hash.go): CRC-32C over the bucket name "key" then each key and
// value of the key bucket up to a revision, skipping revisions a compaction at the last compact
// revision has (or will have) removed; plus the store of recent compaction hashes.

import { crc32c } from '../../pkg/crc32c.js';
import { bytesRevKey, bytesToRev } from './revision.js';

export interface KeyValueHash {
  hash: number;
  compactRevision: number;
  revision: number;
}

const KEY_BUCKET_NAME = Buffer.from('key');
const HASH_STORAGE_MAX = 10;

export class KvHasher {
  private crc: number;
  private readonly compactRevision: number;
  private readonly revision: number;
  private readonly keep: Set<string>;

  constructor(compactRevision: number, revision: number, keep: Set<string>) {
    this.crc = crc32c(KEY_BUCKET_NAME);
    this.compactRevision = compactRevision;
    this.revision = revision;
    this.keep = keep;
  }

  write(k: Buffer, v: Buffer): void {
    const { main } = bytesToRev(k);
    if (main > this.revision) return;
    // below the compaction only the kept revisions count, unless nothing is kept
    if (main <= this.compactRevision && this.keep.size > 0 && !this.keep.has(bytesRevKey(k))) return;
    this.crc = crc32c(v, crc32c(k, this.crc));
  }

  hash(): KeyValueHash {
    return { hash: this.crc, compactRevision: this.compactRevision, revision: this.revision };
  }
}

/** The hashes computed by the last compactions, newest last (etcd keeps 10). */
export class HashStorage {
  private hashes: KeyValueHash[] = [];

  store(h: KeyValueHash): void {
    this.hashes.push(h);
    this.hashes.sort((a, b) => a.revision - b.revision);
    if (this.hashes.length > HASH_STORAGE_MAX) this.hashes = this.hashes.slice(this.hashes.length - HASH_STORAGE_MAX);
  }

  find(revision: number): KeyValueHash | undefined {
    return this.hashes.find((h) => h.revision === revision);
  }

  list(): KeyValueHash[] {
    return this.hashes.slice();
  }
}
