// The gRPC server on the wire, with a raw HTTP/2 client: status trailers, unknown methods,
// metadata, and the Watch and LeaseKeepAlive streams (created/canceled responses, held-back
// events, fragmentation, progress notifications, cancellation, server stop).

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import type { ApiServer } from '../../src/api/apiServer.js';
import { codecOf } from '../../src/api/proto/schema.js';
import type { PutRequest, RangeResponse, WatchRequest, WatchResponse } from '../../src/api/types.js';
import type { FakeServer } from './fakeServer.js';
import { frame as frameMsg, rawGrpc, startApi } from './helpers.js';

const putReq = codecOf<PutRequest>('etcdserverpb.PutRequest');
const rangeRes = codecOf<RangeResponse>('etcdserverpb.RangeResponse');
const watchReq = codecOf<WatchRequest>('etcdserverpb.WatchRequest');
const watchRes = codecOf<WatchResponse>('etcdserverpb.WatchResponse');
const kaReq = codecOf<{ ID: bigint }>('etcdserverpb.LeaseKeepAliveRequest');
const kaRes = codecOf<{ ID: bigint; TTL: number }>('etcdserverpb.LeaseKeepAliveResponse');

let api: ApiServer;
let fake: FakeServer;
let port: number;

before(async () => {
  ({ api, fake, port } = await startApi({ maxRequestBytes: 100 * 1024, watchProgressNotifyIntervalMs: 100 }));
});
after(() => api.stop());

const B = (s: string) => Buffer.from(s);
const E = Buffer.alloc(0);

function put(key: string, value: string | Buffer): PutRequest {
  return { key: B(key), value: typeof value === 'string' ? B(value) : value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false };
}

function create(key: string, more: Partial<NonNullable<WatchRequest['createRequest']>> = {}): WatchRequest {
  return {
    createRequest: { key: B(key), rangeEnd: E, startRevision: 0, progressNotify: false, filters: [], prevKv: false, watchId: 0, fragment: false, ...more },
  };
}

/** A bidi stream with a queue of decoded responses. */
class RawStream<Req, Res> {
  readonly client: http2.ClientHttp2Session;
  readonly req: http2.ClientHttp2Stream;
  private readonly got: Res[] = [];
  private waiters: (() => void)[] = [];
  private buf = E;
  trailers: http2.IncomingHttpHeaders | undefined;
  ended = false;

