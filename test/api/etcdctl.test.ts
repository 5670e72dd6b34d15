// The real etcdctl 3.4 against the API layer (over the in-memory fake server): KV, txn, watch,
// leases, endpoint status/health, error mapping, and the HTTP/1.1 endpoints on the same port.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { ApiServer } from '../../src/api/apiServer.js';
import { CLUSTER_ID, MEMBER_ID, type FakeServer } from './fakeServer.js';
import { ETCDCTL, etcdctl, httpGet, startApi } from './helpers.js';

/** A JSON integer field as bigint, read from the text (JSON.parse would round 64-bit values). */
function jsonInt(text: string, field: string): bigint {
  const m = new RegExp(`"${field}":(-?\\d+)`).exec(text);
  assert.ok(m, `${field} in ${text}`);
  return BigInt(m[1]);
}

let api: ApiServer;
let fake: FakeServer;
let port: number;

before(async () => {
  ({ api, fake, port } = await startApi({
    maxRequestBytes: 64 * 1024,
    metrics: { contentType: 'text/plain; version=0.0.4', metrics: async () => 'etcd_server_has_leader 1\n' },
  }));
});
after(() => api.stop());

test('put, get and del round-trip', async () => {
  assert.equal((await etcdctl(port, ['put', 'foo', 'bar'])).stdout, 'OK\n');
  assert.equal((await etcdctl(port, ['get', 'foo'])).stdout, 'foo\nbar\n');
  const text = (await etcdctl(port, ['get', 'foo', '-w', 'json'])).stdout;
  const j = JSON.parse(text);
  assert.equal(jsonInt(text, 'cluster_id'), CLUSTER_ID);
  assert.equal(jsonInt(text, 'member_id'), MEMBER_ID);
  assert.equal(j.header.revision, fake.rev);
  assert.equal(j.header.raft_term, 2);
  assert.equal(Buffer.from(j.kvs[0].value, 'base64').toString(), 'bar');
  await etcdctl(port, ['put', 'foo2', 'baz']);
  assert.equal((await etcdctl(port, ['get', 'foo', '--prefix', '--keys-only'])).stdout, 'foo\n\nfoo2\n\n');
  assert.equal((await etcdctl(port, ['del', 'foo', '--prefix'])).stdout, '2\n');
  assert.equal((await etcdctl(port, ['get', 'foo'])).stdout, '');
});

test('txn takes the branch the comparison selects', async () => {
  await etcdctl(port, ['put', 't', 'one']);
  const input = 'value("t") = "one"\n\nput t two\nget t\n\nget t\n\n';
  const r = await etcdctl(port, ['txn', '--interactive=false'], input);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'SUCCESS\n\nOK\n\nt\ntwo\n');
  const again = await etcdctl(port, ['txn', '--interactive=false'], input);
  assert.equal(again.stdout, 'FAILURE\n\nt\ntwo\n');
});

