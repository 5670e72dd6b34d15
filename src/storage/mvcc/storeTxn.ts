// Read and write transactions of the KV store (etcd's kvstore_txn.go).
// A write transaction stages every change at revision currentRev+1 (sub = position in the txn) in
// the backend's batch and the index at once, so later operations of the same transaction see
// earlier ones (as in etcd 3.5); end() moves the store to the new revision and notifies watchers.
// A transaction without changes does not bump the revision.
// Transactions are synchronous: open, use and end one within a single run of the event loop.

import { Bucket } from '../backend/buckets.js';
import { ErrCompacted, ErrFutureRev } from './errors.js';
import { decodeKeyValue, encodeKeyValue, EMPTY, NO_LEASE, type KeyValue } from './kv.js';
import { revToBytes } from './revision.js';
import { keyString } from './treeIndex.js';
import type { KVStore } from './kvstore.js';

export interface RangeOptions {
  /** Maximum number of keys returned; 0 = no limit. */
  limit?: number;
  /** Revision to read at; 0 = the transaction's revision. */
  rev?: number;
  /** Only count the keys. */
  count?: boolean;
}

export interface RangeResult {
  kvs: KeyValue[];
  /** Number of keys in the range at the revision (not capped by the limit). */
  count: number;
  /** The store revision the read was served at. */
  rev: number;
}

/** What the lessor needs of a write transaction (etcd's lease.TxnDelete plus put). */
export interface TxnWriteLike {
  put(key: Uint8Array, value: Uint8Array, lease?: bigint): number;
  deleteRange(key: Uint8Array, end: Uint8Array | null): [deleted: number, rev: number];
  end(): void;
}

export function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Range end as an index bound: null = single key; "" = unbounded ("\0" means unbounded too). */
export function endString(end: Uint8Array | null | undefined): string | null {
  if (end === null || end === undefined) return null;
  if (end.length === 1 && end[0] === 0) return '';
  return keyString(end);
}

export class TxnRead {
  protected readonly s: KVStore;
  /** Compaction revision when the transaction started. */
  readonly firstRev: number;
  protected readonly currentRev: number;
  /** Operations done, for the store's txn counter (etcd counts a txn when it does more than one). */
  protected ops = 0;

  constructor(s: KVStore, firstRev: number, rev: number) {
    this.s = s;
    this.firstRev = firstRev;
    this.currentRev = rev;
  }

  /** The revision the transaction reads at. */
  rev(): number {
    return this.currentRev;
  }

  range(key: Uint8Array, end: Uint8Array | null, ro: RangeOptions = {}): RangeResult {
    return this.rangeKeys(key, end, this.rev(), ro);
  }

  protected rangeKeys(key: Uint8Array, end: Uint8Array | null, curRev: number, ro: RangeOptions): RangeResult {
    this.s.opCounts.range++;
    this.ops++;
    let rev = ro.rev ?? 0;
    if (rev > curRev) throw ErrFutureRev;
    if (rev <= 0) rev = curRev;
    if (rev < this.s.compactMainRev) throw ErrCompacted;
    const skey = keyString(key);
    const send = endString(end);
    const index = this.s.index;
    if (ro.count) return { kvs: [], count: index.countRevisions(skey, send, rev), rev: curRev };
    const { revs, total } = index.revisions(skey, send, rev, ro.limit ?? 0);
    const kvs: KeyValue[] = new Array(revs.length);
    for (let i = 0; i < revs.length; i++) {
      const r = revs[i];
      kvs[i] = this.s.readKeyValue(r.modMain, r.modSub);
    }
    return { kvs, count: total, rev: curRev };
  }

  end(): void {
    if (this.ops > 1) this.s.opCounts.txn++;
    this.ops = 0;
  }
}

export class TxnWrite extends TxnRead implements TxnWriteLike {
  /** The revision the transaction started at; its writes go to beginRev + 1. */
  readonly beginRev: number;
  readonly changes: KeyValue[] = [];
  private ended = false;

  constructor(s: KVStore) {
    super(s, s.compactMainRev, s.currentRev);
    this.beginRev = s.currentRev;
  }

  override rev(): number {
    return this.beginRev;
  }

  override range(key: Uint8Array, end: Uint8Array | null, ro: RangeOptions = {}): RangeResult {
    return this.rangeKeys(key, end, this.changes.length > 0 ? this.beginRev + 1 : this.beginRev, ro);
  }

  /** Puts a key; returns the revision of the write. */
  put(key: Uint8Array, value: Uint8Array, lease: bigint = NO_LEASE): number {
    const s = this.s;
    const k = toBuffer(key);
    const skey = keyString(k);
    const rev = this.beginRev + 1;
    s.opCounts.put++;
    s.opCounts.putBytes += k.length + value.length;
    this.ops++;
    const prev = s.index.get(skey, rev);
    if (prev === null) s.liveKeys++;
    const kv: KeyValue = {
      key: k,
      createRevision: prev === null ? rev : prev.createdMain,
      modRevision: rev,
      version: (prev === null ? 0 : prev.ver) + 1,
      value: value.length === 0 ? EMPTY : toBuffer(value),
      lease,
    };
    const sub = this.changes.length;
    s.backend.batchTx.put(Bucket.Key, revToBytes(rev, sub), encodeKeyValue(kv));
    s.index.put(skey, rev, sub);
    this.changes.push(kv);
    const oldLease = prev === null ? NO_LEASE : s.leaseOf(skey);
    if (oldLease !== lease) {
      if (oldLease !== NO_LEASE) s.detachLease(oldLease, skey, k);
      if (lease !== NO_LEASE) s.attachLease(lease, skey, k);
    }
    return rev;
  }

  /** Deletes the keys in the range; returns how many and the revision of the transaction. */
  deleteRange(key: Uint8Array, end: Uint8Array | null): [number, number] {
    this.s.opCounts.delete++;
    this.ops++;
    const rrev = this.changes.length > 0 ? this.beginRev + 1 : this.beginRev;
    const kis = this.s.index.range(keyString(key), endString(end), rrev);
    for (const ki of kis) this.delete(ki.key);
    if (kis.length !== 0 || this.changes.length > 0) return [kis.length, this.beginRev + 1];
    return [0, this.beginRev];
  }

  private delete(key: Buffer): void {
    const s = this.s;
    const kv: KeyValue = { key, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: NO_LEASE };
    const rev = this.beginRev + 1;
    const sub = this.changes.length;
    s.backend.batchTx.put(Bucket.Key, revToBytes(rev, sub, true), encodeKeyValue(kv));
    const skey = keyString(key);
    if (!s.index.tombstone(skey, rev, sub)) throw new Error(`mvcc: failed to tombstone an existing key ${key}`);
    s.liveKeys--;
    this.changes.push(kv);
    const lease = s.leaseOf(skey);
    if (lease !== NO_LEASE) s.detachLease(lease, skey, key);
  }

  /** Publishes the changes: the store moves to the new revision (if anything changed), watchers hear of it. */
  override end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.ops > 1) this.s.opCounts.txn++;
    if (this.changes.length !== 0) this.s.publish(this.beginRev + 1, this.changes);
  }
}

/** Decodes a stored revision, failing loudly if the index points at a missing one. */
export function decodeStored(v: Buffer | undefined, main: number, sub: number): KeyValue {
  if (v === undefined) throw new Error(`mvcc: range failed to find revision pair ${main}.${sub}`);
  return decodeKeyValue(v);
}
