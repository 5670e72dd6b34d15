// The MVCC key-value store (etcd's kvstore.go): the current and compacted revisions, the key index,
// read/write transactions over the backend, compaction in batches, HashKV and restore on start.
//
//   const kv = new KVStore(backend, lessor);       // restores index and revisions from the backend
//   const tw = kv.write(); tw.put(k, v, lease); tw.deleteRange(k, end); tw.end();   // one revision
//   const tr = kv.read();  tr.range(k, end, { rev, limit, count }); tr.end();
//   await kv.compact(rev)          // throws ErrCompacted / ErrFutureRev synchronously
//   kv.hashByRev(rev)              // HashKV
// The server applies many requests into one backend batch by opening one write() per request and
// calling backend.setConsistentIndex after each applied entry.

import type { Backend } from '../backend/backend.js';
import { Bucket, MetaKey } from '../backend/buckets.js';
import { ErrCompacted, ErrFutureRev } from './errors.js';
import { HashStorage, KvHasher, type KeyValueHash } from './hash.js';
import { KeyIndex } from './keyIndex.js';
import { decodeKeyValue, NO_LEASE, type KeyValue } from './kv.js';
import { bytesRevKey, bytesToMain, bytesToRev, isTombstone, revToBytes } from './revision.js';
import { decodeStored, TxnRead, TxnWrite } from './storeTxn.js';
import { keyString, TreeIndex } from './treeIndex.js';
import { writeU64BE } from '../backend/uint64.js';

/**
 * The lessor as the store sees it (etcd's lease.Lessor Attach/Detach/Lookup). Attach and detach
 * are called while a write transaction runs, for each key whose lease changes.
 */
export interface LeaseAttacher {
  attach(leaseId: bigint, key: Uint8Array): void;
  detach(leaseId: bigint, key: Uint8Array): void;
  /** The lease, or undefined when it does not exist (Put with an unknown lease is refused). */
  lookup(leaseId: bigint): unknown;
}

export interface StoreConfig {
  /** Revisions deleted per compaction batch (etcd --experimental-compaction-batch-limit). */
  compactionBatchLimit?: number;
  /** Milliseconds between compaction batches. */
  compactionSleepInterval?: number;
  /** Keys read per chunk when restoring the index. */
  restoreChunkKeys?: number;
  /** Informational log lines (compaction, restore). */
  log?: (msg: string) => void;
}

export class KVStore {
  backend: Backend;
  readonly index: TreeIndex = new TreeIndex();
  /** Revision of the last completed write transaction. */
  currentRev = 1;
  /** Main revision of the last compaction (-1: none). */
  compactMainRev = -1;
  readonly hashes = new HashStorage();
  /** Operations done by transactions since start (etcd's mvcc range/put/delete/txn counters). */
  readonly opCounts = { range: 0, put: 0, delete: 0, txn: 0, putBytes: 0 };
  /** Keys that exist at the current revision (etcd's keys gauge). */
  liveKeys = 0;

  protected readonly lessor: LeaseAttacher | null;
  private readonly cfg: Required<Omit<StoreConfig, 'log'>>;
  private readonly log: (msg: string) => void;
  /** Lease of each key that has one (etcd keeps this in the lessor's item map). */
  private readonly keyLeases = new Map<string, bigint>();
  private sched: Promise<void> = Promise.resolve();
  /** Bumped by close and restoreFrom: compactions of an older epoch stop. */
  private epoch = 0;
  private stopTimer: (() => void) | null = null;
  private readonly scratch = Buffer.allocUnsafe(17);

  constructor(backend: Backend, lessor: LeaseAttacher | null = null, cfg: StoreConfig = {}) {
    this.backend = backend;
    this.lessor = lessor;
    this.cfg = {
      compactionBatchLimit: cfg.compactionBatchLimit ?? 1000,
      compactionSleepInterval: cfg.compactionSleepInterval ?? 10,
      restoreChunkKeys: cfg.restoreChunkKeys ?? 10_000,
    };
    this.log = cfg.log ?? (() => {});
    this.restore();
  }

  rev(): number {
    return this.currentRev;
  }

  read(): TxnRead {
    return new TxnRead(this, this.compactMainRev, this.currentRev);
  }

  write(): TxnWrite {
    return new TxnWrite(this);
  }

  // ---- used by transactions ----

  /** The stored KeyValue of a revision (must exist). */
  readKeyValue(main: number, sub: number): KeyValue {
    const k = this.scratch;
    writeU64BE(k, 0, main);
    k[8] = 0x5f;
    writeU64BE(k, 9, sub);
    return decodeStored(this.backend.readTx.get(Bucket.Key, k), main, sub);
  }

