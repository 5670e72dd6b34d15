// Tests of the shared protobuf wire primitives (sizes, Writer, Reader).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ProtoDecodeError,
  Reader,
  Writer,
  putVarint,
  sizeBoolField,
  sizeBytesField,
  sizeInt64Field,
  sizeIntField,
  sizeLenField,
  sizeVarint,
  sizeVarintBig,
} from '../../src/pkg/protobuf.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('varint sizes match the bytes written, across every length boundary and for negatives', () => {
  const nums = [0, 1, 127, 128, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 53, -1, -(2 ** 40)];
  for (const v of nums) {
    const buf = Buffer.alloc(16);
    assert.equal(putVarint(buf, 0, v), sizeVarint(v), `number ${v}`);
  }
  const bigs = [0n, 127n, 128n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, -1n, -(2n ** 63n)];
  for (const v of bigs) {
    const w = new Writer(sizeVarintBig(v));
    w.varintBig(v);
    assert.equal(w.pos, w.buf.length, `bigint ${v}`);
  }
  const b = Buffer.alloc(2);
  putVarint(b, 0, 300);
  assert.equal(hex(b), 'ac02');
  const neg = Buffer.alloc(10);
  putVarint(neg, 0, -1);
  assert.equal(hex(neg), 'ffffffffffffffffff01');
});

test('Writer: always-written fields and proto3 fields that omit defaults', () => {
  const w = new Writer(
    2 + 2 + sizeLenField(2) + 2 + sizeIntField(0) + sizeInt64Field(0n) + sizeBoolField(false) + sizeBytesField(0) +
      sizeIntField(5) + sizeInt64Field(-2n) + sizeBoolField(true) + sizeBytesField(1) + 3,
  );
  w.uintField(1, 0);
  w.uint64Field(2, 0n);
  w.bytesField(3, Buffer.from('ab'));
  w.lenField(4, 0);
  w.int(5, 0);
  w.int64(6, 0n);
  w.bool(7, false);
  w.bytes(8, Buffer.alloc(0));
  w.int(5, 5);
  w.int64(6, -2n);
  w.bool(7, true);
  w.bytes(8, Buffer.from('x'));
  w.tag(100, 0); // a two-byte tag
  w.varint(1);
  assert.equal(w.pos, w.buf.length);
  assert.equal(hex(w.buf), '0800' + '1000' + '1a026162' + '2200' + '2805' + '30feffffffffffffffff01' + '3801' + '420178' + 'a00601');
});

test('Reader reads every scalar kind, views bytes, and walks embedded messages', () => {
  const inner = Buffer.from('0a0178', 'hex'); // {1: "x"}
  const buf = Buffer.concat([
    Buffer.from('08ac02', 'hex'), // 1: 300
    Buffer.from('10feffffffffffffffff01', 'hex'), // 2: -2 as int64
    Buffer.from('18ffffffffffffffffff01', 'hex'), // 3: 2^64-1 as uint64
    Buffer.from('2001', 'hex'), // 4: true
    Buffer.from('2a03', 'hex'), inner, // 5: embedded message
  ]);
  const r = new Reader(buf);
  assert.equal(r.varint(), 0x08);
  assert.equal(r.varint(), 300);
  assert.equal(r.varint(), 0x10);
  const at = r.pos;
  assert.equal(r.int64(), -2n);
  r.pos = at;
  assert.equal(r.int(), -2);
  assert.equal(r.varint(), 0x18);
  assert.equal(r.uint64(), 2n ** 64n - 1n);
  assert.equal(r.varint(), 0x20);
  assert.equal(r.bool(), true);
  assert.equal(r.varint(), 0x2a);
  const s = r.sub();
  assert.ok(r.done());
  assert.equal(s.varint(), 0x0a);
  const x = s.bytes();
  assert.ok(Buffer.isBuffer(x));
  assert.equal(x.toString(), 'x');
  assert.equal(x.buffer, buf.buffer, 'bytes are a view, not a copy');
  assert.ok(s.done());
});

test('Reader.of gives Buffer views of plain Uint8Arrays', () => {
  const u = new Uint8Array([0x0a, 0x02, 0x68, 0x69]);
  const r = Reader.of(u);
  r.varint();
  const b = r.bytes();
  assert.ok(Buffer.isBuffer(b));
  assert.equal(b.toString(), 'hi');
});

test('Reader.skip steps over every wire type, including empty length-delimited fields', () => {
  // 1: bytes "" ; 2: bytes "ab" ; 3: fixed64 ; 4: fixed32 ; 5: varint 29
  const r = new Reader(Buffer.from('0a00' + '12026162' + '190102030405060708' + '2501020304' + '281d', 'hex'));
  for (const wire of [2, 2, 1, 5]) {
    assert.equal(r.varint() & 7, wire);
    r.skip(wire);
  }
  assert.equal(r.varint(), 0x28);
  assert.equal(r.int(), 29);
  assert.ok(r.done());
});

test('Reader.uint64s reads packed and unpacked repeated ids', () => {
  const ids: bigint[] = [];
  const r = new Reader(Buffer.from('0802' + '0a03' + '01ac02', 'hex'));
  r.uint64s(r.varint() & 7, ids);
  r.uint64s(r.varint() & 7, ids);
  assert.deepEqual(ids, [2n, 1n, 300n]);
  assert.throws(() => new Reader(Buffer.from('0d', 'hex')).uint64s(5, ids), ProtoDecodeError);
});

test('malformed input: truncation, over-long varints, bad wire types', () => {
  const eof = (hexs: string, f: (r: Reader) => unknown) =>
    assert.throws(() => f(new Reader(Buffer.from(hexs, 'hex'))), (e) => e instanceof ProtoDecodeError && /unexpected EOF/.test(e.message));
  eof('80', (r) => r.varint());
  eof('ffffffffff', (r) => r.uint64());
  eof('0561', (r) => r.bytes());
  eof('0561', (r) => r.sub());
  eof('0561', (r) => r.skip(2));
  eof('0102', (r) => r.skip(1));
  assert.throws(() => new Reader(Buffer.alloc(11, 0xff)).varint(), /integer overflow/);
  assert.throws(() => new Reader(Buffer.from('ffffffffffffffffffff01', 'hex')).uint64(), /integer overflow/);
  assert.throws(() => new Reader(Buffer.from('00', 'hex')).skip(3), /illegal wireType 3/);
});

test('reset points a reader at another range', () => {
  const r = new Reader(Buffer.from('05', 'hex'));
  assert.equal(r.varint(), 5);
  r.reset(Buffer.from('ff0607', 'hex'), 1, 2);
  assert.equal(r.varint(), 6);
  assert.ok(r.done());
});
