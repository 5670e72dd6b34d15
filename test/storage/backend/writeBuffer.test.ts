// Tests of the pending-write buffer: overwrites, deletes and ordered range reads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BucketWrites, WriteBuffer } from '../../../src/storage/backend/writeBuffer.js';

const b = (s: string) => Buffer.from(s, 'latin1');

function rangeKeys(w: BucketWrites, start: string, end?: string): string[] {
  const out: { key: Buffer; value: Buffer | null }[] = [];
  w.range(start, end, out);
  return out.map((e) => e.key.toString('latin1'));
}

test('range returns keys in byte order even when written out of order', () => {
  const w = new BucketWrites();
  for (const k of ['b', 'a', '\xff', 'c', '\x00']) w.set(k, b(k), b('v' + k));
  assert.deepEqual(rangeKeys(w, ''), ['\x00', 'a', 'b', 'c', '\xff']);
  assert.deepEqual(rangeKeys(w, 'a', 'c'), ['a', 'b']);
  assert.deepEqual(rangeKeys(w, 'bb', undefined), ['c', '\xff']);
  w.set('ab', b('ab'), null);
  assert.deepEqual(rangeKeys(w, 'a', 'b'), ['a', 'ab']);
});

test('overwrite keeps one entry with the newest value; delete is recorded as null', () => {
  const buf = new WriteBuffer();
  buf.set('key', b('x'), b('1'));
  buf.set('key', b('x'), b('2'));
  buf.set('key', b('y'), null);
  assert.equal(buf.ops, 3);
  assert.equal(buf.bucket('key').size, 2);
  assert.equal(buf.get('key', 'x')!.value!.toString(), '2');
  assert.equal(buf.get('key', 'y')!.value, null);
  assert.equal(buf.get('meta', 'x'), undefined);
});
