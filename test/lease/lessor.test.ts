// Tests of the lessor on an in-memory backend with a manual clock: grant, revoke, renew,
// expiry on the primary only, checkpoints, promotion pile-up spreading and recovery.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bucket } from '../../src/storage/backend/buckets.js';
import {
  ErrLeaseExists,
  ErrLeaseNotFound,
  ErrLeaseTTLTooLarge,
  ErrNotPrimary,
  Lessor,
  MAX_LEASE_TTL,
  decodeLease,
  leaseIdKey,
  minLeaseTtl,
  type LeaseCheckpoint,
  type LessorConfig,
} from '../../src/lease/index.js';
import { MemBackend } from '../support/memBackend.js';

class LeaseMemBackend extends MemBackend {
  lease(id: bigint) {
    const v = this.buckets.get(Bucket.Lease)?.get(leaseIdKey(id).toString('latin1'));
    return v === undefined ? undefined : decodeLease(v);
  }
}

const MIN_TTL = 5;
const enc = (s: string) => Buffer.from(s);

function setup(cfg: Partial<LessorConfig> = {}, be = new LeaseMemBackend()) {
  const clock = { t: 1_000_000 };
  const le = new Lessor(be, { minLeaseTtl: MIN_TTL, now: () => clock.t, ...cfg });
  return { le, be, clock };
}

class FakeDeleter {
  deleted: string[] = [];
  ended = 0;
  deleteRange(key: Uint8Array, end: Uint8Array | null) {
    assert.equal(end, null);
    this.deleted.push(Buffer.from(key).toString());
  }
  end() {
    this.ended++;
  }
}

test('minLeaseTtl follows etcd: ceil(((3*electionTicks)/2)*heartbeat)', () => {
  assert.equal(minLeaseTtl(1000, 100), 2); // 15 heartbeats = 1.5 s -> 2
  assert.equal(minLeaseTtl(5000, 500), 8); // 15 * 0.5 s = 7.5 s -> 8
  assert.equal(minLeaseTtl(1100, 100), 2); // 11 ticks -> 16 * 0.1 = 1.6 s
  assert.equal(minLeaseTtl(3000, 1000), 4); // 3 ticks -> 4 heartbeats = 4 s
});

test('grant extends to the minimum TTL, persists, rejects duplicates, zero ID and huge TTLs', () => {
  const { le, be } = setup();
  le.promote(0);
  const l = le.grant(1n, 1);
  assert.equal(l.ttl, MIN_TTL);
  assert.equal(le.lookup(1n), l);
  assert.ok(l.remaining() >= (MIN_TTL - 1) * 1000);
  assert.deepEqual(be.lease(1n), { id: 1n, ttl: MIN_TTL, remainingTtl: 0 });
  assert.throws(() => le.grant(1n, 10), (e) => e === ErrLeaseExists);
  assert.throws(() => le.grant(0n, 10), (e) => e === ErrLeaseNotFound);
  assert.throws(() => le.grant(3n, MAX_LEASE_TTL + 1), (e) => e === ErrLeaseTTLTooLarge);
  assert.equal(ErrLeaseExists.message, 'lease already exists');
  assert.equal(ErrLeaseNotFound.message, 'lease not found');
  const nl = le.grant(2n, 100);
  assert.equal(nl.ttl, 100);
  assert.deepEqual(le.leases().map((x) => x.id), [1n, 2n]);
});

test('a lease granted on a non-primary lessor never expires there', () => {
  const { le, clock } = setup();
  const l = le.grant(1n, 10);
  assert.ok(l.demoted());
  assert.equal(l.remaining(), Infinity);
  clock.t += 1_000_000;
  le.runOnce();
  assert.equal(le.expiredLeases().poll(), undefined);
  assert.equal(le.timeToLive(1n, false).ttl, 9223372036);
});

