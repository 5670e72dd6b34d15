// The lessor over the real LMDB backend: leases and checkpoints survive a restart, revoked
// leases do not, and the revoke's key deletions share the backend batch of the lease deletion.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Backend } from '../../src/storage/backend/backend.js';
import { Bucket } from '../../src/storage/backend/buckets.js';
import { Lessor, leaseIdKey } from '../../src/lease/index.js';

test('leases survive a restart of the backend', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-lessor-'));
  try {
    const file = path.join(dir, 'db');
    let be = Backend.open(file, { noSync: true });
    const clock = { t: 0 };
    const le = new Lessor(be.batchTx, { minLeaseTtl: 2, now: () => clock.t });
    le.grant(1n, 10);
    le.grant(2n, 20);
    le.grant(3n, 30);
    le.checkpoint(2n, 12);
    // Revoke: the key deletions go to a bucket of the same backend, in the same synchronous run.
    le.attach(3n, Buffer.from('k'));
    be.batchTx.put(Bucket.Key, Buffer.from('k'), Buffer.from('v'));
    await be.forceCommit();
    const commitsBefore = be.commits;
    le.setRangeDeleter(() => ({
      deleteRange: (k: Uint8Array) => be.batchTx.delete(Bucket.Key, Buffer.from(k)),
      end() {},
    }));
    le.revoke(3n);
    assert.equal(be.batchTx.get(Bucket.Key, Buffer.from('k')), undefined);
    assert.equal(be.batchTx.get(Bucket.Lease, leaseIdKey(3n)), undefined);
    await be.close();
    assert.equal(be.commits, commitsBefore + 1);

    be = Backend.open(file, { noSync: true });
    const nle = new Lessor(be.batchTx, { minLeaseTtl: 2, now: () => clock.t });
    assert.deepEqual(
      nle.leases().map((l) => [l.id, l.ttl, l.remainingTtl]).sort((a, b) => Number(a[0]) - Number(b[0])),
      [
        [1n, 10, 0],
        [2n, 20, 12],
      ],
    );
    nle.promote(0);
    assert.equal(nle.lookup(2n)!.remaining(), 12_000);
    assert.equal(nle.lookup(1n)!.remaining(), 10_000);
    await be.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
