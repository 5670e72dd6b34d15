// The v3lock service over gRPC against a real single-member server: ownership keys named
// "<name>/<lease hex>", re-locking with the same lease, mutual exclusion in FIFO order, release by
// Unlock or by lease revocation, clean-up of a cancelled waiter, the session lease granted when
// none is given, and etcd's errors (gRPC Unknown with etcd's text).

import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { after, before, test } from 'node:test';
import { b, call, grantLease, keysUnder, pending, sleep, startHarness, type Harness } from './concurrencyClient.js';

let h: Harness;

before(async () => {
  h = await startHarness();
});
after(() => h.stop());

const hex = (id: string) => BigInt(id).toString(16);

test('Lock returns "<name>/<lease hex>" and locking again with the lease is the same hold', async () => {
  const lease = await grantLease(h.clients);
  const r1 = await call(h.clients.lock, 'Lock', { name: b('l1'), lease });
  assert.equal(r1.key.toString(), `l1/${hex(lease)}`);
  assert.ok(Number(r1.header.revision) > 0);
  assert.equal(r1.header.member_id, String(h.server.header().memberId));
  const r2 = await call(h.clients.lock, 'Lock', { name: b('l1'), lease });
  assert.equal(r2.key.toString(), r1.key.toString());
  assert.deepEqual(await keysUnder(h.clients, 'l1/'), [`l1/${hex(lease)}`]);
  const u = await call(h.clients.lock, 'Unlock', { key: r1.key });
  assert.ok(Number(u.header.revision) > Number(r1.header.revision));
  assert.deepEqual(await keysUnder(h.clients, 'l1/'), []);
});

test('a second locker waits until the holder unlocks, then holds the lock', async () => {
  const [la, lb, lc] = [await grantLease(h.clients), await grantLease(h.clients), await grantLease(h.clients)];
  const a = await call(h.clients.lock, 'Lock', { name: b('mx'), lease: la });
  const wb = pending(h.clients.lock, 'Lock', { name: b('mx'), lease: lb });
  await sleep(50);
  const wc = pending(h.clients.lock, 'Lock', { name: b('mx'), lease: lc });
  await sleep(150);
  assert.equal(wb.settled, false, 'B must wait while A holds the lock');
  assert.equal(wc.settled, false);
  assert.deepEqual((await keysUnder(h.clients, 'mx/')).length, 3, 'waiters are queued under the prefix');
  await call(h.clients.lock, 'Unlock', { key: a.key });
  const rb = await wb.promise;
  assert.equal(rb.key.toString(), `mx/${hex(lb)}`);
  await sleep(100);
  assert.equal(wc.settled, false, 'C is behind B (FIFO by create revision)');
  // Revoking B's lease releases the lock too.
  await call(h.clients.lease, 'LeaseRevoke', { ID: lb });
  const rc = await wc.promise;
  assert.equal(rc.key.toString(), `mx/${hex(lc)}`);
  assert.ok(Number(rc.header.revision) > Number(rb.header.revision));
  await call(h.clients.lock, 'Unlock', { key: rc.key });
});

test('a waiter that cancels removes its key', async () => {
  const [la, lb] = [await grantLease(h.clients), await grantLease(h.clients)];
  const a = await call(h.clients.lock, 'Lock', { name: b('cx'), lease: la });
  const wb = pending(h.clients.lock, 'Lock', { name: b('cx'), lease: lb });
  await sleep(100);
  assert.equal((await keysUnder(h.clients, 'cx/')).length, 2);
  wb.cancel();
  await assert.rejects(wb.promise, (e: { code: number }) => e.code === status.CANCELLED);
  const deadline = Date.now() + 3000;
  while ((await keysUnder(h.clients, 'cx/')).length !== 1 && Date.now() < deadline) await sleep(20);
  assert.deepEqual(await keysUnder(h.clients, 'cx/'), [a.key.toString()]);
  await call(h.clients.lock, 'Unlock', { key: a.key });
});

test('Lock without a lease runs under a fresh 60 s session lease', async () => {
  const r = await call(h.clients.lock, 'Lock', { name: b('nolease') });
  const m = /^nolease\/([0-9a-f]+)$/.exec(r.key.toString());
  assert.ok(m, r.key.toString());
  const ttl = await call(h.clients.lease, 'LeaseTimeToLive', { ID: BigInt('0x' + m[1]).toString() });
  assert.equal(ttl.grantedTTL, '60');
  await call(h.clients.lock, 'Unlock', { key: r.key });
});

test('errors are Unknown with etcd texts', async () => {
  await assert.rejects(call(h.clients.lock, 'Lock', { name: b('e'), lease: '12345' }), (e: { code: number; details: string }) => {
    assert.equal(e.code, status.UNKNOWN);
    assert.equal(e.details, 'etcdserver: requested lease not found');
    return true;
  });
  await assert.rejects(call(h.clients.lock, 'Unlock', {}), (e: { code: number; details: string }) => {
    assert.equal(e.code, status.UNKNOWN);
    assert.equal(e.details, 'etcdserver: key is not provided');
    return true;
  });
  // Unlocking a key that does not exist is fine (a delete of nothing).
  const u = await call(h.clients.lock, 'Unlock', { key: b('e/none') });
  assert.ok(Number(u.header.revision) > 0);
});
