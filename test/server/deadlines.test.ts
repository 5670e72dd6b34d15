// Tests the shared proposal-deadline sweep: expiry order, timing bound and stop().

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineQueue } from '../../src/server/deadlines.js';

test('sweep expires only entries whose timeout has passed, in order', () => {
  const got: [number, number][] = [];
  const q = new DeadlineQueue(1000, (id, start) => got.push([id, start]));
  const t0 = Date.now();
  q.add(1);
  q.add(2);
  assert.equal(q.size, 2);
  q.sweep(t0 - 1 + 1000 - 50);
  assert.deepEqual(got, []);
  q.sweep(Date.now() + 1000);
  assert.deepEqual(got.map((g) => g[0]), [1, 2]);
  assert.ok(got[0]![1] >= t0 && got[0]![1] <= Date.now());
  assert.equal(q.size, 0);
  q.stop();
});

test('the periodic sweep fires about timeoutMs after add', async () => {
  // The sweep timer is unref'd (it must not keep a server alive): hold the loop open meanwhile.
  const keep = setTimeout(() => {}, 1000);
  const t0 = Date.now();
  const fired = await new Promise<number>((resolve) => {
    const q = new DeadlineQueue(60, () => {
      q.stop();
      resolve(Date.now());
    });
    q.add(7);
  });
  clearTimeout(keep);
  const dt = fired - t0;
  assert.ok(dt >= 60 && dt < 400, `fired after ${dt} ms`);
});

test('stop forgets pending entries', async () => {
  let n = 0;
  const q = new DeadlineQueue(20, () => n++);
  q.add(1);
  q.stop();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(n, 0);
  assert.equal(q.size, 0);
});

test('an entry added from expire is not lost', () => {
  const got: number[] = [];
  const q = new DeadlineQueue(1000, (id) => {
    got.push(id);
    if (id === 1) q.add(9);
  });
  q.add(1);
  q.sweep(Date.now() + 500);
  assert.deepEqual(got, []);
  q.sweep(Date.now() + 5000);
  // 9 was added while sweeping and is already due at that time: it expires in the same pass.
  assert.deepEqual(got, [1, 9]);
  assert.equal(q.size, 0);
  q.stop();
});
