// The lessor wired to the MVCC store as the server wires it: revoking a lease deletes its keys in
// one revision, and after a restart MVCC re-attaches keys to the recovered leases.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Backend } from '../../src/storage/backend/backend.js';
import { KVStore } from '../../src/storage/mvcc/kvstore.js';
import { Lessor, leaseIdKey } from '../../src/lease/index.js';
import { Bucket } from '../../src/storage/backend/buckets.js';

const b = (s: string) => Buffer.from(s);

test('revoke deletes the attached keys in one MVCC revision; keys re-attach after restart', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-lessor-mvcc-'));
  try {
    const file = path.join(dir, 'db');
    let be = Backend.open(file, { noSync: true });
    let le = new Lessor(be.batchTx, { minLeaseTtl: 1 });
    let kv = new KVStore(be, le);
    le.setRangeDeleter(() => kv.write());
    le.grant(1n, 60);
    le.grant(2n, 60);
    const tw = kv.write();
    tw.put(b('a'), b('1'), 1n);
    tw.put(b('b'), b('2'), 1n);
    tw.put(b('c'), b('3'), 2n);
    tw.put(b('d'), b('4'));
    tw.end();
    const rev = kv.rev();
    assert.equal(le.getLease(b('a')), 1n);
    assert.equal(le.lookup(1n)!.keys().length, 2);

    le.revoke(1n);
    assert.equal(kv.rev(), rev + 1, 'one revision for all deletions');
    const r = kv.read();
    const left = r.range(b('a'), b('z')).kvs.map((x) => x.key.toString());
    r.end();
    assert.deepEqual(left, ['c', 'd']);
    assert.equal(be.batchTx.get(Bucket.Lease, leaseIdKey(1n)), undefined);
    assert.equal(le.getLease(b('a')), 0n);
    kv.close();
    await be.close();

    be = Backend.open(file, { noSync: true });
    le = new Lessor(be.batchTx, { minLeaseTtl: 1 });
    kv = new KVStore(be, le);
    assert.deepEqual(le.leases().map((l) => l.id), [2n]);
    assert.equal(le.getLease(b('c')), 2n);
    assert.deepEqual(le.lookup(2n)!.keys().map((k) => Buffer.from(k).toString()), ['c']);
    kv.close();
    await be.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
