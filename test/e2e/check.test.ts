// End-to-end: `etcdctl check datascale`, which writes 10,000 keys under a lease, reads the
// member's process_resident_memory_bytes from /metrics before and after, cleans up, and judges
// the result. It passes against real etcd 3.4 too (E2E_SERVER=etcd).

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Cluster, SERVER, withCluster } from '../support/cluster.js';

describe(`etcdctl check (${SERVER})`, () => {
  after(() => Cluster.stopEverything());

  test('check datascale --load=s passes and leaves no keys behind', { timeout: 60_000 }, () =>
    withCluster({ size: 1 }, async (c) => {
      const r = await c.etcdctl(['check', 'datascale', '--load=s'], { timeoutMs: 45_000 });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout.replace(/\r/g, '\n'), /^PASS: Approximate system memory used : \d+(\.\d+)? MB\.$/m);
      const left = await c.etcdctl(['get', '', '--prefix', '--keys-only']);
      assert.equal(left.code, 0, left.stderr);
      assert.equal(left.stdout, '');
    }),
  );
});
