// The storage backend: etcd's buckets as LMDB named databases, written in batches.
//
// API (stable; the lease, auth and membership stores persist through it):
//   const be = Backend.open(path, { batchInterval: 100, batchLimit: 10_000 });  // path is a file
//   be.batchTx.put(Bucket.Lease, key, value)      // buffered; visible to reads at once
//   be.batchTx.delete(Bucket.Lease, key)
//   be.batchTx.get(bucket, key) / be.readTx.get(bucket, key)              -> Buffer | undefined
//   be.readTx.range(bucket, start, end | null, limit = 0)  -> { keys, values } ascending,
//        start <= key < end (null: to the end of the bucket), limit 0 = no limit
//   be.readTx.forEach(bucket, (k, v) => void)
//   be.setConsistentIndex(index, term) / be.consistentIndex() -> { index, term }
//   be.onPreCommit(tx => ...)                     // runs inside every commit, before it is written
//   await be.forceCommit()                        // commit the pending batch and wait until durable
//   be.size() / be.sizeInUse()                    // bytes
//   await be.defrag()                             // compact copy replacing the file
//   const snap = await be.snapshot()              // { size, stream } of a consistent db file copy
//   be.hash()                                     // CRC-32C of all buckets, bar the consistent index
//   await be.close()                              // commits what is pending, then closes
//
// Writes accumulate in a pending batch that reads merge over the committed data (etcd's buffered
// read tx); the batch is committed every batchInterval ms, or once batchLimit ops are pending.
// The consistent index is written into the meta bucket in the same LMDB transaction as the data it
// covers. A commit only ever starts from the event loop (a timer or a microtask), never in the middle
// of synchronous code: keep each applied entry's writes plus its setConsistentIndex in one
// synchronous run and a crash can never split them.
// Keys and values are Buffers; LMDB refuses empty keys and keys over ~1978 bytes. Values passed in
// must not be mutated afterwards; values returned must not be mutated.

import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { open, type Database, type RootDatabase } from 'lmdb';
import { crc32c } from '../../pkg/crc32c.js';
import { ALL_BUCKETS, Bucket, MetaKey, type BucketName } from './buckets.js';
import { readU64BE, u64Bytes } from './uint64.js';
import { WriteBuffer, type BufferedEntry } from './writeBuffer.js';

export interface BackendOptions {
  /** Milliseconds between batch commits (etcd --backend-batch-interval). Default 100. */
  batchInterval?: number;
  /** Pending operations that force a commit (etcd --backend-batch-limit). Default 10,000. */
  batchLimit?: number;
  /** Skip fsync (tests and benchmarks only). */
  noSync?: boolean;
  /** Initial map size in bytes; LMDB grows it as needed. */
  mapSize?: number;
  /** Called when a background commit fails; by default the error is rethrown (fatal, as in etcd). */
  onError?: (err: Error) => void;
  /** Called with each commit's duration in seconds, from hand-off to LMDB until durable (metrics). */
  onCommit?: (seconds: number) => void;
}

export interface RangeResult {
  keys: Buffer[];
  values: Buffer[];
}

export interface ReadTx {
  get(bucket: BucketName, key: Buffer): Buffer | undefined;
  range(bucket: BucketName, start: Buffer, end: Buffer | null, limit?: number): RangeResult;
  forEach(bucket: BucketName, fn: (key: Buffer, value: Buffer) => void): void;
}

export interface BatchTx extends ReadTx {
  put(bucket: BucketName, key: Buffer, value: Buffer): void;
  delete(bucket: BucketName, key: Buffer): void;
}

export interface ConsistentIndex {
  index: number;
  term: number;
}

export interface BackendSnapshot {
  /** Size of the copy in bytes. */
  size: number;
  /** The copy, an LMDB file that Backend.open can open; the temporary file is already unlinked. */
  stream: Readable;
}

type PreCommitHook = (tx: BatchTx) => void;

interface Env {
  root: RootDatabase;
  dbs: Map<string, Database<Buffer, Buffer>>;
}

