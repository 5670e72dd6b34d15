// The arena for long-lived payloads: copies are independent of their source, small ones share
// slabs of the arena's own (never Node's shared pool), a full slab is replaced, large ones stand alone.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena } from '../../src/pkg/arena.js';

test('copies are exact and independent; small ones are packed into one slab', () => {
  const a = new Arena(1024);
  const src = Buffer.from('hello');
  const c1 = a.copy(src);
  const c2 = a.copy(Buffer.from('world!'));
  src.fill(0);
  assert.equal(c1.toString(), 'hello');
  assert.equal(c2.toString(), 'world!');
  assert.equal(c1.buffer, c2.buffer, 'small copies share a slab');
  assert.equal(c2.byteOffset, c1.byteOffset + 5, 'packed back to back');
  assert.equal(c1.buffer.byteLength, 1024, 'a slab of the arena, not the 8 KiB pool');
});

test('a full slab is replaced; copies larger than an eighth of a slab get their own buffer', () => {
  const a = new Arena(1024);
  const first = a.copy(Buffer.alloc(100, 1));
  for (let i = 0; i < 9; i++) a.copy(Buffer.alloc(100, 2));
  const next = a.copy(Buffer.alloc(100, 3));
  assert.notEqual(next.buffer, first.buffer);
  assert.ok(next.every((b) => b === 3));
  const big = a.copy(Buffer.alloc(200, 4));
  assert.equal(big.buffer.byteLength, 200);
  assert.ok(big.every((b) => b === 4));
  assert.equal(a.copy(new Uint8Array(0)).length, 0);
});
