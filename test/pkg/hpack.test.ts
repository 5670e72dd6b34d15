// Tests for HPACK (src/pkg/h2): the canonical Huffman code, the RFC 7541 Appendix C
// examples (Huffman strings and the dynamic table across blocks) and the literal encoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HUFFMAN_CODES,
  HUFFMAN_LENGTHS,
  HpackDecoder,
  HpackError,
  encodeHeaderBlock,
  huffmanDecode,
  huffmanEncode,
} from '../../src/pkg/h2/hpack.js';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

function decodeAll(d: HpackDecoder, block: Uint8Array): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  d.decode(block, (n, v) => out.push([n, v]));
  return out;
}

test('huffman codes derived from lengths match RFC 7541 Appendix B', () => {
  assert.equal(HUFFMAN_CODES[0], 0x1ff8);
  assert.equal(HUFFMAN_CODES[1], 0x7fffd8);
  assert.equal(HUFFMAN_CODES[10], 0x3ffffffc);
  assert.equal(HUFFMAN_CODES[32], 0x14); // ' '
  assert.equal(HUFFMAN_CODES[48], 0x0); // '0'
  assert.equal(HUFFMAN_CODES[97], 0x3); // 'a'
  assert.equal(HUFFMAN_CODES[128], 0xfffe6);
  assert.equal(HUFFMAN_CODES[255], 0x3ffffee);
  assert.equal(HUFFMAN_CODES[256], 0x3fffffff); // EOS
  // A complete prefix code: the Kraft sum is exactly 1.
  const kraft = HUFFMAN_LENGTHS.reduce((a, l) => a + 2 ** -l, 0);
  assert.equal(kraft, 1);
});

test('huffman round trip over all byte values, and padding rules', () => {
  let all = '';
  for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
  for (const s of ['', 'a', 'www.example.com', 'grpc-status', all]) {
    const enc = huffmanEncode(s);
    assert.equal(huffmanDecode(enc, 0, enc.length), s);
  }
  assert.deepEqual([...huffmanEncode('www.example.com')], [...hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff')]);
  // 'a' is 00011; padding with zeros instead of EOS-prefix ones is invalid.
  assert.throws(() => huffmanDecode(Uint8Array.of(0x18), 0, 1), HpackError);
  // A whole byte of padding (8 bits of ones) is too long.
  assert.throws(() => huffmanDecode(Uint8Array.of(0x1f, 0xff), 0, 2), HpackError);
});

test('RFC 7541 C.4: three requests with Huffman and a shared dynamic table', () => {
  const d = new HpackDecoder();
  assert.deepEqual(decodeAll(d, hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ]);
  assert.equal(d.dynamicLength, 1);
  assert.deepEqual(decodeAll(d, hex('8286 84be 5886 a8eb 1064 9cbf')), [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ]);
  assert.equal(d.dynamicLength, 2);
  assert.deepEqual(decodeAll(d, hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')), [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ]);
  assert.equal(d.dynamicLength, 3);
});

test('table size updates evict, and bad indexes are errors', () => {
  const d = new HpackDecoder();
  decodeAll(d, hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'));
  assert.equal(d.dynamicLength, 1);
  decodeAll(d, Uint8Array.of(0x20)); // size update to 0
  assert.equal(d.dynamicLength, 0);
  assert.throws(() => decodeAll(d, Uint8Array.of(0xbe)), HpackError); // index 62 no longer exists
  assert.throws(() => decodeAll(d, Uint8Array.of(0x80)), HpackError); // index 0
  assert.throws(() => decodeAll(d, hex('3fe2 1f')), HpackError); // size update to 4097, above the limit
});

test('encodeHeaderBlock produces literals a decoder reads back without touching its table', () => {
  const headers: Array<[string, string]> = [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', '/etcdserverpb.KV/Put'],
    [':authority', '127.0.0.1:2379'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ];
  const block = encodeHeaderBlock(headers);
  assert.equal(block[0], 0x83); // :method POST, static index 3
  const d = new HpackDecoder();
  assert.deepEqual(decodeAll(d, block), headers);
  assert.equal(d.dynamicLength, 0);
});
