// Frame encoding and incremental decoding: batches split at every possible byte boundary decode to
// the same messages in order, write-size limits split batches, oversized frames are refused.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage, encodeMessage } from '../../src/raft/raftpb/codec.js';
import { encodeFrames, FrameDecoder, FrameTooLargeError } from '../../src/transport/frame.js';
import { app, heartbeat } from './helpers.js';

const msgs = [heartbeat(1n, 2n, 7), app(1n, 2n, 10, 'hello'), app(1n, 2n, 11, 'x'.repeat(300)), heartbeat(1n, 2n, 12)];

function decodeAll(chunks: Buffer[], max = 1 << 20): number[] {
  const d = new FrameDecoder(max);
  const out: number[] = [];
  for (const c of chunks) d.push(c, (f) => out.push(decodeMessage(f).commit));
  assert.equal(d.buffered, 0);
  return out;
}

test('a batch is one buffer of length-prefixed messages', () => {
  const { buf, count } = encodeFrames(msgs, 0, Infinity);
  assert.equal(count, msgs.length);
  const expected = msgs.reduce((n, m) => n + 4 + encodeMessage(m).length, 0);
  assert.equal(buf.length, expected);
  assert.equal(buf.readUInt32BE(0), encodeMessage(msgs[0]).length);
  assert.deepEqual(decodeAll([buf]), [7, 10, 11, 12]);
});

test('decoding survives every split point, and byte-by-byte feeding', () => {
  const { buf } = encodeFrames(msgs, 0, Infinity);
  for (let i = 0; i <= buf.length; i++) {
    for (const j of [i, Math.min(buf.length, i + 3), buf.length]) {
      const parts = [buf.subarray(0, i), buf.subarray(i, j), buf.subarray(j)];
      assert.deepEqual(decodeAll(parts), [7, 10, 11, 12], `split at ${i},${j}`);
    }
  }
  const bytes = [...buf].map((b) => Buffer.from([b]));
  assert.deepEqual(decodeAll(bytes), [7, 10, 11, 12]);
});

test('maxBytes bounds a write but always takes one message', () => {
  const one = 4 + encodeMessage(msgs[0]).length;
  const r1 = encodeFrames(msgs, 0, one);
  assert.equal(r1.count, 1);
  const r2 = encodeFrames(msgs, 2, 10); // message 2 alone exceeds 10 bytes
  assert.equal(r2.count, 1);
  assert.deepEqual(decodeAll([r2.buf]), [11]);
  const r3 = encodeFrames(msgs, 1, Infinity);
  assert.equal(r3.count, 3);
});

test('a frame longer than the limit is refused', () => {
  const { buf } = encodeFrames([app(1n, 2n, 1, 'y'.repeat(100))], 0, Infinity);
  const d = new FrameDecoder(50);
  assert.throws(() => d.push(buf, () => {}), FrameTooLargeError);
  const d2 = new FrameDecoder(50);
  d2.push(buf.subarray(0, 2), () => assert.fail('no frame yet'));
  assert.throws(() => d2.push(buf.subarray(2), () => {}), FrameTooLargeError);
});
