import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../../src/server/etcdserverpb/proto.js';

test('Reader.skip steps over length-delimited fields, including empty ones', () => {
  // field 1: bytes "" ; field 2: bytes "ab" ; field 3: varint 29
  const r = new Reader(Buffer.from([0x0a, 0x00, 0x12, 0x02, 0x61, 0x62, 0x18, 0x1d]));
  assert.equal(r.varint(), 0x0a);
  r.skip(2);
  assert.equal(r.varint(), 0x12);
  r.skip(2);
  assert.equal(r.varint(), 0x18);
  assert.equal(r.int(), 29);
  assert.ok(r.done());
});
