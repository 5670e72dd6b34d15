// Request validation (etcd's v3rpc/key.go): empty keys, ignore_value/ignore_lease, txn op limits,
// empty ops and overlapping puts/deletes across (nested) txn branches.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ErrGRPCDuplicateKey,
  ErrGRPCEmptyKey,
  ErrGRPCKeyNotFound,
  ErrGRPCLeaseProvided,
  ErrGRPCTooManyOps,
  ErrGRPCValueProvided,
} from '../../src/api/errors.js';
import type { RequestOp, TxnRequest } from '../../src/api/types.js';
import { checkIntervals, checkPutRequest, checkTxnRequest, isTxnReadonly } from '../../src/api/v3rpc/validate.js';

const B = (s: string) => Buffer.from(s);
const E = Buffer.alloc(0);
const put = (k: string): RequestOp => ({
  requestPut: { key: B(k), value: B('v'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false },
});
const del = (k: string, end = ''): RequestOp => ({ requestDeleteRange: { key: B(k), rangeEnd: B(end), prevKv: false } });
const get = (k: string): RequestOp => ({
  requestRange: {
    key: B(k), rangeEnd: E, limit: 0, revision: 0, sortOrder: 0, sortTarget: 0, serializable: false,
    keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
  },
});
const txn = (success: RequestOp[], failure: RequestOp[] = []): TxnRequest => ({ compare: [], success, failure });

test('put validation', () => {
  const p = put('k').requestPut!;
  assert.doesNotThrow(() => checkPutRequest(p));
  assert.throws(() => checkPutRequest({ ...p, key: E }), ErrGRPCEmptyKey);
  assert.throws(() => checkPutRequest({ ...p, ignoreValue: true }), ErrGRPCValueProvided);
  assert.doesNotThrow(() => checkPutRequest({ ...p, ignoreValue: true, value: E }));
  assert.throws(() => checkPutRequest({ ...p, ignoreLease: true, lease: 5n }), ErrGRPCLeaseProvided);
});

test('txn op limits, empty ops and empty compare keys', () => {
  const many = Array.from({ length: 4 }, (_, i) => put(`k${i}`));
  assert.doesNotThrow(() => checkTxnRequest(txn(many), 4));
  assert.throws(() => checkTxnRequest(txn(many), 3), ErrGRPCTooManyOps);
  assert.throws(() => checkTxnRequest(txn([{}]), 8), ErrGRPCKeyNotFound);
  assert.throws(() => checkTxnRequest(txn([get('')]), 8), ErrGRPCEmptyKey);
  const withCmp: TxnRequest = { ...txn([]), compare: [{ result: 0, target: 0, key: E, rangeEnd: E, version: 1 }] };
  assert.throws(() => checkTxnRequest(withCmp, 8), ErrGRPCEmptyKey);
  // a nested txn counts against what its parent left
  assert.throws(() => checkTxnRequest(txn([{ requestTxn: txn([put('a'), put('b')]) }]), 2), ErrGRPCTooManyOps);
});

test('duplicate puts and put/delete overlaps are refused', () => {
  assert.throws(() => checkIntervals([put('a'), put('a')]), ErrGRPCDuplicateKey);
  assert.throws(() => checkIntervals([put('b'), del('a', 'c')]), ErrGRPCDuplicateKey);
  assert.throws(() => checkIntervals([put('a'), del('a')]), ErrGRPCDuplicateKey);
  assert.doesNotThrow(() => checkIntervals([put('c'), del('a', 'c')]), 'range end is exclusive');
  assert.doesNotThrow(() => checkIntervals([put('a'), put('b'), del('x')]));
  // then/else of one nested txn may put the same key; a sibling put may not
  assert.doesNotThrow(() => checkIntervals([{ requestTxn: txn([put('a')], [put('a')]) }]));
  assert.throws(() => checkIntervals([{ requestTxn: txn([put('a')]) }, put('a')]), ErrGRPCDuplicateKey);
  assert.throws(() => checkIntervals([{ requestTxn: txn([del('a', 'z')]) }, put('m')]), ErrGRPCDuplicateKey);
});

test('read-only txns are recognised', () => {
  assert.equal(isTxnReadonly(txn([get('a')], [{ requestTxn: txn([get('b')]) }])), true);
  assert.equal(isTxnReadonly(txn([get('a')], [put('b')])), false);
});
