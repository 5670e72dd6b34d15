// Tests of the lease heaps: ordering, in-place updates and the one-entry-per-lease notifier.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseExpiredNotifier, LeaseQueue } from '../../src/lease/leaseQueue.js';

test('LeaseQueue pops in time order', () => {
  const q = new LeaseQueue();
  const times = [50, 10, 40, 30, 20, 60, 0, 35];
  times.forEach((t, i) => q.push({ id: BigInt(i), time: t, index: -1 }));
  const out: number[] = [];
  while (q.length > 0) out.push(q.pop()!.time);
  assert.deepEqual(out, [...times].sort((a, b) => a - b));
  assert.equal(q.pop(), undefined);
});

test('LeaseQueue keeps indexes so fix() can move an item either way', () => {
  const q = new LeaseQueue();
  const items = [10, 20, 30, 40, 50].map((t, i) => ({ id: BigInt(i), time: t, index: -1 }));
  for (const it of items) q.push(it);
  for (const it of q.items) assert.equal(q.items[it.index], it);
  items[4].time = 5;
  q.fix(items[4].index);
  assert.equal(q.peek(), items[4]);
  items[4].time = 100;
  q.fix(items[4].index);
  const out: bigint[] = [];
  while (q.length > 0) out.push(q.pop()!.id);
  assert.deepEqual(out, [0n, 1n, 2n, 3n, 4n]);
});

test('LeaseExpiredNotifier keeps one entry per lease', () => {
  const n = new LeaseExpiredNotifier();
  n.registerOrUpdate(1n, 100);
  n.registerOrUpdate(2n, 50);
  n.registerOrUpdate(1n, 10);
  assert.equal(n.length, 2);
  assert.equal(n.peek()!.id, 1n);
  assert.equal(n.unregister()!.id, 1n);
  assert.equal(n.unregister()!.id, 2n);
  assert.equal(n.length, 0);
  assert.equal(n.peek(), undefined);
  n.registerOrUpdate(3n, 1);
  n.clear();
  assert.equal(n.length, 0);
});