test('revoke deletes attached keys in sorted order in one txn and the lease record', () => {
  const { le, be } = setup();
  let fd: FakeDeleter | null = null;
  let opened = 0;
  le.setRangeDeleter(() => {
    opened++;
    return (fd = new FakeDeleter());
  });
  const l = le.grant(1n, 100);
  le.attach(1n, enc('foo'));
  le.attach(1n, enc('bar'));
  le.attach(1n, enc('baz'));
  assert.equal(le.getLease(enc('foo')), 1n);
  le.revoke(1n);
  assert.equal(opened, 1);
  assert.deepEqual(fd!.deleted, ['bar', 'baz', 'foo']);
  assert.equal(fd!.ended, 1);
  assert.equal(le.lookup(1n), undefined);
  assert.equal(be.lease(1n), undefined);
  assert.equal(le.getLease(enc('foo')), 0n);
  assert.ok(l.revoked);
  assert.throws(() => le.revoke(1n), (e) => e === ErrLeaseNotFound);
});

test('attach needs an existing lease, detach reports a missing one; detach removes one key', () => {
  const { le } = setup();
  assert.throws(() => le.attach(9n, enc('a')), (e) => e === ErrLeaseNotFound);
  assert.equal(le.detach(9n, enc('a')), false);
  le.grant(1n, 100);
  le.attach(1n, enc('foo'));
  le.attach(1n, enc('bar'));
  assert.equal(le.detach(1n, enc('foo')), true);
  const keys = le.lookup(1n)!.keys().map((k) => Buffer.from(k).toString());
  assert.deepEqual(keys, ['bar']);
  assert.equal(le.getLease(enc('foo')), 0n);
  const ttl = le.timeToLive(1n, true);
  assert.deepEqual(ttl.keys.map((k) => Buffer.from(k).toString()), ['bar']);
  assert.equal(ttl.grantedTtl, 100);
});

test('revoke works with a deleter that detaches each deleted key, as MVCC does', () => {
  const { le } = setup();
  le.grant(1n, 100);
  le.attach(1n, enc('a'));
  le.attach(1n, enc('b'));
  const detached: boolean[] = [];
  le.setRangeDeleter(() => ({
    deleteRange: (k: Uint8Array) => detached.push(le.detach(le.getLease(k), k)),
    end() {},
  }));
  le.revoke(1n);
  assert.deepEqual(detached, [true, true]);
  assert.equal(le.lookup(1n), undefined);
  assert.equal(le.getLease(enc('a')), 0n);
});

test('binary keys sort by bytes when revoked', () => {
  const { le } = setup();
  const fd = new FakeDeleter();
  le.setRangeDeleter(() => fd);
  le.grant(1n, 100);
  const keys = [Buffer.from([0xff]), Buffer.from([0x00, 0x01]), Buffer.from([0x7f]), Buffer.from([0x80])];
  for (const k of keys) le.attach(1n, k);
  const seen: number[][] = [];
  le.setRangeDeleter(() => ({ deleteRange: (k) => seen.push([...k]), end() {} }));
  le.revoke(1n);
  assert.deepEqual(seen, [[0, 1], [0x7f], [0x80], [0xff]]);
});

test('renew needs the primary and restarts the full TTL', async () => {
  const { le, clock } = setup();
  le.grant(1n, 10);
  await assert.rejects(le.renew(1n), (e) => e === ErrNotPrimary);
  le.promote(0);
  await assert.rejects(le.renew(2n), (e) => e === ErrLeaseNotFound);
  clock.t += 6000;
  assert.equal(le.timeToLive(1n, false).ttl, 4);
  assert.equal(await le.renew(1n), 10);
  assert.equal(le.lookup(1n)!.remaining(), 10_000);
  assert.equal(le.timeToLive(1n, false).ttl, 10);
});

test('renew clears a set checkpoint through the checkpointer', async () => {
  const { le, clock } = setup();
  const proposed: LeaseCheckpoint[][] = [];
  le.setCheckpointer((cps) => {
    proposed.push(cps);
    for (const c of cps) le.checkpoint(c.id, c.remainingTtl);
  });
  le.promote(0);
  const l = le.grant(1n, 10);
  le.checkpoint(1n, 4);
  clock.t += 1000;
  assert.equal(await le.renew(1n), 10);
  assert.deepEqual(proposed, [[{ id: 1n, remainingTtl: 0 }]]);
  assert.equal(l.remainingTtl, 0);
  assert.equal(l.remaining(), 10_000);
  // without a set checkpoint nothing is proposed
  await le.renew(1n);
  assert.equal(proposed.length, 1);
});

