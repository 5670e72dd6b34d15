// The v3election service over gRPC against a real single-member server: Campaign (immediate and
// waiting, re-campaigning with the same lease), Leader, Proclaim, Resign, Observe (the current
// leader, its proclamations in order, then the next leader), cancellation and etcd's errors.

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
const isUnknown = (text: string) => (e: { code: number; details: string }) => {
  assert.equal(e.code, status.UNKNOWN);
  assert.equal(e.details, text);
  return true;
};

test('Leader of an election nobody campaigned in: "election: no leader"', async () => {
  await assert.rejects(call(h.clients.election, 'Leader', { name: b('empty') }), isUnknown('election: no leader'));
});

test('campaign, observe, proclaim, resign, hand-over', async () => {
  const [la, lb] = [await grantLease(h.clients), await grantLease(h.clients)];
  const ca = await call(h.clients.election, 'Campaign', { name: b('e1'), lease: la, value: b('a1') });
  assert.equal(ca.leader.name.toString(), 'e1');
  assert.equal(ca.leader.key.toString(), `e1/${hex(la)}`);
  assert.equal(ca.leader.lease, la);
  assert.equal(ca.leader.rev, ca.header.revision, 'a fresh key: rev is the campaign txn revision');

  const seen: string[] = [];
  const obs = h.clients.election.Observe({ name: b('e1') });
  obs.on('data', (r: { kv: { key: Buffer; value: Buffer }; header: { revision: string } }) =>
    seen.push(`${r.kv.key.toString() === ca.leader.key.toString() ? 'A' : 'B'}:${r.kv.value.toString()}`),
  );
  obs.on('error', () => {});
  const waitSeen = async (n: number) => {
    const deadline = Date.now() + 3000;
    while (seen.length < n && Date.now() < deadline) await sleep(10);
    assert.ok(seen.length >= n, `observed ${JSON.stringify(seen)}`);
  };
  await waitSeen(1);

  const wb = pending(h.clients.election, 'Campaign', { name: b('e1'), lease: lb, value: b('b1') });
  await sleep(100);
  assert.equal(wb.settled, false, 'B waits while A leads');

  const pr = await call(h.clients.election, 'Proclaim', { leader: ca.leader, value: b('a2') });
  assert.ok(Number(pr.header.revision) > Number(ca.header.revision));
  const ld = await call(h.clients.election, 'Leader', { name: b('e1') });
  assert.equal(ld.kv.value.toString(), 'a2');
  assert.equal(ld.kv.key.toString(), ca.leader.key.toString());
  await waitSeen(2);

  await call(h.clients.election, 'Resign', { leader: ca.leader });
  const cb = await wb.promise;
  assert.equal(cb.leader.key.toString(), `e1/${hex(lb)}`);
  await waitSeen(3);
  assert.deepEqual(seen, ['A:a1', 'A:a2', 'B:b1']);

  // A's leadership is gone: proclaiming with it fails, resigning it again is harmless.
  await assert.rejects(call(h.clients.election, 'Proclaim', { leader: ca.leader, value: b('x') }), isUnknown('election: not leader'));
  await call(h.clients.election, 'Resign', { leader: ca.leader });
  assert.equal((await call(h.clients.election, 'Leader', { name: b('e1') })).kv.value.toString(), 'b1');
  obs.cancel();
  await call(h.clients.election, 'Resign', { leader: cb.leader });
  assert.deepEqual(await keysUnder(h.clients, 'e1/'), []);
});

test('campaigning again with the same lease keeps the candidacy and posts the new value', async () => {
  const l = await grantLease(h.clients);
  const c1 = await call(h.clients.election, 'Campaign', { name: b('e2'), lease: l, value: b('v1') });
  const c2 = await call(h.clients.election, 'Campaign', { name: b('e2'), lease: l, value: b('v2') });
  assert.equal(c2.leader.rev, c1.leader.rev);
  assert.equal(c2.leader.key.toString(), c1.leader.key.toString());
  assert.equal((await call(h.clients.election, 'Leader', { name: b('e2') })).kv.value.toString(), 'v2');
  await call(h.clients.election, 'Resign', { leader: c2.leader });
});

test('Observe waits for the first leader of an empty election', async () => {
  const got: string[] = [];
  const obs = h.clients.election.Observe({ name: b('e3') });
  obs.on('data', (r: { kv: { value: Buffer }; header: { revision: string } }) => got.push(`${r.kv.value}@${r.header.revision}`));
  obs.on('error', () => {});
  await sleep(100);
  assert.deepEqual(got, []);
  const c = await call(h.clients.election, 'Campaign', { name: b('e3'), lease: await grantLease(h.clients), value: b('first') });
  const deadline = Date.now() + 3000;
  while (got.length === 0 && Date.now() < deadline) await sleep(10);
  assert.deepEqual(got, [`first@${c.header.revision}`], 'the header revision is the put revision');
  obs.cancel();
});

test('a cancelled campaign withdraws its candidacy', async () => {
  const [la, lb] = [await grantLease(h.clients), await grantLease(h.clients)];
  const ca = await call(h.clients.election, 'Campaign', { name: b('e4'), lease: la, value: b('a') });
  const wb = pending(h.clients.election, 'Campaign', { name: b('e4'), lease: lb, value: b('b') });
  await sleep(100);
  assert.equal((await keysUnder(h.clients, 'e4/')).length, 2);
  wb.cancel();
  await assert.rejects(wb.promise, (e: { code: number }) => e.code === status.CANCELLED);
  const deadline = Date.now() + 3000;
  while ((await keysUnder(h.clients, 'e4/')).length !== 1 && Date.now() < deadline) await sleep(20);
  assert.deepEqual(await keysUnder(h.clients, 'e4/'), [ca.leader.key.toString()]);
});

test('requests without a leader key are refused', async () => {
  await assert.rejects(call(h.clients.election, 'Proclaim', { value: b('x') }), isUnknown('"leader" field must be provided'));
  await assert.rejects(call(h.clients.election, 'Resign', {}), isUnknown('"leader" field must be provided'));
});