  leaseOf(skey: string): bigint {
    return this.keyLeases.get(skey) ?? NO_LEASE;
  }

  attachLease(lease: bigint, skey: string, key: Buffer): void {
    this.keyLeases.set(skey, lease);
    this.lessor?.attach(lease, key);
  }

  detachLease(lease: bigint, skey: string, key: Buffer): void {
    this.keyLeases.delete(skey);
    this.lessor?.detach(lease, key);
  }

  /** Ends a write transaction with changes (deletes have createRevision 0): the revision moves on. */
  publish(rev: number, changes: KeyValue[]): void {
    this.currentRev = rev;
    this.notify(rev, changes);
  }

  /** Hook for the watchable store: called after each revision is published. */
  protected notify(_rev: number, _changes: KeyValue[]): void {}

  // ---- compaction ----

  /**
   * Compacts the history up to rev: reads below rev fail with ErrCompacted from now on, and the
   * returned promise resolves once the old revisions are physically deleted (in batches).
   * Throws ErrCompacted if rev is not above the last compaction, ErrFutureRev beyond the store.
   */
  compact(rev: number): Promise<void> {
    const prevCompleted = this.prevCompactionCompleted();
    const prev = this.updateCompactRev(rev);
    return this.scheduleCompact(rev, prev, prevCompleted);
  }

  private updateCompactRev(rev: number): number {
    if (rev <= this.compactMainRev) throw ErrCompacted;
    if (rev > this.currentRev) throw ErrFutureRev;
    const prev = this.compactMainRev;
    this.compactMainRev = rev;
    // Persisted with the batch that holds the compaction's raft entry.
    this.backend.batchTx.put(Bucket.Meta, MetaKey.ScheduledCompactRev, revToBytes(rev, 0));
    return prev;
  }

  private scheduleCompact(rev: number, prevCompactRev: number, prevCompleted: boolean): Promise<void> {
    const epoch = this.epoch;
    const job = this.sched.then(async () => {
      if (epoch !== this.epoch) return;
      const h = await this.runCompaction(rev, prevCompactRev, epoch);
      if (h === null) return;
      // Only a compaction that started from a completed one hashes every revision since it.
      if (prevCompleted) this.hashes.store(h);
    });
    this.sched = job.catch((err: Error) => this.log(`compaction failed: ${err.message}`));
    return job;
  }

  private prevCompactionCompleted(): boolean {
    const s = this.backend.readTx.get(Bucket.Meta, MetaKey.ScheduledCompactRev);
    const f = this.backend.readTx.get(Bucket.Meta, MetaKey.FinishedCompactRev);
    if (s === undefined || f === undefined) return s === f;
    return bytesToMain(s) === bytesToMain(f);
  }

  private async runCompaction(compactMainRev: number, prevCompactRev: number, epoch: number): Promise<KeyValueHash | null> {
    const started = Date.now();
    const keep = this.index.compact(compactMainRev);
    const end = Buffer.alloc(8);
    writeU64BE(end, 0, compactMainRev + 1);
    const batchNum = this.cfg.compactionBatchLimit;
    const h = new KvHasher(prevCompactRev, compactMainRev, keep);
    let last = revToBytes(0, 0);
    const tx = this.backend.batchTx;
    let removed = 0;
    for (;;) {
      const { keys, values } = tx.range(Bucket.Key, last, end, batchNum);
      for (let i = 0; i < keys.length; i++) {
        if (!keep.has(bytesRevKey(keys[i]))) {
          tx.delete(Bucket.Key, keys[i]);
          removed++;
        }
        h.write(keys[i], values[i]);
      }
      if (keys.length < batchNum) {
        tx.put(Bucket.Meta, MetaKey.FinishedCompactRev, revToBytes(compactMainRev, 0));
        this.log(`finished scheduled compaction at ${compactMainRev}: ${removed} revisions in ${Date.now() - started} ms`);
        return h.hash();
      }
      const r = bytesToRev(keys[keys.length - 1]);
      last = revToBytes(r.main, r.sub + 1);
      await this.backend.forceCommit();
      if (epoch !== this.epoch) return null;
      await this.sleep(this.cfg.compactionSleepInterval);
      if (epoch !== this.epoch) return null;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.stopTimer = null;
        resolve();
      }, ms);
      this.stopTimer = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  // ---- hashing ----

