// gRPC message framing: messages split across chunks, several per chunk, size limit, compression.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Code, GrpcError } from '../../src/api/errors.js';
import { Deframer } from '../../src/api/grpc/deframer.js';
import { encodeGrpcMessage } from '../../src/api/grpc/server.js';
import { frame } from './helpers.js';

test('messages are reassembled whatever the chunking', () => {
  const msgs = [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(70000, 7), Buffer.from('x')];
  const wire = Buffer.concat(msgs.map(frame));
  for (const step of [1, 2, 3, 5, 7, 4096, wire.length]) {
    const got: Buffer[] = [];
    const d = new Deframer(1 << 20, (m) => got.push(Buffer.from(m)));
    for (let i = 0; i < wire.length; i += step) d.push(wire.subarray(i, i + step));
    assert.deepEqual(got, msgs, `chunk size ${step}`);
    assert.equal(d.idle, true);
  }
});

test('oversized and compressed messages are refused with gRPC errors', () => {
  const d = new Deframer(10, () => assert.fail('no message expected'));
  assert.throws(
    () => d.push(frame(Buffer.alloc(11))),
    (e: unknown) => e instanceof GrpcError && e.code === Code.RESOURCE_EXHAUSTED && /larger than max \(11 vs\. 10\)/.test(e.message),
  );
  const c = new Deframer(10, () => assert.fail('no message expected'));
  const f = frame(Buffer.from('a'));
  f[0] = 1;
  assert.throws(() => c.push(f), (e: unknown) => e instanceof GrpcError && e.code === Code.UNIMPLEMENTED);
});

test('grpc-message is percent-encoded outside printable ASCII', () => {
  assert.equal(encodeGrpcMessage('etcdserver: no leader'), 'etcdserver: no leader');
  assert.equal(encodeGrpcMessage('100% é\n'), '100%25 %C3%A9%0A');
});
