// Tests of the KeyValue protobuf codec and the revision key encoding.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKeyValue, encodeKeyValue, eventSize, EventType, keyValueSize, type KeyValue } from '../../../src/storage/mvcc/kv.js';
import { bytesToRev, isTombstone, revToBytes } from '../../../src/storage/mvcc/revision.js';

const kv = (o: Partial<KeyValue>): KeyValue => ({
  key: Buffer.alloc(0),
  createRevision: 0,
  modRevision: 0,
  version: 0,
  value: Buffer.alloc(0),
  lease: 0n,
  ...o,
});

test('encodes KeyValue exactly as gogo/protobuf does', () => {
  const b = encodeKeyValue(kv({ key: Buffer.from('foo'), createRevision: 2, modRevision: 3, version: 1, value: Buffer.from('bar') }));
  assert.equal(b.toString('hex'), '0a03666f6f100218032001' + '2a03626172');
  // a tombstone value holds only the key
  assert.equal(encodeKeyValue(kv({ key: Buffer.from('k') })).toString('hex'), '0a016b');
  // lease 0x694d... (a typical etcd lease ID) as a varint in field 6
  const withLease = encodeKeyValue(kv({ key: Buffer.from('k'), lease: 0x694d7a6e2a1b3c4dn }));
  assert.equal(withLease.subarray(3, 4).toString('hex'), '30');
  assert.equal(decodeKeyValue(withLease).lease, 0x694d7a6e2a1b3c4dn);
});

test('round-trips large numbers, negative leases and long values; skips unknown fields', () => {
  const orig = kv({
    key: Buffer.alloc(300, 7),
    createRevision: 2 ** 53 - 1,
    modRevision: 2 ** 40 + 3,
    version: 130,
    value: Buffer.alloc(70_000, 1),
    lease: -5n,
  });
  const b = encodeKeyValue(orig);
  assert.equal(b.length, keyValueSize(orig));
  assert.deepEqual(decodeKeyValue(b), orig);
  const extended = Buffer.concat([b, Buffer.from([0x38, 0x05, 0x42, 0x01, 0x61])]); // fields 7 (varint), 8 (bytes)
  assert.deepEqual(decodeKeyValue(extended), orig);
  assert.throws(() => decodeKeyValue(b.subarray(0, 10)), /unexpected EOF/);
});

test('event size counts type, kv and prev_kv', () => {
  const k = kv({ key: Buffer.from('a'), modRevision: 5 });
  assert.equal(eventSize({ type: EventType.PUT, kv: k }), 2 + keyValueSize(k));
  assert.equal(eventSize({ type: EventType.DELETE, kv: k, prevKv: k }), 2 + 2 * (2 + keyValueSize(k)));
});

test('revision bytes: 8-byte big-endian main, "_", 8-byte sub, "t" on tombstones', () => {
  const b = revToBytes(0x0102030405, 7);
  assert.equal(b.toString('hex'), '0000000102030405' + '5f' + '0000000000000007');
  assert.deepEqual(bytesToRev(b), { main: 0x0102030405, sub: 7 });
  const t = revToBytes(9, 0, true);
  assert.equal(t.length, 18);
  assert.ok(isTombstone(t));
  assert.ok(!isTombstone(b));
  // byte order is revision order
  assert.ok(Buffer.compare(revToBytes(255, 0), revToBytes(256, 0)) < 0);
  assert.ok(Buffer.compare(revToBytes(5, 1), revToBytes(5, 1, true)) < 0);
});