test('watch streams events with prev_kv', async () => {
  const child = spawn(ETCDCTL, [`--endpoints=127.0.0.1:${port}`, 'watch', 'w', '--prefix', '--prev-kv'], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  try {
    const deadline = Date.now() + 5000;
    while (fake.streams.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(fake.streams.size, 1, 'etcdctl opened a watch stream');
    await etcdctl(port, ['put', 'w1', 'a']);
    await etcdctl(port, ['put', 'w1', 'b']);
    await etcdctl(port, ['del', 'w1']);
    const want = 'PUT\nw1\na\nPUT\nw1\na\nw1\nb\nDELETE\nw1\nb\nw1\n\n';
    while (out.length < want.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(out, want);
  } finally {
    child.kill();
  }
  const deadline = Date.now() + 5000;
  while (fake.streams.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(fake.streams.size, 0, 'the server watch stream is closed when the client goes away');
});

test('watch from a compacted revision is canceled with etcd reason', async () => {
  await etcdctl(port, ['put', 'c', '1']);
  await etcdctl(port, ['put', 'c', '2']);
  assert.equal((await etcdctl(port, ['compact', String(fake.rev)])).stdout, `compacted revision ${fake.rev}\n`);
  const r = await etcdctl(port, ['watch', 'c', '--rev=1']);
  assert.match(r.stdout + r.stderr, /watch was canceled \(etcdserver: mvcc: required revision has been compacted\)/);
});

test('lease grant, attach, time-to-live, keep-alive and revoke', async () => {
  const g = await etcdctl(port, ['lease', 'grant', '60']);
  const m = /^lease ([0-9a-f]+) granted with TTL\(60s\)$/m.exec(g.stdout);
  assert.ok(m, g.stdout + g.stderr);
  const id = m[1];
  assert.equal(BigInt(`0x${id}`) > 2n ** 53n, true, 'lease IDs keep all 64 bits');
  assert.equal((await etcdctl(port, ['put', '--lease', id, 'lk', 'v'])).stdout, 'OK\n');
  assert.match((await etcdctl(port, ['lease', 'timetolive', id, '--keys'])).stdout, /granted with TTL\(60s\), remaining\(\d+s\), attached keys\(\[lk\]\)/);
  assert.equal((await etcdctl(port, ['lease', 'keep-alive', '--once', id])).stdout, `lease ${id} keepalived with TTL(60)\n`);
  assert.match((await etcdctl(port, ['lease', 'list'])).stdout, new RegExp(id));
  assert.equal((await etcdctl(port, ['lease', 'revoke', id])).stdout, `lease ${id} revoked\n`);
  assert.equal((await etcdctl(port, ['get', 'lk'])).stdout, '');
  assert.equal((await etcdctl(port, ['lease', 'timetolive', id])).stdout, `lease ${id} already expired\n`);
  const r = await etcdctl(port, ['lease', 'revoke', id]);
  assert.match(r.stderr, /etcdserver: requested lease not found/);
  assert.notEqual(r.code, 0);
});

test('endpoint status and health', async () => {
  const text = (await etcdctl(port, ['endpoint', 'status', '-w', 'json'])).stdout;
  const s = JSON.parse(text);
  assert.equal(s[0].Status.version, '3.5.17');
  assert.equal(jsonInt(text, 'leader'), MEMBER_ID);
  assert.equal(jsonInt(text, 'member_id'), MEMBER_ID);
  assert.equal(s[0].Status.raftTerm, 2);
  const h = await etcdctl(port, ['endpoint', 'health']);
  assert.match(h.stdout + h.stderr, /127\.0\.0\.1:\d+ is healthy: successfully committed proposal/);
});

test('errors reach etcdctl with etcd codes and texts', async () => {
  const big = await etcdctl(port, ['put', 'big'], Buffer.alloc(70 * 1024, 'x'));
  assert.match(big.stderr, /Error: etcdserver: request is too large/);
  const future = await etcdctl(port, ['get', 'foo', '--rev=100000']);
  assert.match(future.stderr, /code = OutOfRange desc = etcdserver: mvcc: required revision is a future revision/);
  const empty = await etcdctl(port, ['get', '']);
  assert.match(empty.stderr, /code = InvalidArgument desc = etcdserver: key is not provided/);
  fake.failWith = new Error('etcdserver: no leader');
  try {
    const nl = await etcdctl(port, ['get', 'x', '--command-timeout=1s']);
    assert.match(nl.stderr, /etcdserver: no leader/);
  } finally {
    fake.failWith = undefined;
  }
  const unimpl = await etcdctl(port, ['member', 'list']);
  assert.match(unimpl.stderr, /code = Unimplemented/);
});

test('/health, /version and /metrics over HTTP/1.1 on the gRPC port', async () => {
  const h = await httpGet(port, '/health');
  assert.equal(h.status, 200);
  assert.equal(h.body, '{"health":"true","reason":""}');
  const v = await httpGet(port, '/version');
  assert.equal(v.body, '{"etcdserver":"3.5.17","etcdcluster":"3.5.0"}');
  assert.equal(v.headers['content-type'], 'application/json');
  const m = await httpGet(port, '/metrics');
  assert.equal(m.body, 'etcd_server_has_leader 1\n');
  assert.equal((await httpGet(port, '/health', 'POST')).status, 405);
  assert.equal((await httpGet(port, '/nope')).body, '404 page not found\n');
  fake.leader = 0n;
  try {
    const bad = await httpGet(port, '/health');
    assert.equal(bad.status, 503);
    assert.equal(bad.body, '{"health":"false","reason":"RAFT NO LEADER"}\n');
    const s = JSON.parse((await etcdctl(port, ['endpoint', 'status', '-w', 'json'])).stdout);
    assert.deepEqual(s[0].Status.errors, ['etcdserver: no leader']);
  } finally {
    fake.leader = MEMBER_ID;
  }
});

test('JSON gateway: put, range and errors', async () => {
  const put = await httpGet(port, '/v3/kv/put', 'POST', JSON.stringify({ key: 'Z3c=', value: 'djE=' }));
  assert.equal(put.status, 200);
  assert.equal(JSON.parse(put.body).header.revision, String(fake.rev));
  const got = JSON.parse((await httpGet(port, '/v3/kv/range', 'POST', '{"key":"Z3c="}')).body);
  assert.equal(got.count, '1');
  assert.equal(Buffer.from(got.kvs[0].value, 'base64').toString(), 'v1');
  assert.equal(got.kvs[0].create_revision, String(fake.rev));
  const bad = await httpGet(port, '/v3/kv/range', 'POST', '{}');
  assert.equal(bad.status, 400);
  assert.deepEqual(JSON.parse(bad.body), {
    error: 'etcdserver: key is not provided',
    code: 3,
    message: 'etcdserver: key is not provided',
  });
  assert.equal((await etcdctl(port, ['get', 'gw', '--print-value-only'])).stdout, 'v1\n');
});
