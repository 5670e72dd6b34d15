// Tests for lease forwarding over the peer port: message encoding, the forwarding client and the handler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { ErrLeaseNotFound, ErrNotPrimary } from '../../src/lease/index.js';
import {
  LeaseClient,
  LeaseHttpError,
  decodeInternalRequest,
  decodeInternalResponse,
  decodeKeepAliveRequest,
  decodeKeepAliveResponse,
  encodeInternalRequest,
  encodeInternalResponse,
  encodeKeepAliveRequest,
  encodeKeepAliveResponse,
  serveLeaseHttp,
  type LeaseLocal,
} from '../../src/server/leaseHttp.js';

test('lease forwarding messages use etcd field numbers and round-trip', () => {
  const big = 0x7fff_ffff_ffff_fff1n;
  assert.deepEqual([...encodeKeepAliveRequest(5n)], [0x08, 0x05]);
  assert.equal(decodeKeepAliveRequest(encodeKeepAliveRequest(big)), big);
  assert.deepEqual(decodeKeepAliveResponse(encodeKeepAliveResponse(big, 60)), { id: big, ttl: 60 });
  assert.deepEqual([...encodeInternalRequest(5n, true)], [0x0a, 0x04, 0x08, 0x05, 0x10, 0x01]);
  assert.deepEqual(decodeInternalRequest(encodeInternalRequest(big, false)), { id: big, keys: false });
  const t = { ttl: 29, grantedTtl: 30, keys: [Buffer.from('a'), Buffer.from('key2')] };
  assert.deepEqual(decodeInternalResponse(encodeInternalResponse(big, t)), t);
  assert.deepEqual(decodeInternalResponse(encodeInternalResponse(1n, { ttl: 0, grantedTtl: 0, keys: [] })), { ttl: 0, grantedTtl: 0, keys: [] });
});

test('serveLeaseHttp answers forwarded renewals and lookups; LeaseClient maps refusals', async () => {
  let primary = true;
  const local: LeaseLocal = {
    async renewLocal(id) {
      if (!primary) throw ErrNotPrimary;
      if (id !== 7n) throw ErrLeaseNotFound;
      return 42;
    },
    async timeToLiveLocal(id, keys) {
      if (id !== 7n) throw ErrLeaseNotFound;
      return { ttl: 40, grantedTtl: 42, keys: keys ? [Buffer.from('k')] : [] };
    },
  };
  const server = http2.createServer();
  server.on('stream', (s, h) => {
    if (!serveLeaseHttp(local, s, h)) {
      s.respond({ ':status': 404 });
      s.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const c = new LeaseClient();
  try {
    assert.equal(await c.renew(url, 7n, 1000), 42);
    await assert.rejects(c.renew(url, 8n, 1000), (e) => e === ErrLeaseNotFound);
    assert.deepEqual(await c.timeToLive(url, 7n, true, 1000), { ttl: 40, grantedTtl: 42, keys: [Buffer.from('k')] });
    assert.deepEqual((await c.timeToLive(url, 7n, false, 1000)).keys, []);
    await assert.rejects(c.timeToLive(url, 9n, false, 1000), (e) => e === ErrLeaseNotFound);
    primary = false;
    await assert.rejects(c.renew(url, 7n, 1000), (e) => e instanceof LeaseHttpError && /not a primary lessor/.test(e.message));
    await assert.rejects(c.renew('http://127.0.0.1:1', 7n, 1000), (e) => e instanceof LeaseHttpError);
  } finally {
    c.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('lease forwarding messages keep their exact bytes', () => {
  assert.equal(encodeKeepAliveRequest(-3n).toString('hex'), '08fdffffffffffffffff01');
  assert.equal(encodeKeepAliveResponse(0x694d7f1a2b3c4d5en, 59).toString('hex'), '10de9af1d9a2e3dfa669183b');
  assert.equal(encodeInternalRequest(7n, true).toString('hex'), '0a0408071001');
  assert.equal(encodeInternalResponse(7n, { ttl: 5, grantedTtl: 60, keys: [Buffer.from('a'), Buffer.from('bc')] }).toString('hex'), '0a0f0a0010071805203c2a01612a026263');
});
