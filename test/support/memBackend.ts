// A map-backed stand-in for the LMDB backend's bucket operations (get/put/delete/ordered forEach), for
// unit tests of the stores that persist through it (auth, lease) without opening a database.
import type { BucketName } from '../../src/storage/backend/buckets.js';

export class MemBackend {
  readonly buckets = new Map<string, Map<string, Buffer>>();

  private bucket(name: string): Map<string, Buffer> {
    let m = this.buckets.get(name);
    if (!m) this.buckets.set(name, (m = new Map()));
    return m;
  }

  get(bucket: BucketName, key: Buffer): Buffer | undefined {
    return this.bucket(bucket).get(key.toString('latin1'));
  }

  put(bucket: BucketName, key: Buffer, value: Buffer): void {
    this.bucket(bucket).set(key.toString('latin1'), value);
  }

  delete(bucket: BucketName, key: Buffer): void {
    this.bucket(bucket).delete(key.toString('latin1'));
  }

  /** Keys in byte order, as the backend iterates. */
  forEach(bucket: BucketName, fn: (k: Buffer, v: Buffer) => void): void {
    const m = this.bucket(bucket);
    for (const k of [...m.keys()].sort()) fn(Buffer.from(k, 'latin1'), m.get(k)!);
  }
}
