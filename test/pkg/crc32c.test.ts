// Tests of CRC-32C against published vectors (RFC 3720 B.4, the "123456789" check value, etcd's WAL
// record test data) and against a bit-at-a-time reference on random inputs, including chaining.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32c } from '../../src/pkg/crc32c.js';

function reference(data: Uint8Array, prev = 0): number {
  let c = ~prev >>> 0;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

test('known vectors', () => {
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  // etcd record_test.go: infoData's CRC appears as varint 99 b5 e4 d0 03 in infoRecord.
  assert.equal(crc32c(Buffer.from([0x08, 0xef, 0xfd, 0x02])), 0x3a191a99);
});

test('matches the bitwise reference on random data of every small length and offset', () => {
  const data = randomBytes(300);
  for (let start = 0; start < 9; start++) {
    for (let end = start; end <= 140; end++) {
      assert.equal(crc32c(data, 0, start, end), reference(data.subarray(start, end)), `range ${start}..${end}`);
    }
  }
  const big = randomBytes(1 << 16);
  assert.equal(crc32c(big), reference(big));
});

test('chains like Go crc32.Update: crc(a ++ b) == update(crc(a), b)', () => {
  const a = randomBytes(1000);
  const b = randomBytes(777);
  const whole = Buffer.concat([a, b]);
  assert.equal(crc32c(b, crc32c(a)), crc32c(whole));
  assert.equal(crc32c(b, 0x12345678), reference(b, 0x12345678));
  // An empty update leaves the running value unchanged (crc records carry no data).
  assert.equal(crc32c(new Uint8Array(0), 0xdeadbeef), 0xdeadbeef);
});

test('result is an unsigned 32-bit integer', () => {
  for (let i = 0; i < 50; i++) {
    const v = crc32c(randomBytes(17));
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
  }
});