test('expired leases are offered in batches, again after the retry interval, only on the primary', () => {
  const { le, clock } = setup({ minLeaseTtl: 1, expiredLeasesRetryIntervalMs: 3000 });
  le.promote(0);
  le.grant(1n, 1);
  le.grant(2n, 2);
  le.grant(3n, 60);
  le.runOnce();
  assert.equal(le.expiredLeases().poll(), undefined);
  clock.t += 2000;
  le.runOnce();
  assert.deepEqual(le.expiredLeases().poll()!.map((l) => l.id), [1n, 2n]);
  // not revoked: offered again only once the retry interval passed
  clock.t += 1000;
  le.runOnce();
  assert.equal(le.expiredLeases().poll(), undefined);
  clock.t += 2000;
  le.runOnce();
  assert.deepEqual(le.expiredLeases().poll()!.map((l) => l.id).sort(), [1n, 2n]);
  // revoked leases drop out of the queue
  le.revoke(1n);
  le.revoke(2n);
  clock.t += 3000;
  le.runOnce();
  assert.equal(le.expiredLeases().poll(), undefined);
  // a demoted lessor offers nothing
  clock.t += 100_000;
  le.demote();
  le.runOnce();
  assert.equal(le.expiredLeases().poll(), undefined);
});

test('expired leases are limited to half the revoke rate per round', () => {
  const { le, clock } = setup({ minLeaseTtl: 1, leaseRevokeRate: 10 });
  le.promote(0);
  for (let i = 1; i <= 12; i++) le.grant(BigInt(i), 1);
  clock.t += 1500;
  le.runOnce();
  assert.equal(le.expiredLeases().poll()!.length, 5);
  le.runOnce();
  assert.equal(le.expiredLeases().poll()!.length, 5);
  le.runOnce();
  assert.equal(le.expiredLeases().poll()!.length, 2);
});

test('the expired queue drops batches when full (16) and next() waits for one', async () => {
  const { le, clock } = setup({ minLeaseTtl: 1, expiredLeasesRetryIntervalMs: 1 });
  le.promote(0);
  le.grant(1n, 1);
  clock.t += 1000;
  for (let i = 0; i < 20; i++) {
    le.runOnce();
    clock.t += 1;
  }
  assert.equal(le.expiredLeases().length, 16);
  while (le.expiredLeases().poll() !== undefined);
  const p = le.expiredLeases().next();
  clock.t += 1;
  le.runOnce();
  assert.deepEqual((await p).map((l) => l.id), [1n]);
});

test('renew of an expired lease waits for its revoke', async () => {
  const { le, clock } = setup({ minLeaseTtl: 1 });
  le.promote(1000);
  le.grant(1n, 1);
  clock.t += 2000;
  le.runOnce();
  assert.deepEqual(le.expiredLeases().poll()!.map((l) => l.id), [1n]);
  let settled = false;
  const p = le.renew(1n).finally(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false);
  le.revoke(1n);
  await assert.rejects(p, (e) => e === ErrLeaseNotFound);
});

test('renew of an expired lease fails with ErrNotPrimary on demotion', async () => {
  const { le, clock } = setup({ minLeaseTtl: 1 });
  le.promote(0);
  le.grant(1n, 1);
  clock.t += 2000;
  let settled = false;
  const p = le.renew(1n).finally(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false);
  le.demote();
  await assert.rejects(p, (e) => e === ErrNotPrimary);
  assert.equal(le.lookup(1n)!.remaining(), Infinity);
});

test('promote restarts leases from the checkpointed remaining TTL plus the extension', () => {
  const { le } = setup();
  const l = le.grant(1n, 10);
  le.checkpoint(1n, 5);
  le.promote(0);
  assert.equal(l.remaining(), 5000);
  le.demote();
  le.promote(1500);
  assert.equal(l.remaining(), 6500);
});

test('checkpoints are scheduled by the primary and report the remaining TTL', () => {
  const { le, clock } = setup({ minLeaseTtl: 1, checkpointIntervalMs: 1000 });
  const proposed: LeaseCheckpoint[][] = [];
  le.setCheckpointer((cps) => {
    proposed.push(cps);
  });
  le.grant(1n, 2);
  le.grant(2n, 1); // not above the interval: never checkpointed
  le.promote(0);
  le.runOnce();
  assert.equal(proposed.length, 0);
  clock.t += 1000;
  le.runOnce();
  assert.deepEqual(proposed, [[{ id: 1n, remainingTtl: 1 }]]);
  clock.t += 5000;
  le.runOnce();
  assert.equal(proposed.length, 1);
});

