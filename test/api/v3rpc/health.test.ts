// The gRPC health service (grpc.health.v1.Health) over real gRPC (grpc-js) and on the wire:
// Check of "" is SERVING, of an unknown service NOT_FOUND "unknown service"; Watch sends the status
// at once (SERVICE_UNKNOWN for an unknown service) and then each change without repeats; shutdown
// and resume; watchers are dropped when the client goes away; the require-leader check applies.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { ApiServer } from '../../../src/api/apiServer.js';
import { Code } from '../../../src/api/errors.js';
import { ServingStatus } from '../../../src/api/v3rpc/health.js';
import { FakeServer, MEMBER_ID } from '../fakeServer.js';
import { frame, rawGrpc } from '../helpers.js';
import { failure, metadata, RecordingStream, serveWithClients, unary, type Clients } from './grpcClients.js';

let fake: FakeServer;
let api: ApiServer;
let c: Clients;

let stop: () => Promise<void>;

before(async () => {
  fake = new FakeServer();
  ({ api, c, stop } = await serveWithClients(fake));
});

after(() => stop());

beforeEach(() => {
  fake.leader = MEMBER_ID;
  api.health.resume();
});

const statuses = (s: RecordingStream) => s.responses.map((r) => r.status);

function watch(service: string): RecordingStream {
  return new RecordingStream(c.health.Watch({ service }, metadata(false)));
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

describe('Check', () => {
  test('the server as a whole ("") is SERVING', async () => {
    assert.deepEqual(await unary(c.health, 'Check', { service: '' }), { status: 'SERVING' });
  });

  test('an unknown service is NOT_FOUND "unknown service"', async () => {
    assert.deepEqual(await failure(unary(c.health, 'Check', { service: 'etcdserverpb.KV' })), {
      code: Code.NOT_FOUND,
      details: 'unknown service',
    });
  });

  test('on the wire: an empty request, the answer {status: SERVING} (field 1 = 1)', async () => {
    const r = await rawGrpc(api.port, '/grpc.health.v1.Health/Check', frame(Buffer.alloc(0)));
    assert.equal(r.trailers['grpc-status'], '0');
    assert.deepEqual(r.messages, [Buffer.from([0x08, 0x01])]);
  });

  test('statuses set by the server are reported; shutdown makes all NOT_SERVING until resume', async () => {
    api.health.setServingStatus('etcdserverpb.KV', ServingStatus.NOT_SERVING);
    assert.deepEqual(await unary(c.health, 'Check', { service: 'etcdserverpb.KV' }), { status: 'NOT_SERVING' });
    api.health.shutdown();
    assert.deepEqual(await unary(c.health, 'Check', { service: '' }), { status: 'NOT_SERVING' });
    api.health.setServingStatus('', ServingStatus.SERVING); // ignored while shut down
    assert.deepEqual(await unary(c.health, 'Check', { service: '' }), { status: 'NOT_SERVING' });
    api.health.resume();
    assert.deepEqual(await unary(c.health, 'Check', { service: '' }), { status: 'SERVING' });
    assert.deepEqual(await unary(c.health, 'Check', { service: 'etcdserverpb.KV' }), { status: 'SERVING' });
  });

  test('goes through the require-leader check like every etcd call', async () => {
    fake.leader = 0n;
    assert.deepEqual(await unary(c.health, 'Check', { service: '' }), { status: 'SERVING' });
    assert.deepEqual(await failure(unary(c.health, 'Check', { service: '' }, true)), {
      code: Code.UNAVAILABLE,
      details: 'etcdserver: no leader',
    });
  });
});

describe('Watch', () => {
  test('sends the status at once, then each change once', async () => {
    const w = watch('');
    await w.until((s) => s.responses.length === 1, 2000, 'the first status');
    assert.deepEqual(statuses(w), ['SERVING']);
    api.health.setServingStatus('', ServingStatus.SERVING); // no change: nothing sent
    api.health.setServingStatus('', ServingStatus.NOT_SERVING);
    api.health.setServingStatus('', ServingStatus.NOT_SERVING);
    api.health.setServingStatus('', ServingStatus.SERVING);
    await w.until((s) => s.responses.length >= 3, 2000, 'two changes');
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(statuses(w), ['SERVING', 'NOT_SERVING', 'SERVING']);
    assert.equal(w.ended, false);
    w.cancel();
    await waitFor(() => api.health.watcherCount('') === 0, 'the watcher is dropped when the client cancels');
  });

  test('an unknown service is SERVICE_UNKNOWN until the server sets it', async () => {
    const w = watch('v3lockpb.Lock');
    await w.until((s) => s.responses.length === 1, 2000, 'the first status');
    assert.deepEqual(statuses(w), ['SERVICE_UNKNOWN']);
    api.health.setServingStatus('v3lockpb.Lock', ServingStatus.SERVING);
    await w.until((s) => s.responses.length === 2, 2000, 'the change');
    assert.deepEqual(statuses(w), ['SERVICE_UNKNOWN', 'SERVING']);
    w.cancel();
  });

  test('shutdown reaches watchers as NOT_SERVING', async () => {
    const w = watch('');
    await w.until((s) => s.responses.length === 1, 2000, 'the first status');
    api.health.shutdown();
    await w.until((s) => s.responses.length === 2, 2000, 'NOT_SERVING');
    assert.deepEqual(statuses(w), ['SERVING', 'NOT_SERVING']);
    w.cancel();
  });
});
