// Tests of the KV requests: Range options, Put and DeleteRange options, Txn compares and nesting.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Backend } from '../../../src/storage/backend/backend.js';
import { KVStore } from '../../../src/storage/mvcc/kvstore.js';
import { ErrCompacted, ErrFutureRev, ErrKeyNotFound } from '../../../src/storage/mvcc/errors.js';
import { ErrLeaseNotFound } from '../../../src/lease/errors.js';
import {
  CompareResult,
  CompareTarget,
  deleteRange,
  put,
  range,
  SortOrder,
  SortTarget,
  txn,
  type Compare,
  type RangeRequest,
} from '../../../src/storage/mvcc/txn.js';

const b = (s: string) => Buffer.from(s);
const lessor = { lookup: (id: bigint) => (id === 404n ? undefined : {}), attach() {}, detach() {} };

async function withStore(fn: (s: KVStore) => Promise<void> | void): Promise<void> {
  const dir = fs.mkdtempSync(os.tmpdir() + '/tsetcd-txn-');
  const be = Backend.open(path.join(dir, 'db'), { batchInterval: 10_000, noSync: true });
  const s = new KVStore(be, lessor);
  try {
    await fn(s);
  } finally {
    await s.settle();
    s.close();
    await be.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const keys = (r: { kvs: { key: Buffer }[] }) => r.kvs.map((kv) => String(kv.key));

// a=1 (rev 2), b=22 (3), c=3 (4), then a=111 (5): versions a:2 b:1 c:1
function seed(s: KVStore): void {
  put(s, lessor, { key: b('a'), value: b('1') });
  put(s, lessor, { key: b('b'), value: b('22') });
  put(s, lessor, { key: b('c'), value: b('3') });
  put(s, lessor, { key: b('a'), value: b('111') });
}

test('range: limit and more, count only, keys only, revision', async () => {
  await withStore((s) => {
    seed(s);
    const all: RangeRequest = { key: b('a'), rangeEnd: b('z') };
    let r = range(s, { ...all, limit: 2 });
    assert.deepEqual(keys(r), ['a', 'b']);
    assert.equal(r.more, true);
    assert.equal(r.count, 3);
    assert.equal(r.revision, 5);
    r = range(s, { ...all, limit: 3 });
    assert.equal(r.more, false);
    r = range(s, { ...all, countOnly: true });
    assert.deepEqual(r.kvs, []);
    assert.equal(r.count, 3);
    r = range(s, { ...all, keysOnly: true });
    assert.deepEqual(r.kvs.map((kv) => kv.value.length), [0, 0, 0]);
    assert.equal(range(s, { key: b('a') }).kvs[0].value.toString(), '111', 'the stored value is untouched');
    r = range(s, { key: b('a'), revision: 2 });
    assert.equal(r.kvs[0].value.toString(), '1');
    assert.deepEqual(keys(range(s, { key: b('b'), rangeEnd: Buffer.from([0]) })), ['b', 'c'], '"\\0" means from key');
    assert.throws(() => range(s, { key: b('a'), revision: 6 }), ErrFutureRev);
  });
});

test('range: sort by every target both ways, then limit', async () => {
  await withStore((s) => {
    seed(s);
    const all: RangeRequest = { key: b('a'), rangeEnd: b('z') };
    const sorted = (sortTarget: number, sortOrder: number, limit = 0) =>
      keys(range(s, { ...all, sortTarget, sortOrder, limit }));
    assert.deepEqual(sorted(SortTarget.KEY, SortOrder.DESCEND), ['c', 'b', 'a']);
    assert.deepEqual(sorted(SortTarget.KEY, SortOrder.ASCEND), ['a', 'b', 'c']);
    assert.deepEqual(sorted(SortTarget.VERSION, SortOrder.DESCEND, 1), ['a']);
    assert.deepEqual(sorted(SortTarget.CREATE, SortOrder.DESCEND), ['c', 'b', 'a']);
    assert.deepEqual(sorted(SortTarget.MOD, SortOrder.ASCEND), ['b', 'c', 'a']);
    assert.deepEqual(sorted(SortTarget.MOD, SortOrder.NONE), ['b', 'c', 'a'], 'non-key targets default to ascending');
    assert.deepEqual(sorted(SortTarget.VALUE, SortOrder.DESCEND), ['c', 'b', 'a']);
    assert.deepEqual(sorted(SortTarget.VALUE, SortOrder.ASCEND), ['a', 'b', 'c']);
    const r = range(s, { ...all, sortTarget: SortTarget.MOD, sortOrder: SortOrder.DESCEND, limit: 2 });
    assert.deepEqual(keys(r), ['a', 'c']);
    assert.equal(r.more, true);
  });
});

test('range: min/max mod and create revision filters', async () => {
  await withStore((s) => {
    seed(s);
    const all: RangeRequest = { key: b('a'), rangeEnd: b('z') };
    assert.deepEqual(keys(range(s, { ...all, minModRevision: 4 })), ['a', 'c']);
    assert.deepEqual(keys(range(s, { ...all, maxModRevision: 4 })), ['b', 'c']);
    assert.deepEqual(keys(range(s, { ...all, minCreateRevision: 3 })), ['b', 'c']);
    assert.deepEqual(keys(range(s, { ...all, maxCreateRevision: 3 })), ['a', 'b']);
    const r = range(s, { ...all, minCreateRevision: 3, limit: 1 });
    assert.deepEqual(keys(r), ['b']);
    assert.equal(r.more, true);
  });
});

test('put: prev_kv, ignore_value, ignore_lease, unknown lease, missing key', async () => {
  await withStore((s) => {
    const r1 = put(s, lessor, { key: b('k'), value: b('v1'), lease: 7n, prevKv: true });
    assert.equal(r1.revision, 2);
    assert.equal(r1.prevKv, undefined);
    const r2 = put(s, lessor, { key: b('k'), value: b('v2'), prevKv: true, ignoreLease: true });
    assert.equal(r2.prevKv?.value.toString(), 'v1');
    assert.equal(range(s, { key: b('k') }).kvs[0].lease, 7n);
    put(s, lessor, { key: b('k'), lease: 8n, ignoreValue: true });
    const kv = range(s, { key: b('k') }).kvs[0];
    assert.equal(kv.value.toString(), 'v2');
    assert.equal(kv.lease, 8n);
    assert.equal(kv.version, 3);
    assert.throws(() => put(s, lessor, { key: b('nope'), ignoreValue: true }), ErrKeyNotFound);
    assert.throws(() => put(s, lessor, { key: b('x'), value: b('v'), lease: 404n }), ErrLeaseNotFound);
    assert.equal(s.rev(), 4, 'refused puts do not write');
  });
});

test('delete range: count, prev_kv, revision only when something is deleted', async () => {
  await withStore((s) => {
    seed(s);
    const none = deleteRange(s, { key: b('x'), rangeEnd: b('z'), prevKv: true });
    assert.deepEqual(none, { revision: 5, deleted: 0, prevKvs: [] });
    const r = deleteRange(s, { key: b('a'), rangeEnd: b('c'), prevKv: true });
    assert.equal(r.deleted, 2);
    assert.equal(r.revision, 6);
    assert.deepEqual(r.prevKvs.map((kv) => `${kv.key}=${kv.value}`), ['a=111', 'b=22']);
    assert.deepEqual(keys(range(s, { key: b('a'), rangeEnd: Buffer.from([0]) })), ['c']);
  });
});

const cmp = (c: Partial<Compare> & { key: Buffer; target: number; result: number }): Compare => c;

test('txn compares every target with every result', async () => {
  await withStore((s) => {
    seed(s); // a: value 111, version 2, create 2, mod 5, lease 0
    const check = (c: Compare) => txn(s, lessor, { compare: [c] }).succeeded;
    const E = CompareResult.EQUAL;
    const N = CompareResult.NOT_EQUAL;
    const G = CompareResult.GREATER;
    const L = CompareResult.LESS;
    const a = b('a');
    assert.equal(check(cmp({ key: a, target: CompareTarget.VALUE, result: E, value: b('111') })), true);
    assert.equal(check(cmp({ key: a, target: CompareTarget.VALUE, result: G, value: b('11') })), true);
    assert.equal(check(cmp({ key: a, target: CompareTarget.VALUE, result: L, value: b('2') })), true);
    assert.equal(check(cmp({ key: a, target: CompareTarget.VALUE, result: N, value: b('111') })), false);
    assert.equal(check(cmp({ key: a, target: CompareTarget.VERSION, result: E, version: 2 })), true);
    assert.equal(check(cmp({ key: a, target: CompareTarget.VERSION, result: G, version: 2 })), false);
    assert.equal(check(cmp({ key: a, target: CompareTarget.CREATE, result: E, createRevision: 2 })), true);
    assert.equal(check(cmp({ key: a, target: CompareTarget.MOD, result: L, modRevision: 6 })), true);
    assert.equal(check(cmp({ key: a, target: CompareTarget.MOD, result: N, modRevision: 5 })), false);
    assert.equal(check(cmp({ key: a, target: CompareTarget.LEASE, result: E, lease: 0n })), true);
    // a missing key has version/create/mod/lease 0; any value compare on it fails
    const m = b('missing');
    assert.equal(check(cmp({ key: m, target: CompareTarget.CREATE, result: E, createRevision: 0 })), true);
    assert.equal(check(cmp({ key: m, target: CompareTarget.VERSION, result: E })), true);
    assert.equal(check(cmp({ key: m, target: CompareTarget.VALUE, result: N, value: b('x') })), false);
    // a range compare must hold for every key in it
    assert.equal(check(cmp({ key: a, rangeEnd: b('z'), target: CompareTarget.VERSION, result: G, version: 0 })), true);
    assert.equal(check(cmp({ key: a, rangeEnd: b('z'), target: CompareTarget.VERSION, result: E, version: 1 })), false);
    assert.equal(s.rev(), 5, 'read-only txns do not bump the revision');
  });
});

test('txn runs the chosen branch, nested txns included, in one revision', async () => {
  await withStore((s) => {
    seed(s);
    const resp = txn(s, lessor, {
      compare: [cmp({ key: b('a'), target: CompareTarget.VALUE, result: CompareResult.EQUAL, value: b('111') })],
      success: [
        { requestPut: { key: b('x'), value: b('1') } },
        {
          requestTxn: {
            compare: [cmp({ key: b('b'), target: CompareTarget.VERSION, result: CompareResult.EQUAL, version: 9 })],
            success: [{ requestPut: { key: b('never'), value: b('!') } }],
            failure: [
              { requestPut: { key: b('y'), value: b('2'), prevKv: true } },
              { requestRange: { key: b('x') } },
            ],
          },
        },
        {
          requestTxn: {
            compare: [],
            success: [{ requestDeleteRange: { key: b('c') } }],
          },
        },
        { requestRange: { key: b('a'), rangeEnd: b('z') } },
      ],
      failure: [{ requestPut: { key: b('never'), value: b('!') } }],
    });
    assert.equal(resp.succeeded, true);
    assert.equal(resp.revision, 6);
    assert.equal(s.rev(), 6);
    assert.equal(resp.responses[0].responsePut?.revision, 6);
    const inner = resp.responses[1].responseTxn!;
    assert.equal(inner.succeeded, false);
    assert.equal(inner.responses[0].responsePut?.prevKv, undefined);
    assert.deepEqual(keys(inner.responses[1].responseRange!), ['x'], 'a range sees earlier puts of the txn');
    assert.equal(resp.responses[2].responseTxn!.succeeded, true);
    assert.equal(resp.responses[2].responseTxn!.responses[0].responseDeleteRange?.deleted, 1);
    assert.deepEqual(keys(resp.responses[3].responseRange!), ['a', 'b', 'x', 'y']);
    assert.deepEqual(keys(range(s, { key: b('never') })), []);
    // every change of the txn carries revision 6
    assert.deepEqual(
      range(s, { key: b('x'), rangeEnd: b('z') }).kvs.map((kv) => kv.modRevision),
      [6, 6],
    );
  });
});

test('txn checks: failures come before any write', async () => {
  await withStore(async (s) => {
    seed(s);
    assert.throws(
      () => txn(s, lessor, { success: [{ requestPut: { key: b('q'), value: b('1') } }, { requestRange: { key: b('a'), revision: 99 } }] }),
      ErrFutureRev,
    );
    assert.throws(() => txn(s, lessor, { success: [{ requestPut: { key: b('q'), lease: 404n } }] }), ErrLeaseNotFound);
    assert.throws(
      () => txn(s, lessor, { success: [{ requestTxn: { success: [{ requestPut: { key: b('q'), ignoreValue: true } }] } }] }),
      ErrKeyNotFound,
    );
    assert.equal(s.rev(), 5);
    await s.compact(4);
    assert.throws(() => txn(s, lessor, { success: [{ requestRange: { key: b('a'), revision: 3 } }] }), ErrCompacted);
    // the failure branch is not checked when the success branch runs
    const ok = txn(s, lessor, { failure: [{ requestPut: { key: b('q'), lease: 404n } }] });
    assert.equal(ok.succeeded, true);
    assert.equal(ok.revision, 5);
  });
});
