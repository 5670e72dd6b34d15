// Tests of the leasepb.Lease codec and the lease bucket key.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLease, encodeLease, leaseIdFromKey, leaseIdKey } from '../../src/lease/leasepb.js';

test('encodes as protobuf with field numbers 1, 2, 3 and omits zero fields', () => {
  assert.deepEqual([...encodeLease({ id: 1n, ttl: 10, remainingTtl: 0 })], [0x08, 0x01, 0x10, 0x0a]);
  assert.deepEqual([...encodeLease({ id: 300n, ttl: 0, remainingTtl: 5 })], [0x08, 0xac, 0x02, 0x18, 0x05]);
  assert.equal(encodeLease({ id: 0n, ttl: 0, remainingTtl: 0 }).length, 0);
});

test('negative int64 IDs take ten bytes and round-trip', () => {
  const b = encodeLease({ id: -1n, ttl: 1, remainingTtl: 0 });
  assert.equal(b.length, 1 + 10 + 2);
  assert.deepEqual(decodeLease(b), { id: -1n, ttl: 1, remainingTtl: 0 });
});

test('round-trips large values', () => {
  const r = { id: 0x7fffffffffffffffn, ttl: 9_000_000_000, remainingTtl: 123456 };
  assert.deepEqual(decodeLease(encodeLease(r)), r);
});

test('skips unknown fields and rejects truncated input', () => {
  const withUnknown = Buffer.concat([encodeLease({ id: 7n, ttl: 3, remainingTtl: 0 }), Buffer.from([0x22, 0x02, 0x61, 0x62])]);
  assert.deepEqual(decodeLease(withUnknown), { id: 7n, ttl: 3, remainingTtl: 0 });
  assert.throws(() => decodeLease(Buffer.from([0x08, 0x80])), /unexpected EOF/);
  assert.throws(() => decodeLease(Buffer.from([0x22, 0x05, 0x01])), /unexpected EOF/);
});

test('bucket key is the uint64 big-endian of the ID', () => {
  assert.deepEqual([...leaseIdKey(0x0102n)], [0, 0, 0, 0, 0, 0, 1, 2]);
  assert.deepEqual([...leaseIdKey(-1n)], [255, 255, 255, 255, 255, 255, 255, 255]);
  assert.equal(leaseIdFromKey(leaseIdKey(-5n)), -5n);
  assert.equal(leaseIdFromKey(leaseIdKey(42n)), 42n);
  assert.throws(() => leaseIdFromKey(Buffer.alloc(4)), /8-byte/);
});

test('keeps its exact bytes for multi-byte and negative values', () => {
  assert.equal(encodeLease({ id: 0x694d7f1a2b3c4d5en, ttl: 300, remainingTtl: 129 }).toString('hex'), '08de9af1d9a2e3dfa66910ac02188101');
  assert.equal(encodeLease({ id: -2n, ttl: 0, remainingTtl: -1 }).toString('hex'), '08feffffffffffffffff0118ffffffffffffffffff01');
  assert.deepEqual(decodeLease(encodeLease({ id: -2n, ttl: 0, remainingTtl: -1 })), { id: -2n, ttl: 0, remainingTtl: -1 });
});