  /** HashKV: the hash of the key bucket up to rev (0 = current) as a compaction would leave it. */
  hashByRev(rev: number): { hash: KeyValueHash; currentRev: number } {
    const cached = rev > 0 ? this.hashes.find(rev) : undefined;
    if (cached !== undefined) return { hash: cached, currentRev: this.currentRev };
    const compactRev = this.compactMainRev;
    const currentRev = this.currentRev;
    if (rev > 0 && rev < compactRev) throw ErrCompacted;
    if (rev > 0 && rev > currentRev) throw ErrFutureRev;
    if (rev === 0) rev = currentRev;
    const keep = this.index.keep(rev);
    const h = new KvHasher(compactRev, rev, keep);
    const end = Buffer.alloc(8);
    writeU64BE(end, 0, rev + 1);
    const { keys, values } = this.backend.readTx.range(Bucket.Key, revToBytes(0, 0), end);
    for (let i = 0; i < keys.length; i++) h.write(keys[i], values[i]);
    return { hash: h.hash(), currentRev };
  }

  /** Hash of the whole backend (etcd's Hash, for tests): every bucket but the consistent index. */
  async hash(): Promise<{ hash: number; revision: number }> {
    await this.backend.forceCommit();
    const revision = this.currentRev;
    return { hash: this.backend.hash(), revision };
  }

  // ---- restore ----

  /** Replaces the backend (a snapshot from the leader) and rebuilds the index from it. */
  restoreFrom(backend: Backend): void {
    this.epoch++;
    this.stopTimer?.();
    this.backend = backend;
    this.index.clear();
    this.keyLeases.clear();
    this.currentRev = 1;
    this.compactMainRev = -1;
    this.sched = Promise.resolve();
    this.restore();
  }

  private restore(): void {
    const tx = this.backend.readTx;
    const finished = tx.get(Bucket.Meta, MetaKey.FinishedCompactRev);
    if (finished !== undefined) this.compactMainRev = bytesToMain(finished);
    const scheduledBytes = tx.get(Bucket.Meta, MetaKey.ScheduledCompactRev);
    let scheduled = scheduledBytes === undefined ? 0 : bytesToMain(scheduledBytes);

    let currentRev = 1;
    let min = revToBytes(1, 0);
    const chunk = this.cfg.restoreChunkKeys;
    const index = this.index;
    for (;;) {
      const { keys, values } = tx.range(Bucket.Key, min, null, chunk);
      for (let i = 0; i < keys.length; i++) {
        const rk = keys[i];
        const kv = decodeKeyValue(values[i]);
        const skey = keyString(kv.key);
        const { main, sub } = bytesToRev(rk);
        currentRev = main;
        const tomb = isTombstone(rk);
        if (tomb || kv.lease === NO_LEASE) this.keyLeases.delete(skey);
        else this.keyLeases.set(skey, kv.lease);
        const ki = index.keyIndex(skey);
        if (ki !== undefined) {
          if (tomb) ki.tombstone(main, sub);
          else ki.put(main, sub);
        } else if (!tomb) {
          const nki = new KeyIndex(skey);
          nki.restore(kv.createRevision, main, sub, kv.version);
          index.insert(skey, nki);
        }
      }
      if (keys.length < chunk) break;
      const r = bytesToRev(keys[keys.length - 1]);
      min = revToBytes(r.main, r.sub + 1);
    }
    // every revision up to the compaction may be gone; the store is still at least there
    this.currentRev = Math.max(currentRev, this.compactMainRev);
    this.liveKeys = index.countRevisions('', '', this.currentRev);
    if (scheduled <= this.compactMainRev) scheduled = 0;

    if (this.lessor !== null) {
      for (const [skey, lease] of this.keyLeases) {
        try {
          this.lessor.attach(lease, Buffer.from(skey, 'latin1'));
        } catch (err) {
          this.log(`failed to attach a lease ${lease.toString(16).padStart(16, '0')}: ${(err as Error).message}`);
        }
      }
    }
    this.log(`kvstore restored: current revision ${this.currentRev}`);
    if (scheduled !== 0) {
      this.log(`resume scheduled compaction at ${scheduled}`);
      try {
        const prevCompleted = this.prevCompactionCompleted();
        const prev = this.updateCompactRev(scheduled);
        void this.scheduleCompact(scheduled, prev, prevCompleted).catch(() => {});
      } catch (err) {
        this.log(`compaction encountered error: ${(err as Error).message}`);
      }
    }
  }

  /** Waits for scheduled compactions to finish (for tests and shutdown). */
  async settle(): Promise<void> {
    let s: Promise<void>;
    do {
      s = this.sched;
      await s;
    } while (s !== this.sched);
  }

  /** Stops background compaction; the backend stays open (its owner closes it). */
  close(): void {
    this.epoch++;
    this.stopTimer?.();
  }
}