function openEnv(path: string, opts: BackendOptions): Env {
  const root = open({
    path,
    noSubdir: true,
    maxDbs: ALL_BUCKETS.length + 4,
    keyEncoding: 'binary',
    encoding: 'binary',
    noSync: opts.noSync ?? false,
    ...(opts.mapSize !== undefined ? { mapSize: opts.mapSize } : {}),
  });
  const dbs = new Map<string, Database<Buffer, Buffer>>();
  for (const name of ALL_BUCKETS) {
    dbs.set(name, root.openDB<Buffer, Buffer>(name, { keyEncoding: 'binary', encoding: 'binary' }));
  }
  return { root, dbs };
}

const NO_ENTRIES: BufferedEntry[] = [];

function ignoreConsistentIndex(bucket: BucketName, key: Buffer): boolean {
  return bucket === Bucket.Meta && (key.equals(MetaKey.ConsistentIndex) || key.equals(MetaKey.Term));
}

export class Backend implements BatchTx {
  readonly path: string;
  /** Both views read committed data plus the pending batch; batchTx also writes. */
  readonly readTx: ReadTx = this;
  readonly batchTx: BatchTx = this;
  /** Number of commits started (for metrics and tests). */
  commits = 0;

  private env: Env;
  private readonly opts: BackendOptions;
  private readonly batchLimit: number;
  private pending = new WriteBuffer();
  /** Batches handed to LMDB but not yet visible in it, oldest first. */
  private committing: WriteBuffer[] = [];
  private lastCommit: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null;
  private limitCommitQueued = false;
  private cindex: ConsistentIndex;
  private cindexDirty = false;
  private hooks: PreCommitHook[] = [];
  private defragging: Promise<void> | null = null;
  private closed = false;
  private tmpSeq = 0;

  private constructor(path: string, opts: BackendOptions) {
    this.path = path;
    this.opts = opts;
    this.batchLimit = opts.batchLimit ?? 10_000;
    this.env = openEnv(path, opts);
    this.cindex = this.readConsistentIndex();
    this.timer = setInterval(() => this.tick(), opts.batchInterval ?? 100);
    this.timer.unref();
  }

  static open(path: string, opts: BackendOptions = {}): Backend {
    return new Backend(path, opts);
  }

  // ---- reads ----

  get(bucket: BucketName, key: Buffer): Buffer | undefined {
    if (this.pending.ops > 0 || this.committing.length > 0) {
      const skey = key.toString('latin1');
      let e = this.pending.get(bucket, skey);
      for (let i = this.committing.length - 1; e === undefined && i >= 0; i--) {
        e = this.committing[i].get(bucket, skey);
      }
      if (e !== undefined) return e.value ?? undefined;
    }
    return this.env.dbs.get(bucket)!.getBinary(key);
  }

  range(bucket: BucketName, start: Buffer, end: Buffer | null, limit = 0): RangeResult {
    const keys: Buffer[] = [];
    const values: Buffer[] = [];
    this.scan(bucket, start, end, limit, (k, v) => {
      keys.push(k);
      values.push(v);
    });
    return { keys, values };
  }

  forEach(bucket: BucketName, fn: (key: Buffer, value: Buffer) => void): void {
    this.scan(bucket, null, null, 0, fn);
  }

  /** Ascending merge of the buffered writes (newest layer wins) over LMDB. */
  private scan(
    bucket: BucketName,
    start: Buffer | null,
    end: Buffer | null,
    limit: number,
    fn: (key: Buffer, value: Buffer) => void,
  ): void {
    const overlay = this.overlay(bucket, start, end);
    const db = this.env.dbs.get(bucket)!;
    const opts: { start?: Buffer; end?: Buffer; limit?: number } = {};
    if (start !== null && start.length > 0) opts.start = start;
    if (end !== null) opts.end = end;
    if (overlay.length === 0) {
      if (limit > 0) opts.limit = limit;
      for (const { key, value } of db.getRange(opts)) fn(key as Buffer, value);
      return;
    }
    let n = 0;
    let oi = 0;
    for (const { key, value } of db.getRange(opts)) {
      const k = key as Buffer;
      // emit overlay entries that sort before this db key
      let cmp = 1;
      while (oi < overlay.length && (cmp = Buffer.compare(overlay[oi].key, k)) < 0) {
        const o = overlay[oi++];
        if (o.value !== null) {
          fn(o.key, o.value);
          if (++n === limit) return;
        }
      }
      if (oi < overlay.length && cmp === 0) {
        const o = overlay[oi++];
        if (o.value === null) continue;
        fn(o.key, o.value);
      } else {
        fn(k, value);
      }
      if (++n === limit) return;
    }
    for (; oi < overlay.length; oi++) {
      const o = overlay[oi];
      if (o.value !== null) {
        fn(o.key, o.value);
        if (++n === limit) return;
      }
    }
  }