  constructor(
    path: string,
    private readonly enc: { encodeFrame(m: Req): Buffer },
    dec: { decode(b: Buffer): Res },
    toPort = port,
  ) {
    this.client = http2.connect(`http://127.0.0.1:${toPort}`);
    this.client.on('error', () => {});
    this.req = this.client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    this.req.on('error', () => {});
    this.req.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      while (this.buf.length >= 5 && this.buf.length >= 5 + this.buf.readUInt32BE(1)) {
        const len = this.buf.readUInt32BE(1);
        this.got.push(dec.decode(Buffer.from(this.buf.subarray(5, 5 + len))));
        this.buf = this.buf.subarray(5 + len);
      }
      this.wake();
    });
    this.req.on('trailers', (t) => (this.trailers = t));
    this.req.on('response', (h) => {
      if (h['grpc-status'] !== undefined) this.trailers = h;
    });
    this.req.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(m: Req): void {
    this.req.write(this.enc.encodeFrame(m));
  }

  async next(timeoutMs = 3000): Promise<Res> {
    const deadline = Date.now() + timeoutMs;
    while (this.got.length === 0) {
      if (this.ended) throw new Error('stream ended');
      if (Date.now() > deadline) throw new Error('timed out waiting for a response');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.got.shift() as Res;
  }

  async closed(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(this.ended, 'stream closed');
  }

  close(): void {
    this.client.destroy();
  }
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

test('unary call: content type, message, OK trailers, token metadata', async () => {
  const r = await rawGrpc(port, '/etcdserverpb.KV/Put', putReq.encodeFrame(put('u', 'v')), { token: 'tok123' });
  assert.equal(r.headers[':status'], 200);
  assert.equal(r.headers['content-type'], 'application/grpc');
  assert.equal(r.trailers['grpc-status'], '0');
  assert.equal(r.messages.length, 1);
  assert.equal(fake.lastToken, 'tok123');
  const range = await rawGrpc(port, '/etcdserverpb.KV/Range', codecOf('etcdserverpb.RangeRequest').encodeFrame({ key: B('u') }));
  const res = rangeRes.decode(range.messages[0]);
  assert.equal(res.kvs[0].value.toString(), 'v');
  assert.equal(res.header?.revision, fake.rev);
});

test('unknown services and methods answer Unimplemented; errors are trailers-only', async () => {
  const svc = await rawGrpc(port, '/etcdserverpb.Nope/X', Buffer.alloc(5));
  assert.equal(svc.headers['grpc-status'], '12');
  assert.equal(svc.headers['grpc-message'], 'unknown service etcdserverpb.Nope');
  const m = await rawGrpc(port, '/etcdserverpb.KV/Nope', Buffer.alloc(5));
  assert.equal(m.headers['grpc-message'], 'unknown method Nope for service etcdserverpb.KV');
  fake.failWith = new Error('100% broken: é');
  try {
    const r = await rawGrpc(port, '/etcdserverpb.KV/Put', putReq.encodeFrame(put('u', 'v')));
    assert.equal(r.headers['grpc-status'], '2');
    assert.equal(r.headers['grpc-message'], '100%25 broken: %C3%A9');
    assert.equal(r.messages.length, 0);
  } finally {
    fake.failWith = undefined;
  }
});

test('watch: created response first, then the events it replays; cancel; duplicate ids', async () => {
  const s = new RawStream('/etcdserverpb.Watch/Watch', watchReq, watchRes);
  try {
    await rawGrpc(port, '/etcdserverpb.KV/Put', putReq.encodeFrame(put('h', '1')));
    const rev = fake.rev;
    s.send(create('h', { startRevision: rev, watchId: 7 }));
    const created = await s.next();
    assert.equal(created.created, true);
    assert.equal(created.watchId, 7);
    assert.equal(created.canceled, false);
    const replay = await s.next();
    assert.equal(replay.watchId, 7);
    assert.equal(replay.events[0].kv.value.toString(), '1');
    assert.equal(replay.header?.revision, rev);

    s.send(create('other', { watchId: 7 }));
    const dup = await s.next();
    assert.equal(dup.created && dup.canceled, true);
    assert.equal(dup.watchId, -1);
    assert.equal(dup.cancelReason, 'mvcc: duplicate watch ID provided on the WatchStream');

    s.send(create('neg', { startRevision: -1 }));
    const neg = await s.next();
    assert.equal(neg.canceled, true);
    assert.equal(neg.cancelReason, 'etcdserver: mvcc: required revision has been compacted');

    s.send({ progressRequest: {} });
    const prog = await s.next();
    assert.equal(prog.watchId, -1);
    assert.equal(prog.header?.revision, fake.rev);

    s.send({ cancelRequest: { watchId: 7 } });
    const canceled = await s.next();
    assert.equal(canceled.canceled, true);
    assert.equal(canceled.watchId, 7);
    await rawGrpc(port, '/etcdserverpb.KV/Put', putReq.encodeFrame(put('h', '2')));
    s.send({ progressRequest: {} });
    assert.equal((await s.next()).events.length, 0, 'no events after cancel, only the progress response');
  } finally {
    s.close();
  }
  await waitFor(() => fake.streams.size === 0, 'client reset closes the server watch stream');
});

test('watch: large responses are fragmented for watchers that ask for it', async () => {
  const s = new RawStream('/etcdserverpb.Watch/Watch', watchReq, watchRes);
  try {
    const start = fake.rev + 1;
    for (let i = 0; i < 8; i++) {
      await rawGrpc(port, '/etcdserverpb.KV/Put', putReq.encodeFrame(put(`f/${i}`, Buffer.alloc(90 * 1024, i))));
    }
    s.send(create('f/', { rangeEnd: B('f0'), startRevision: start, fragment: true }));
    assert.equal((await s.next()).created, true);
    const parts: WatchResponse[] = [];
    do parts.push(await s.next());
    while (parts[parts.length - 1].fragment);
    assert.ok(parts.length >= 2, `fragmented into ${parts.length} responses`);
    assert.equal(parts.flatMap((p) => p.events).length, 8);
    for (const p of parts) assert.ok(watchRes.size(p) < 100 * 1024 + 512 * 1024 + 100 * 1024);
  } finally {
    s.close();
  }
});

test('watch: progress notifications for idle progress_notify watchers', async () => {
  const s = new RawStream('/etcdserverpb.Watch/Watch', watchReq, watchRes);
  try {
    s.send(create('idle', { progressNotify: true }));
    const created = await s.next();
    const p = await s.next(2000);
    assert.equal(p.watchId, created.watchId);
    assert.equal(p.events.length, 0);
    assert.equal(p.header?.revision, fake.rev);
  } finally {
    s.close();
  }
});

test('lease keep-alive stream: in-order answers, TTL 0 for unknown leases, ends after half-close', async () => {
  const grant = await rawGrpc(port, '/etcdserverpb.Lease/LeaseGrant', codecOf('etcdserverpb.LeaseGrantRequest').encodeFrame({ TTL: 42 }));
  const id = codecOf<{ ID: bigint }>('etcdserverpb.LeaseGrantResponse').decode(grant.messages[0]).ID;
  const t = new RawStream('/etcdserverpb.Lease/LeaseKeepAlive', kaReq, kaRes);
  try {
    t.send({ ID: id });
    t.send({ ID: 999n });
    t.send({ ID: id });
    t.req.end();
    const got = [await t.next(), await t.next(), await t.next()].map((r) => [r.ID, r.TTL]);
    assert.deepEqual(got, [[id, 42], [999n, 0], [id, 42]]);
    await t.closed();
    assert.equal(t.trailers?.['grpc-status'], '0');
  } finally {
    t.close();
  }
});

test('stop ends open streams with Unavailable and closes server watch streams', async () => {
  const other = await startApi();
  const s = new RawStream('/etcdserverpb.Watch/Watch', watchReq, watchRes, other.port);
  try {
    s.send(create('k'));
    assert.equal((await s.next()).created, true);
    assert.equal(other.fake.streams.size, 1);
    const t0 = Date.now();
    await other.api.stop();
    assert.ok(Date.now() - t0 < 1000, 'stop is prompt');
    await s.closed();
    assert.equal(s.trailers?.['grpc-status'], '14');
    assert.equal(other.fake.streams.size, 0);
  } finally {
    s.close();
  }
});

test('a response the codec cannot encode becomes an Internal error, not a crash', async () => {
  const original = fake.range.bind(fake);
  const broken = { key: B('u'), value: E, createRevision: 1, modRevision: 1, version: 1, lease: 1.5 as unknown as bigint };
  fake.range = async (r, ctx) => ({ ...(await original(r, ctx)), kvs: [broken] });
  try {
    const r = await rawGrpc(port, '/etcdserverpb.KV/Range', codecOf('etcdserverpb.RangeRequest').encodeFrame({ key: B('u') }));
    assert.equal(r.headers['grpc-status'], '13');
    assert.match(String(r.headers['grpc-message']), /^grpc: error marshalling response/);
  } finally {
    fake.range = original;
  }
});

/** Sends a unary Put as the given body chunks (20 ms apart) and returns `<grpc-status> <grpc-message>`. */
function sendChunks(parts: Buffer[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = http2.connect(`http://127.0.0.1:${port}`);
    c.on('error', reject);
    const r = c.request({ ':method': 'POST', ':path': '/etcdserverpb.KV/Put', 'content-type': 'application/grpc', te: 'trailers' });
    let h: http2.IncomingHttpHeaders = {};
    let t: http2.IncomingHttpHeaders = {};
    r.on('response', (x) => (h = x));
    r.on('trailers', (x) => (t = x));
    r.on('data', () => {});
    r.on('end', () => {
      c.close();
      resolve(`${h['grpc-status'] ?? t['grpc-status']} ${decodeURIComponent(String(h['grpc-message'] ?? t['grpc-message'] ?? ''))}`.trim());
    });
    r.on('error', (e: NodeJS.ErrnoException) => {
      c.close();
      resolve(`error ${e.code}`);
    });
    let i = 0;
    const next = (): void => {
      if (i === parts.length) {
        r.end();
        return;
      }
      r.write(parts[i++]);
      setTimeout(next, 20);
    };
    next();
  });
}

test('unary framing: split messages are joined; zero, two, compressed or oversize messages are refused', async () => {
  const f = frameMsg(putReq.encode(put('k', 'v'.repeat(100))));
  assert.equal(await sendChunks([f]), '0');
  assert.equal(await sendChunks([f.subarray(0, 3), f.subarray(3, 40), f.subarray(40)]), '0');
  assert.equal(await sendChunks([Buffer.concat([f, f])]), '13 grpc: unary call received 2 messages');
  assert.equal(await sendChunks([f, f]), '13 grpc: unary call received 2 messages');
  assert.equal(await sendChunks([]), '13 grpc: unary call received 0 messages');
  assert.equal(await sendChunks([f.subarray(0, 20)]), '13 grpc: unary call received 0 messages');
  const compressed = Buffer.from(f);
  compressed[0] = 1;
  assert.equal(await sendChunks([compressed]), '12 grpc: compressed messages are not supported');
  const big = frameMsg(Buffer.alloc(700 * 1024));
  assert.match(await sendChunks([big.subarray(0, 100)]), /^8 grpc: received message larger than max \(716800 vs\. \d+\)$/);
});
