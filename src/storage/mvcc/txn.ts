// The KV requests applied to the store (etcd's etcdserver/txn): Range with limit, sort and revision
// filters; Put with prev_kv, ignore_value, ignore_lease; DeleteRange with prev_kv; Txn with
// compares on value, version, create/mod revision and lease, nested txns, and a revision bump only
// when something is written. Request and response shapes follow etcdserverpb in camelCase.

import { ErrLeaseNotFound } from '../../lease/errors.js';
import { ErrCompacted, ErrFutureRev, ErrKeyNotFound } from './errors.js';
import { EMPTY, NO_LEASE, type KeyValue } from './kv.js';
import type { KVStore } from './kvstore.js';
import type { TxnRead, TxnWrite } from './storeTxn.js';

export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;

export interface RangeRequest {
  key: Uint8Array;
  /** Absent: the key alone; "\0": every key >= key; else [key, rangeEnd). */
  rangeEnd?: Uint8Array | null;
  limit?: number;
  revision?: number;
  sortOrder?: number;
  sortTarget?: number;
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface RangeResponse {
  revision: number;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutRequest {
  key: Uint8Array;
  value?: Uint8Array;
  lease?: bigint;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

export interface PutResponse {
  revision: number;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array | null;
  prevKv?: boolean;
}

export interface DeleteRangeResponse {
  revision: number;
  deleted: number;
  prevKvs: KeyValue[];
}

export interface Compare {
  /** Default EQUAL (proto3 zero). */
  result?: number;
  /** Default VERSION (proto3 zero). */
  target?: number;
  key: Uint8Array;
  rangeEnd?: Uint8Array | null;
  version?: number;
  createRevision?: number;
  modRevision?: number;
  value?: Uint8Array;
  lease?: bigint;
}

export interface RequestOp {
  requestRange?: RangeRequest;
  requestPut?: PutRequest;
  requestDeleteRange?: DeleteRangeRequest;
  requestTxn?: TxnRequest;
}

export interface TxnRequest {
  compare?: Compare[];
  success?: RequestOp[];
  failure?: RequestOp[];
}

export interface ResponseOp {
  responseRange?: RangeResponse;
  responsePut?: PutResponse;
  responseDeleteRange?: DeleteRangeResponse;
  responseTxn?: TxnResponse;
}

export interface TxnResponse {
  /** Revision after the txn; 0 in nested txn responses (etcd leaves their header empty). */
  revision: number;
  succeeded: boolean;
  responses: ResponseOp[];
}

/** The lessor as Put sees it: only whether a lease exists. */
export interface LeaseLookup {
  lookup(leaseId: bigint): unknown;
}

/** "\0" as range end means "every key >= key": an empty end in the store. */
function rangeEndOf(end: Uint8Array | null | undefined): Uint8Array | null {
  if (end === null || end === undefined || end.length === 0) return null;
  if (end.length === 1 && end[0] === 0) return EMPTY;
  return end;
}

// ---- single requests ----

export function range(store: KVStore, r: RangeRequest): RangeResponse {
  const tr = store.read();
  try {
    return executeRange(tr, r);
  } finally {
    tr.end();
  }
}

export function put(store: KVStore, lessor: LeaseLookup | null, p: PutRequest): PutResponse {
  checkLease(lessor, p.lease ?? NO_LEASE);
  const tw = store.write();
  try {
    return executePut(tw, p);
  } finally {
    tw.end();
  }
}

export function deleteRange(store: KVStore, dr: DeleteRangeRequest): DeleteRangeResponse {
  const tw = store.write();
  try {
    return executeDeleteRange(tw, dr);
  } finally {
    tw.end();
  }
}

function checkLease(lessor: LeaseLookup | null, lease: bigint): void {
  if (lease !== NO_LEASE && lessor !== null && lessor.lookup(lease) === undefined) throw ErrLeaseNotFound;
}

const cmpBytes = (a: Buffer, b: Buffer) => Buffer.compare(a, b);

export function executeRange(tr: TxnRead, r: RangeRequest): RangeResponse {
  const filtered =
    (r.sortOrder ?? 0) !== SortOrder.NONE ||
    (r.minModRevision ?? 0) !== 0 ||
    (r.maxModRevision ?? 0) !== 0 ||
    (r.minCreateRevision ?? 0) !== 0 ||
    (r.maxCreateRevision ?? 0) !== 0;
  let limit = filtered ? 0 : (r.limit ?? 0);
  if (limit > 0) limit++; // one more to know whether there is more
  const rr = tr.range(r.key, rangeEndOf(r.rangeEnd), { limit, rev: r.revision ?? 0, count: r.countOnly ?? false });
  let kvs = rr.kvs;
  const maxMod = r.maxModRevision ?? 0;
  const minMod = r.minModRevision ?? 0;
  const maxCreate = r.maxCreateRevision ?? 0;
  const minCreate = r.minCreateRevision ?? 0;
  if (maxMod !== 0) kvs = kvs.filter((kv) => kv.modRevision <= maxMod);
  if (minMod !== 0) kvs = kvs.filter((kv) => kv.modRevision >= minMod);
  if (maxCreate !== 0) kvs = kvs.filter((kv) => kv.createRevision <= maxCreate);
  if (minCreate !== 0) kvs = kvs.filter((kv) => kv.createRevision >= minCreate);

  const target = r.sortTarget ?? SortTarget.KEY;
  let order = r.sortOrder ?? SortOrder.NONE;
  // results come sorted by key ascending: other targets default to ascending, key/ascend is a no-op
  if (target !== SortTarget.KEY && order === SortOrder.NONE) order = SortOrder.ASCEND;
  else if (target === SortTarget.KEY && order === SortOrder.ASCEND) order = SortOrder.NONE;
  if (order !== SortOrder.NONE) {
    let cmp: (a: KeyValue, b: KeyValue) => number;
    switch (target) {
      case SortTarget.KEY:
        cmp = (a, b) => cmpBytes(a.key, b.key);
        break;
      case SortTarget.VERSION:
        cmp = (a, b) => a.version - b.version;
        break;
      case SortTarget.CREATE:
        cmp = (a, b) => a.createRevision - b.createRevision;
        break;
      case SortTarget.MOD:
        cmp = (a, b) => a.modRevision - b.modRevision;
        break;
      case SortTarget.VALUE:
        cmp = (a, b) => cmpBytes(a.value, b.value);
        break;
      default:
        throw new Error(`mvcc: unexpected sort target ${target}`);
    }
    kvs.sort(order === SortOrder.DESCEND ? (a, b) => cmp(b, a) : cmp);
  }
  let more = false;
  const want = r.limit ?? 0;
  if (want > 0 && kvs.length > want) {
    kvs = kvs.slice(0, want);
    more = true;
  }
  if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return { revision: rr.rev, kvs, more, count: rr.count };
}

export function executePut(tw: TxnWrite, p: PutRequest): PutResponse {
  let value: Uint8Array = p.value ?? EMPTY;
  let lease = p.lease ?? NO_LEASE;
  let prev: KeyValue | undefined;
  if (p.ignoreValue || p.ignoreLease || p.prevKv) {
    prev = tw.range(p.key, null).kvs[0];
  }
  if ((p.ignoreValue || p.ignoreLease) && prev === undefined) throw ErrKeyNotFound;
  if (p.ignoreValue) value = prev!.value;
  if (p.ignoreLease) lease = prev!.lease;
  const revision = tw.put(p.key, value, lease);
  return p.prevKv && prev !== undefined ? { revision, prevKv: prev } : { revision };
}

export function executeDeleteRange(tw: TxnWrite, dr: DeleteRangeRequest): DeleteRangeResponse {
  const end = rangeEndOf(dr.rangeEnd);
  const prevKvs = dr.prevKv ? tw.range(dr.key, end).kvs : [];
  const [deleted, revision] = tw.deleteRange(dr.key, end);
  return { revision, deleted, prevKvs };
}

// ---- txn ----

function isReadOnly(rt: TxnRequest): boolean {
  for (const op of rt.success ?? []) if (op.requestRange === undefined) return false;
  for (const op of rt.failure ?? []) if (op.requestRange === undefined) return false;
  return true;
}

/** Applies a Txn: compares choose the branch (recursively for nested txns), then the ops run. */
export function txn(store: KVStore, lessor: LeaseLookup | null, rt: TxnRequest): TxnResponse {
  const isWrite = !isReadOnly(rt);
  const tr = store.read();
  const path = compareToPath(tr, rt);
  try {
    if (isWrite) checkRequests(rt, path, 0, (op) => checkPut(tr, lessor, op));
    checkRequests(rt, path, 0, (op) => checkRange(tr, op));
  } finally {
    tr.end();
  }
  const tx: TxnRead = isWrite ? store.write() : store.read();
  try {
    const resp = executeTxn(tx, rt, path, { i: 0 });
    const changed = isWrite && (tx as TxnWrite).changes.length !== 0;
    resp.revision = tx.rev() + (changed ? 1 : 0);
    return resp;
  } finally {
    tx.end();
  }
}

function branch(rt: TxnRequest, succeeded: boolean): RequestOp[] {
  return (succeeded ? rt.success : rt.failure) ?? [];
}

/** The outcome of every txn's compares, in pre-order of the ops that will run. */
function compareToPath(tr: TxnRead, rt: TxnRequest): boolean[] {
  const ok = applyCompares(tr, rt.compare ?? []);
  const path = [ok];
  for (const op of branch(rt, ok)) if (op.requestTxn !== undefined) path.push(...compareToPath(tr, op.requestTxn));
  return path;
}

/** Calls f for every non-txn op on the chosen path; returns the number of nested txns visited. */
function checkRequests(rt: TxnRequest, path: boolean[], at: number, f: (op: RequestOp) => void): number {
  let txns = 0;
  for (const op of branch(rt, path[at])) {
    if (op.requestTxn !== undefined) {
      const n = checkRequests(op.requestTxn, path, at + 1 + txns, f);
      txns += n + 1;
      continue;
    }
    f(op);
  }
  return txns;
}

function checkPut(tr: TxnRead, lessor: LeaseLookup | null, op: RequestOp): void {
  const p = op.requestPut;
  if (p === undefined) return;
  if ((p.ignoreValue || p.ignoreLease) && tr.range(p.key, null).kvs.length === 0) throw ErrKeyNotFound;
  checkLease(lessor, p.lease ?? NO_LEASE);
}

function checkRange(tr: TxnRead, op: RequestOp): void {
  const r = op.requestRange;
  if (r === undefined) return;
  const rev = r.revision ?? 0;
  if (rev === 0) return;
  if (rev > tr.rev()) throw ErrFutureRev;
  if (rev < tr.firstRev) throw ErrCompacted;
}

function executeTxn(tx: TxnRead, rt: TxnRequest, path: boolean[], pos: { i: number }): TxnResponse {
  const succeeded = path[pos.i];
  const responses: ResponseOp[] = [];
  for (const op of branch(rt, succeeded)) {
    if (op.requestRange !== undefined) responses.push({ responseRange: executeRange(tx, op.requestRange) });
    else if (op.requestPut !== undefined) responses.push({ responsePut: executePut(tx as TxnWrite, op.requestPut) });
    else if (op.requestDeleteRange !== undefined)
      responses.push({ responseDeleteRange: executeDeleteRange(tx as TxnWrite, op.requestDeleteRange) });
    else if (op.requestTxn !== undefined) {
      pos.i++;
      responses.push({ responseTxn: executeTxn(tx, op.requestTxn, path, pos) });
    } else responses.push({});
  }
  return { revision: 0, succeeded, responses };
}

function applyCompares(tr: TxnRead, cmps: Compare[]): boolean {
  for (const c of cmps) if (!applyCompare(tr, c)) return false;
  return true;
}

const ABSENT: KeyValue = { key: EMPTY, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: NO_LEASE };

function applyCompare(tr: TxnRead, c: Compare): boolean {
  let kvs: KeyValue[];
  try {
    kvs = tr.range(c.key, rangeEndOf(c.rangeEnd)).kvs;
  } catch {
    return false;
  }
  if (kvs.length === 0) {
    // a value compare on a missing key always fails: no way to tell a missing value from ""
    if (c.target === CompareTarget.VALUE) return false;
    return compareKV(c, ABSENT);
  }
  for (const kv of kvs) if (!compareKV(c, kv)) return false;
  return true;
}

function sign(a: number | bigint, b: number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareKV(c: Compare, kv: KeyValue): boolean {
  let result: number;
  switch (c.target ?? CompareTarget.VERSION) {
    case CompareTarget.VALUE: {
      const v = c.value ?? EMPTY;
      result = Buffer.compare(kv.value, Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      break;
    }
    case CompareTarget.CREATE:
      result = sign(kv.createRevision, c.createRevision ?? 0);
      break;
    case CompareTarget.MOD:
      result = sign(kv.modRevision, c.modRevision ?? 0);
      break;
    case CompareTarget.VERSION:
      result = sign(kv.version, c.version ?? 0);
      break;
    case CompareTarget.LEASE:
      result = sign(kv.lease, c.lease ?? NO_LEASE);
      break;
    default:
      result = 0;
  }
  switch (c.result ?? CompareResult.EQUAL) {
    case CompareResult.EQUAL:
      return result === 0;
    case CompareResult.NOT_EQUAL:
      return result !== 0;
    case CompareResult.GREATER:
      return result > 0;
    case CompareResult.LESS:
      return result < 0;
  }
  return true;
}
