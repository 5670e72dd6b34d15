// Tests for leases in a running single-member server: expiry on the leader revokes keys, renew, revoke, restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { ErrLeaseNotFound } from '../../src/lease/index.js';
import { b, startServer, tempDir, waitFor } from './helpers.js';

test('lease grant, attach keys, expiry revokes the lease and deletes its keys', async () => {
  const dir = tempDir();
  // heartbeat 10 ms, election 100 ms: the minimum TTL is 1 s.
  const s = await startServer(dir);
  try {
    const g = await s.leaseGrant({ TTL: 1 });
    assert.ok(g.ID > 0n);
    assert.equal(g.TTL, 1);
    await s.put({ key: b('lk1'), value: b('v'), lease: g.ID });
    await s.put({ key: b('lk2'), value: b('v'), lease: g.ID });
    const ttl = await s.leaseTimeToLive({ ID: g.ID, keys: true });
    assert.deepEqual(ttl.keys.map((k) => k.toString()).sort(), ['lk1', 'lk2']);
    assert.equal((await s.leaseLeases()).leases.length, 1);
    // The leader expires it (the lessor checks every 500 ms) and revokes it through raft.
    await waitFor(() => s.lessor.lookup(g.ID) === undefined, 5000);
    const r = await s.range({ key: b('lk'), rangeEnd: b('ll') });
    assert.equal(r.kvs.length, 0);
    await assert.rejects(s.leaseRevoke({ ID: g.ID }), (e) => e === ErrLeaseNotFound);
    await assert.rejects(s.put({ key: b('x'), value: b('y'), lease: g.ID }), (e) => e === ErrLeaseNotFound);
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('keepalive renews a lease; revoke deletes keys; leases survive restart', async () => {
  const dir = tempDir();
  let s = await startServer(dir);
  let id: bigint;
  try {
    const g = await s.leaseGrant({ TTL: 30, ID: 0x1234n });
    id = g.ID;
    assert.equal(id, 0x1234n);
    assert.equal(await s.leaseRenew(id), 30);
    await s.put({ key: b('a'), value: b('1'), lease: id });
    const g2 = await s.leaseGrant({ TTL: 30 });
    await s.put({ key: b('b'), value: b('2'), lease: g2.ID });
    await s.leaseRevoke({ ID: g2.ID });
    assert.equal((await s.range({ key: b('b') })).kvs.length, 0);
  } finally {
    await s.stop();
  }
  s = await startServer(dir);
  try {
    const t = await s.leaseTimeToLive({ ID: id, keys: true });
    assert.equal(t.grantedTTL, 30);
    assert.deepEqual(t.keys.map((k) => k.toString()), ['a']);
    assert.equal((await s.range({ key: b('a') })).kvs[0]!.lease, id);
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
