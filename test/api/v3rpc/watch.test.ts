// Watch backpressure end to end (real EtcdServer + ApiServer, raw HTTP/2 client): a client that
// stops reading gets only a bounded amount of responses written for it while writes go on (the
// rest waits in the store, its watcher parked), and once it reads again every event arrives
// exactly once and in revision order.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { ApiServer } from '../../../src/api/apiServer.js';
import type { GrpcServerMetrics } from '../../../src/api/grpc/server.js';
import { codecOf } from '../../../src/api/proto/schema.js';
import type { WatchRequest, WatchResponse } from '../../../src/api/types.js';
import type { GrpcMethodMetrics } from '../../../src/server/metrics.js';
import type { EtcdServer } from '../../../src/server/server.js';
import { startServer, tempDir } from '../../server/helpers.js';
import { sleep } from '../../support/cluster.js';

const watchReq = codecOf<WatchRequest>('etcdserverpb.WatchRequest');
const watchRes = codecOf<WatchResponse>('etcdserverpb.WatchResponse');

const PUTS = 2000;
const VALUE = Buffer.alloc(2048, 0x61);

let dir: string;
let server: EtcdServer;
let api: ApiServer;
let watchSent = 0;
const bytes = { received: 0, sent: 0 };

function counters(onSent: () => void): GrpcMethodMetrics {
  const noop = () => {};
  return { started: noop, handled: noop, msgReceived: noop, msgSent: onSent, handlingSeconds: noop };
}

before(async () => {
  dir = tempDir('tsetcd-watch-bp-');
  server = await startServer(dir);
  const metrics: GrpcServerMetrics = {
    method: (_t, service, method) => counters(service === 'etcdserverpb.Watch' && method === 'Watch' ? () => watchSent++ : () => {}),
    bytes,
  };
  api = new ApiServer(server, { port: 0, stopGraceMs: 200, grpcMetrics: metrics });
  await api.start();
});

after(async () => {
  await api.stop();
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a watcher that stops reading is held back in the store, then gets every event once, in order', async () => {
  const client = http2.connect(`http://127.0.0.1:${api.port}`);
  client.on('error', () => {});
  try {
    const req = client.request({ ':method': 'POST', ':path': '/etcdserverpb.Watch/Watch', 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => {});
    const got: WatchResponse[] = [];
    let buf = Buffer.alloc(0);
    req.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        const len = buf.readUInt32BE(1);
        got.push(watchRes.decode(Buffer.from(buf.subarray(5, 5 + len))));
        buf = buf.subarray(5 + len);
      }
    });
    req.write(
      watchReq.encodeFrame({
        createRequest: { key: Buffer.from('bp/'), rangeEnd: Buffer.from('bp0'), startRevision: 0, progressNotify: false, filters: [], prevKv: false, watchId: 0, fragment: false },
      }),
    );
    for (let i = 0; i < 200 && got.length === 0; i++) await sleep(10);
    assert.equal(got.length, 1);
    assert.equal(got[0].created, true);
    const startRev = got[0].header?.revision ?? 0;

    // The client stops reading: HTTP/2 flow control stalls the stream once its window is full.
    req.pause();
    const sentBefore = bytes.sent;
    for (let i = 0; i < PUTS; i += 50) {
      const batch: Promise<unknown>[] = [];
      for (let j = i; j < i + 50 && j < PUTS; j++) {
        const key = Buffer.from(`bp/${String(j).padStart(5, '0')}`);
        batch.push(server.put({ key, value: VALUE, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false }));
      }
      await Promise.all(batch);
    }
    await sleep(300);
    // ~4.3 MB of events were produced; only the client's flow-control window plus the stream's
    // write budget (256 KiB) may have been written for it.
    const held = bytes.sent - sentBefore;
    assert.ok(held < 1 << 20, `server wrote ${held} bytes for a client that does not read`);
    const sentWhilePaused = watchSent;

    req.resume();
    const seen: number[] = [];
    const deadline = Date.now() + 8000;
    while (seen.length < PUTS && Date.now() < deadline) {
      while (got.length > 1) {
        const r = got.splice(1, 1)[0];
        assert.equal(r.canceled, false);
        for (const ev of r.events) seen.push(ev.kv.modRevision);
      }
      await sleep(10);
    }
    assert.equal(seen.length, PUTS, 'every event delivered exactly once');
    for (let i = 0; i < PUTS; i++) assert.equal(seen[i], startRev + 1 + i, 'events in revision order');
    assert.ok(watchSent > sentWhilePaused, 'the rest was sent after the client read again');
  } finally {
    client.destroy();
  }
});
