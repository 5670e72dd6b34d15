// Request validation done before a request reaches the server, as etcd's v3rpc/key.go does:
// keys must be given, ignore_value/ignore_lease exclude a value/lease, a txn holds at most
// --max-txn-ops operations per branch and never puts (or puts and deletes) the same key twice.

import {
  ErrGRPCDuplicateKey,
  ErrGRPCEmptyKey,
  ErrGRPCKeyNotFound,
  ErrGRPCLeaseProvided,
  ErrGRPCTooManyOps,
  ErrGRPCValueProvided,
} from '../errors.js';
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from '../types.js';

/** Stands in for an absent (proto3 empty) repeated field. */
const NONE: readonly never[] = [];

export function checkRangeRequest(r: RangeRequest): void {
  if (r.key.length === 0) throw ErrGRPCEmptyKey;
}

export function checkPutRequest(r: PutRequest): void {
  if (r.key.length === 0) throw ErrGRPCEmptyKey;
  if (r.ignoreValue && r.value !== undefined && r.value.length !== 0) throw ErrGRPCValueProvided;
  if (r.ignoreLease && r.lease !== undefined && r.lease !== 0n) throw ErrGRPCLeaseProvided;
}

export function checkDeleteRequest(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw ErrGRPCEmptyKey;
}

export function checkTxnRequest(r: TxnRequest, maxTxnOps: number): void {
  const compare = r.compare ?? NONE;
  const success = r.success ?? NONE;
  const failure = r.failure ?? NONE;
  const opc = Math.max(compare.length, success.length, failure.length);
  if (opc > maxTxnOps) throw ErrGRPCTooManyOps;
  for (const c of compare) if (c.key.length === 0) throw ErrGRPCEmptyKey;
  for (const op of success) checkRequestOp(op, maxTxnOps - opc);
  for (const op of failure) checkRequestOp(op, maxTxnOps - opc);
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): void {
  if (op.requestRange !== undefined) checkRangeRequest(op.requestRange);
  else if (op.requestPut !== undefined) checkPutRequest(op.requestPut);
  else if (op.requestDeleteRange !== undefined) checkDeleteRequest(op.requestDeleteRange);
  else if (op.requestTxn !== undefined) checkTxnRequest(op.requestTxn, maxTxnOps);
  else throw ErrGRPCKeyNotFound; // an empty op
}

/** True when the txn (recursively) only reads: etcd serves it without a raft proposal. */
export function isTxnReadonly(r: TxnRequest): boolean {
  const ro = (ops: readonly RequestOp[] = NONE) =>
    ops.every((op) => op.requestRange !== undefined || (op.requestTxn !== undefined && isTxnReadonly(op.requestTxn)));
  return ro(r.success) && ro(r.failure);
}

/** A half-open key interval [begin, end); an empty end means +infinity (etcd's adt affine strings). */
interface Interval {
  begin: Buffer;
  end: Buffer;
}

function cmpAffine(a: Buffer, b: Buffer): number {
  if (a.length === 0) return b.length === 0 ? 0 : 1;
  if (b.length === 0) return -1;
  return Buffer.compare(a, b);
}

function containsPoint(dels: Interval[], k: Buffer): boolean {
  for (const d of dels) if (cmpAffine(d.begin, k) <= 0 && cmpAffine(k, d.end) < 0) return true;
  return false;
}

const ZERO = Buffer.from([0]);
const EVERYTHING: Interval = { begin: ZERO, end: Buffer.alloc(0) };

function pointInterval(k: Buffer): Interval {
  return { begin: k, end: Buffer.concat([k, ZERO]) };
}

function overlaps(a: Interval, b: Interval): boolean {
  return cmpAffine(a.begin, b.end) < 0 && cmpAffine(b.begin, a.end) < 0;
}

/**
 * Rejects a txn branch whose puts collide with each other or with its deletes, nested txns
 * included (the then/else branches of one nested txn may put the same key). Returns this level's
 * put keys and delete intervals for the caller's own checks.
 */
export function checkIntervals(reqs: readonly RequestOp[] = NONE): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of reqs) {
    const d = op.requestDeleteRange;
    if (d === undefined) continue;
    dels.push(d.rangeEnd !== undefined && d.rangeEnd.length !== 0 ? { begin: d.key, end: d.rangeEnd } : pointInterval(d.key));
  }
  const puts = new Set<string>();
  for (const op of reqs) {
    const t = op.requestTxn;
    if (t === undefined) continue;
    const then = checkIntervals(t.success);
    const els = checkIntervals(t.failure);
    for (const k of then.puts) {
      if (puts.has(k) || containsPoint(dels, Buffer.from(k, 'latin1'))) throw ErrGRPCDuplicateKey;
      puts.add(k);
    }
    for (const k of els.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw ErrGRPCDuplicateKey;
      if (containsPoint(dels, Buffer.from(k, 'latin1'))) throw ErrGRPCDuplicateKey;
      puts.add(k);
    }
    // etcd unions the nested deletes restricted to ["\x00", +inf): every real key.
    for (const iv of [...then.dels, ...els.dels]) if (overlaps(iv, EVERYTHING)) dels.push(iv);
  }
  for (const op of reqs) {
    const p = op.requestPut;
    if (p === undefined) continue;
    const k = p.key.toString('latin1');
    if (puts.has(k) || containsPoint(dels, p.key)) throw ErrGRPCDuplicateKey;
    puts.add(k);
  }
  return { puts, dels };
}