  private overlay(bucket: BucketName, start: Buffer | null, end: Buffer | null): BufferedEntry[] {
    const layers: WriteBuffer[] = [];
    for (const c of this.committing) if (c.buckets.has(bucket)) layers.push(c);
    if (this.pending.buckets.has(bucket)) layers.push(this.pending);
    if (layers.length === 0) return NO_ENTRIES;
    const s = start === null ? '' : start.toString('latin1');
    const e = end === null ? undefined : end.toString('latin1');
    const out: BufferedEntry[] = [];
    if (layers.length === 1) {
      layers[0].buckets.get(bucket)!.range(s, e, out);
      return out;
    }
    const merged = new Map<string, BufferedEntry>();
    for (const layer of layers) {
      out.length = 0;
      layer.buckets.get(bucket)!.range(s, e, out);
      for (const ent of out) merged.set(ent.key.toString('latin1'), ent);
    }
    const skeys = [...merged.keys()].sort();
    return skeys.map((k) => merged.get(k)!);
  }

  // ---- writes ----

  put(bucket: BucketName, key: Buffer, value: Buffer): void {
    this.checkKey(key);
    this.pending.set(bucket, key, value);
    this.afterWrite();
  }

  delete(bucket: BucketName, key: Buffer): void {
    this.checkKey(key);
    this.pending.set(bucket, key, null);
    this.afterWrite();
  }

  private checkKey(key: Buffer): void {
    if (this.closed) throw new Error('backend: closed');
    if (key.length === 0) throw new Error('backend: empty key');
  }

  private afterWrite(): void {
    if (this.pending.ops >= this.batchLimit && !this.limitCommitQueued) {
      this.limitCommitQueued = true;
      // A microtask runs once the current synchronous apply is over, so a commit never splits it.
      queueMicrotask(() => {
        this.limitCommitQueued = false;
        if (this.pending.ops >= this.batchLimit) void this.commitInBackground();
      });
    }
  }

  // ---- consistent index ----

  consistentIndex(): ConsistentIndex {
    return { index: this.cindex.index, term: this.cindex.term };
  }

  /** Records the last applied raft entry; written with the next commit. */
  setConsistentIndex(index: number, term: number): void {
    this.cindex.index = index;
    this.cindex.term = term;
    this.cindexDirty = true;
  }

  private readConsistentIndex(): ConsistentIndex {
    const meta = this.env.dbs.get(Bucket.Meta)!;
    const i = meta.getBinary(MetaKey.ConsistentIndex);
    const t = meta.getBinary(MetaKey.Term);
    return { index: i ? readU64BE(i, 0) : 0, term: t ? readU64BE(t, 0) : 0 };
  }

  onPreCommit(hook: PreCommitHook): void {
    this.hooks.push(hook);
  }

  // ---- commits ----

  private tick(): void {
    if (this.defragging === null && (this.pending.ops > 0 || this.cindexDirty)) {
      void this.commitInBackground();
    }
  }

  private commitInBackground(): Promise<void> {
    if (this.defragging !== null || this.closed) return this.lastCommit;
    return this.commit().catch((err: Error) => {
      if (this.opts.onError) this.opts.onError(err);
      else
        process.nextTick(() => {
          throw err;
        });
    });
  }