test('checkpoints are batched by the maximum batch size', () => {
  const { le, clock } = setup({ minLeaseTtl: 1, checkpointIntervalMs: 1000, maxCheckpointBatchSize: 3 });
  const proposed: LeaseCheckpoint[][] = [];
  le.setCheckpointer((cps) => {
    proposed.push(cps);
  });
  le.promote(0);
  for (let i = 1; i <= 7; i++) le.grant(BigInt(i), 10);
  clock.t += 1500;
  le.runOnce();
  assert.deepEqual(proposed.map((b) => b.length), [3, 3, 1]);
  assert.ok(proposed.flat().every((c) => c.remainingTtl === 9));
});

test('checkpoint persists the remaining TTL (etcd 3.6) unless disabled', () => {
  const on = setup();
  on.le.grant(1n, 10);
  on.le.checkpoint(1n, 5);
  assert.equal(on.be.lease(1n)!.remainingTtl, 5);
  on.le.checkpoint(99n, 5); // unknown lease: ignored
  const off = setup({ checkpointPersist: false });
  off.le.grant(1n, 10);
  off.le.checkpoint(1n, 5);
  assert.equal(off.be.lease(1n)!.remainingTtl, 0);
  assert.equal(off.le.lookup(1n)!.remainingTtl, 5);
});

test('a new lessor recovers leases and checkpoints from the backend, never expiring until promoted', () => {
  const { le, be } = setup();
  le.grant(1n, 10);
  le.grant(2n, 20);
  le.grant(-3n, 30);
  le.checkpoint(2n, 7);
  const { le: nle, clock } = setup({ minLeaseTtl: 15 }, be);
  assert.equal(nle.lookup(1n)!.ttl, 15); // raised to the new minimum
  assert.equal(nle.lookup(2n)!.ttl, 20);
  assert.equal(nle.lookup(-3n)!.ttl, 30);
  assert.equal(nle.lookup(2n)!.remaining(), Infinity);
  nle.promote(0);
  assert.equal(nle.lookup(2n)!.expiry, clock.t + 7000);
  nle.recover(new LeaseMemBackend(), null);
  assert.equal(nle.leases().length, 0);
});

test('promote spreads a pile-up of expiries over the revoke rate', () => {
  const rate = 10;
  const be = new LeaseMemBackend();
  const first = setup({ leaseRevokeRate: rate }, be);
  const ttl = 10;
  for (let i = 1; i <= rate * 10; i++) {
    first.le.grant(BigInt(2 * i), ttl);
    first.le.grant(BigInt(2 * i + 1), ttl + 1);
  }
  const { le } = setup({ leaseRevokeRate: rate }, be);
  le.promote(0);
  const windowCounts = new Map<number, number>();
  for (const l of le.leases()) {
    const s = Math.trunc(l.remaining() / 1000 + 0.1);
    windowCounts.set(s, (windowCounts.get(s) ?? 0) + 1);
  }
  for (let i = ttl; i < ttl + 20; i++) {
    const c = windowCounts.get(i) ?? 0;
    assert.ok(c <= rate, `at most ${rate} expiring at ${i}s, got ${c}`);
    assert.ok(c >= rate / 2, `at least ${rate / 2} expiring at ${i}s, got ${c}`);
  }
});

test('leases() lists soonest expiry first', () => {
  const { le } = setup();
  le.promote(0);
  le.grant(1n, 30);
  le.grant(2n, 10);
  le.grant(3n, 20);
  assert.deepEqual(le.leases().map((l) => l.id), [2n, 3n, 1n]);
});

test('start/stop run the loop on a timer and stop wakes waiting renewals', async () => {
  const { le, clock } = setup({ minLeaseTtl: 1 });
  le.promote(0);
  le.grant(1n, 1);
  clock.t += 2000;
  const p = le.renew(1n);
  le.start();
  const keepAlive = setTimeout(() => {}, 5000); // the lessor's timer is unref'd
  const batch = await le.expiredLeases().next();
  clearTimeout(keepAlive);
  assert.equal(batch[0].id, 1n);
  le.stop();
  await assert.rejects(p, (e) => e === ErrNotPrimary);
});
