// Uncommitted writes of the backend, per bucket, readable in key order.
// Reads merge these over LMDB so a reader sees the pending batch (etcd's txReadBuffer).
// Keys are indexed as latin1 strings: their UTF-16 order equals the byte order of the keys.

export interface BufferedEntry {
  key: Buffer;
  /** null marks a delete. */
  value: Buffer | null;
}

/** The pending writes of one bucket. */
export class BucketWrites {
  readonly entries = new Map<string, BufferedEntry>();
  private order: string[] = [];
  private sorted = true;

  set(skey: string, key: Buffer, value: Buffer | null): void {
    const e = this.entries.get(skey);
    if (e !== undefined) {
      e.value = value;
      return;
    }
    this.entries.set(skey, { key, value });
    const n = this.order.length;
    // Appends in ascending order (the key bucket's revisions) keep the list sorted for free.
    if (this.sorted && n > 0 && skey < this.order[n - 1]) this.sorted = false;
    this.order.push(skey);
  }

  get size(): number {
    return this.order.length;
  }

  /** Entries with start <= key < end (end undefined: to the end), ascending. */
  range(start: string, end: string | undefined, out: BufferedEntry[]): void {
    if (!this.sorted) {
      this.order.sort();
      this.sorted = true;
    }
    const order = this.order;
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (order[mid] < start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < order.length; i++) {
      const k = order[i];
      if (end !== undefined && k >= end) break;
      out.push(this.entries.get(k)!);
    }
  }
}

/** All pending writes of one backend batch. */
export class WriteBuffer {
  readonly buckets = new Map<string, BucketWrites>();
  ops = 0;

  bucket(name: string): BucketWrites {
    let b = this.buckets.get(name);
    if (b === undefined) {
      b = new BucketWrites();
      this.buckets.set(name, b);
    }
    return b;
  }

  set(bucket: string, key: Buffer, value: Buffer | null): void {
    this.bucket(bucket).set(key.toString('latin1'), key, value);
    this.ops++;
  }

  get(bucket: string, skey: string): BufferedEntry | undefined {
    const b = this.buckets.get(bucket);
    return b === undefined ? undefined : b.entries.get(skey);
  }
}