  /** Hands the pending batch to LMDB as one transaction; resolves once it is committed. */
  private commit(): Promise<void> {
    for (const h of this.hooks) h(this);
    if (this.cindexDirty) {
      this.pending.set(Bucket.Meta, MetaKey.ConsistentIndex, u64Bytes(this.cindex.index));
      this.pending.set(Bucket.Meta, MetaKey.Term, u64Bytes(this.cindex.term));
      this.cindexDirty = false;
    }
    if (this.pending.ops === 0) return this.lastCommit;
    const batch = this.pending;
    this.pending = new WriteBuffer();
    this.committing.push(batch);
    this.commits++;
    const { root, dbs } = this.env;
    const onCommit = this.opts.onCommit;
    const t0 = onCommit !== undefined ? performance.now() : 0;
    const written = root.batch(() => {
      for (const [name, writes] of batch.buckets) {
        const db = dbs.get(name)!;
        for (const e of writes.entries.values()) {
          if (e.value === null) void db.remove(e.key);
          else void db.put(e.key, e.value);
        }
      }
    });
    const done = written.then(
      () => {
        root.resetReadTxn();
        this.committing.shift();
        if (onCommit !== undefined) onCommit((performance.now() - t0) / 1000);
      },
      (err: Error) => {
        this.committing.shift();
        throw err;
      },
    );
    this.lastCommit = done;
    return done;
  }

  /** Commits everything pending and waits until it is on disk. */
  async forceCommit(): Promise<void> {
    while (this.defragging !== null) await this.defragging;
    await this.commit();
    await this.lastCommit;
    await this.env.root.flushed;
  }

  // ---- hash ----

  /**
   * CRC-32C over each bucket name (in byte order) followed by its keys and values, skipping what
   * `ignore` selects; by default the consistent index and term, as etcd's DefaultIgnores does.
   */
  hash(ignore: (bucket: BucketName, key: Buffer) => boolean = ignoreConsistentIndex): number {
    let crc = 0;
    const names = [...ALL_BUCKETS].sort();
    for (const name of names) {
      crc = crc32c(Buffer.from(name), crc);
      this.forEach(name, (k, v) => {
        if (!ignore(name, k)) crc = crc32c(v, crc32c(k, crc));
      });
    }
    return crc;
  }

  // ---- size ----

  /** Bytes of the database file in use by LMDB (etcd's Size). */
  size(): number {
    const st = this.env.root.getStats() as { pageSize: number; lastPageNumber: number };
    return (st.lastPageNumber + 1) * st.pageSize;
  }

  /** Bytes of pages that hold data (the rest is free pages reusable or reclaimed by defrag). */
  sizeInUse(): number {
    type Stat = {
      pageSize: number;
      treeBranchPageCount: number;
      treeLeafPageCount: number;
      overflowPages: number;
    };
    const pages = (s: Stat) => s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages;
    const root = this.env.root.getStats() as Stat;
    let n = 2 + pages(root); // two meta pages plus the tree of database names
    for (const db of this.env.dbs.values()) n += pages(db.getStats() as Stat);
    return n * root.pageSize;
  }

  // ---- defrag and snapshot ----

  /** Rewrites the database file compactly; reads and writes continue meanwhile, commits wait. */
  defrag(): Promise<void> {
    if (this.defragging !== null) return this.defragging;
    const run = async () => {
      await this.commit();
      await this.lastCommit;
      const tmp = `${this.path}.defrag-${process.pid}-${this.tmpSeq++}`;
      await this.env.root.backup(tmp, true);
      // Serve reads from the compacted copy while the old file is closed and replaced.
      const old = this.env;
      this.env = openEnv(tmp, this.opts);
      await old.root.close();
      fs.renameSync(tmp, this.path);
      const tmpEnv = this.env;
      this.env = openEnv(this.path, this.opts);
      await tmpEnv.root.close();
      fs.rmSync(`${tmp}-lock`, { force: true });
    };
    this.defragging = run().finally(() => {
      this.defragging = null;
    });
    return this.defragging;
  }

  /** A consistent copy of the committed database (pending writes are committed first). */
  async snapshot(): Promise<BackendSnapshot> {
    await this.forceCommit();
    const tmp = `${this.path}.snapshot-${process.pid}-${this.tmpSeq++}`;
    await this.env.root.backup(tmp, true);
    const fh = await fs.promises.open(tmp, 'r');
    try {
      const { size } = await fh.stat();
      await fs.promises.unlink(tmp);
      return { size, stream: fh.createReadStream() };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  // ---- lifecycle ----

  async close(): Promise<void> {
    if (this.closed) return;
    await this.forceCommit();
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.env.root.close();
  }
}
