// The etcd3 npm client (grpc-js) against the API layer over the in-memory fake server.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import type { ApiServer } from '../../src/api/apiServer.js';
import type { FakeServer } from './fakeServer.js';
import { startApi } from './helpers.js';

// etcd3 is CommonJS; loading it through require keeps its (large) typings out of the build.
const require = createRequire(import.meta.url);
const { Etcd3 } = require('etcd3') as { Etcd3: new (o: object) => any };

let api: ApiServer;
let fake: FakeServer;
let client: any;

before(async () => {
  let port: number;
  ({ api, fake, port } = await startApi());
  client = new Etcd3({ hosts: `http://127.0.0.1:${port}` });
});
after(async () => {
  client.close();
  await api.stop();
});

test('put, get, getAll and delete', async () => {
  await client.put('a/1').value('one');
  await client.put('a/2').value('two');
  assert.equal(await client.get('a/1').string(), 'one');
  assert.deepEqual(await client.getAll().prefix('a/').strings(), { 'a/1': 'one', 'a/2': 'two' });
  assert.equal(await client.getAll().prefix('a/').count(), 2);
  const res = await client.delete().prefix('a/').exec();
  assert.equal(res.deleted, '2');
  assert.equal(await client.get('a/1').string(), null);
});

test('txn: if/then/else', async () => {
  await client.put('t').value('v1');
  const ok = await client.if('t', 'Value', '==', 'v1').then(client.put('t').value('v2')).else(client.get('t')).commit();
  assert.equal(ok.succeeded, true);
  const no = await client.if('t', 'Value', '==', 'v1').then(client.put('t').value('v3')).else(client.get('t')).commit();
  assert.equal(no.succeeded, false);
  assert.equal(Buffer.from(no.responses[0].response_range.kvs[0].value).toString(), 'v2');
});

test('watch delivers puts and deletes with previous values, and cancels', async () => {
  const w = await client.watch().prefix('w/').withPreviousKV().create();
  const events: string[] = [];
  const done = new Promise<void>((resolve) => {
    w.on('put', (kv: { key: Buffer; value: Buffer }, prev?: { value: Buffer }) => {
      events.push(`put ${kv.key} ${kv.value} prev=${prev?.value ?? '-'}`);
    });
    w.on('delete', (kv: { key: Buffer }, prev?: { value: Buffer }) => {
      events.push(`delete ${kv.key} prev=${prev?.value ?? '-'}`);
      resolve();
    });
  });
  await client.put('w/x').value('1');
  await client.put('w/x').value('2');
  await client.delete().key('w/x');
  await done;
  assert.deepEqual(events, ['put w/x 1 prev=-', 'put w/x 2 prev=1', 'delete w/x prev=2']);
  await w.cancel();
});

test('lease grant, keep-alive, attached keys and revoke', async () => {
  const lease = client.lease(30, { autoKeepAlive: false });
  const id = await lease.grant();
  assert.ok(BigInt(id) > 0n);
  await lease.put('lk').value('x');
  const ka = await lease.keepaliveOnce();
  assert.equal(ka.TTL, '30');
  assert.equal(await client.get('lk').string(), 'x');
  await lease.revoke();
  assert.equal(await client.get('lk').string(), null);
  assert.equal(fake.leases.size, 0);
});

test('errors carry etcd messages', async () => {
  await assert.rejects(client.get('x').revision(fake.rev + 100).string(), /etcdserver: mvcc: required revision is a future revision/);
  await assert.rejects(client.put('k').value('v').lease('123456'), /etcdserver: requested lease not found/);
});
