// The JSON gateway's streaming routes (/v3/watch, /v3/lease/keepalive), its body splitting and
// status mapping, and plain HTTP requests arriving over HTTP/2 (prior knowledge) on the same port.

import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import type { ApiServer } from '../../src/api/apiServer.js';
import { Code } from '../../src/api/errors.js';
import { gatewayMetadata, httpStatusOf, JsonObjectSplitter, splitJsonObjects } from '../../src/api/http/gateway.js';
import { type FakeServer, MEMBER_ID } from './fakeServer.js';
import { httpGet, startApi } from './helpers.js';

let api: ApiServer;
let fake: FakeServer;
let port: number;

before(async () => {
  ({ api, fake, port } = await startApi());
});
after(() => api.stop());

test('request bodies may hold several JSON objects', () => {
  assert.deepEqual(splitJsonObjects('{"a":1}\n{"b":"}{"} {"c":{"d":[]}}'), [{ a: 1 }, { b: '}{' }, { c: { d: [] } }]);
  assert.throws(() => splitJsonObjects('{"a":1'), /unexpected end/);
  assert.throws(() => splitJsonObjects('[1]'), /unexpected/);
});

test('gRPC codes map to grpc-gateway HTTP statuses', () => {
  assert.equal(httpStatusOf(Code.INVALID_ARGUMENT), 400);
  assert.equal(httpStatusOf(Code.NOT_FOUND), 404);
  assert.equal(httpStatusOf(Code.UNAVAILABLE), 503);
  assert.equal(httpStatusOf(Code.UNAUTHENTICATED), 401);
  assert.equal(httpStatusOf(Code.UNIMPLEMENTED), 501);
});

test('/v3/watch streams newline-delimited results', async () => {
  const w = openStream('/v3/watch');
  w.end({ create_request: { key: Buffer.from('gw').toString('base64') } });
  assert.equal(await w.status, 200);
  const deadline = Date.now() + 3000;
  while (fake.streams.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await httpGet(port, '/v3/kv/put', 'POST', JSON.stringify({ key: 'Z3c=', value: 'eA==' }));
  assert.equal((await w.line(0)).result.created, true);
  const ev = (await w.line(1)).result.events[0];
  assert.equal(ev.type, undefined, 'PUT is the default and omitted');
  assert.equal(Buffer.from(ev.kv.key, 'base64').toString(), 'gw');
  w.close();
  while (fake.streams.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(fake.streams.size, 0, 'closing the HTTP request closes the watch');
});

test('/v3/lease/keepalive answers each request and ends', async () => {
  const g = JSON.parse((await httpGet(port, '/v3/lease/grant', 'POST', '{"TTL":"20"}')).body);
  const r = await httpGet(port, '/v3/lease/keepalive', 'POST', `{"ID":"${g.ID}"}{"ID":"77"}`);
  const lines = r.body.trim().split('\n').map((l) => JSON.parse(l).result);
  assert.deepEqual(lines.map((l) => [l.ID, l.TTL]), [[g.ID, '20'], ['77', undefined]]);
});

test('plain HTTP over HTTP/2 prior knowledge reaches the same endpoints', async () => {
  const c = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const body = await new Promise<string>((resolve, reject) => {
      const req = c.request({ ':path': '/health' });
      let b = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (b += d));
      req.on('end', () => resolve(b));
      req.on('error', reject);
    });
    assert.equal(body, '{"health":"true","reason":""}');
  } finally {
    c.close();
  }
});

test('only Authorization and Grpc-Metadata-* headers become gRPC metadata, as grpc-gateway passes them', async () => {
  assert.deepEqual(
    gatewayMetadata({ authorization: 'tok', 'grpc-metadata-hasleader': 'true', 'grpc-metadata-token': 't2', hasleader: 'true', token: 'raw', 'user-agent': 'x' }),
    { authorization: 'tok', hasleader: 'true', token: 't2' },
  );
  // Without a leader: a raw hasleader header is not metadata; Grpc-Metadata-Hasleader is.
  fake.leader = 0n;
  try {
    const body = JSON.stringify({ key: Buffer.from('k').toString('base64') });
    const post = (headers: http.OutgoingHttpHeaders) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/v3/kv/range', method: 'POST', agent: false, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    assert.equal(await post({ hasleader: 'true' }), 200);
    assert.equal(await post({ 'Grpc-Metadata-Hasleader': 'true' }), 503);
  } finally {
    fake.leader = MEMBER_ID;
  }
});

test('request bodies are split into objects as they arrive, whatever the chunking', () => {
  const text = '{"a":"x\\"}{"} {"b":{"c":[1,2]}}\n{"d":"\u00e9"}';
  const want = splitJsonObjects(text);
  assert.deepEqual(want, [{ a: 'x"}{' }, { b: { c: [1, 2] } }, { d: 'é' }]);
  for (let size = 1; size <= 7; size++) {
    const sp = new JsonObjectSplitter();
    const got: unknown[] = [];
    for (let i = 0; i < text.length; i += size) got.push(...sp.push(text.slice(i, i + size)));
    sp.end();
    assert.deepEqual(got, want, `pieces of ${size}`);
  }
  const small = new JsonObjectSplitter(10);
  assert.deepEqual(small.push('{"a":1}'), [{ a: 1 }]);
  assert.throws(() => small.push('{"long":"0123456789"'), /larger than 10 bytes/);
});

/** A streaming gateway call: send() requests while the body stays open, end() it, read result lines. */
function openStream(path: string) {
  const lines: string[] = [];
  let wake: (() => void) | null = null;
  const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false });
  const status = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      resolve(res.statusCode ?? 0);
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          lines.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
        wake?.();
      });
    });
    req.on('error', reject);
  });
  return {
    status,
    send: (o: unknown) => req.write(JSON.stringify(o)),
    /** Sends a last request and ends the body. */
    end: (o: unknown) => req.end(JSON.stringify(o)),
    async line(n: number): Promise<any> {
      const deadline = Date.now() + 3000;
      while (lines.length <= n && Date.now() < deadline) await new Promise<void>((r) => ((wake = r), setTimeout(r, 50)));
      assert.ok(lines.length > n, `line ${n} never came (got ${JSON.stringify(lines)})`);
      return JSON.parse(lines[n]!);
    },
    close: () => req.destroy(),
  };
}

test('/v3/watch with the request body kept open: a second watch created later on the same stream', async () => {
  const w = openStream('/v3/watch');
  try {
    w.send({ create_request: { key: Buffer.from('gw1').toString('base64') } });
    assert.equal(await w.status, 200);
    assert.equal((await w.line(0)).result.created, true);
    await httpGet(port, '/v3/kv/put', 'POST', JSON.stringify({ key: Buffer.from('gw1').toString('base64'), value: 'eA==' }));
    assert.equal(Buffer.from((await w.line(1)).result.events[0].kv.key, 'base64').toString(), 'gw1');
    // Still open: another request on the same body.
    w.send({ create_request: { key: Buffer.from('gw2').toString('base64') } });
    const created2 = (await w.line(2)).result;
    assert.equal(created2.created, true);
    assert.notEqual(created2.watch_id, (await w.line(0)).result.watch_id);
    await httpGet(port, '/v3/kv/put', 'POST', JSON.stringify({ key: Buffer.from('gw2').toString('base64'), value: 'eQ==' }));
    assert.equal(Buffer.from((await w.line(3)).result.events[0].kv.key, 'base64').toString(), 'gw2');
  } finally {
    w.close();
  }
});

test('/v3/lease/keepalive over an open body answers each request when it comes', async () => {
  const g = JSON.parse((await httpGet(port, '/v3/lease/grant', 'POST', '{"TTL":"20"}')).body);
  const k = openStream('/v3/lease/keepalive');
  try {
    k.send({ ID: g.ID });
    assert.equal((await k.line(0)).result.ID, g.ID);
    k.send({ ID: g.ID });
    assert.equal((await k.line(1)).result.TTL, '20');
  } finally {
    k.close();
  }
});

test('a stream whose first request does not decode is an Unknown error; a later bad one ends only the sending side', async () => {
  const bad = await httpGet(port, '/v3/watch', 'POST', '{"create_request": {"key": 5}}');
  assert.equal(bad.status, 500);
  assert.equal(JSON.parse(bad.body).code, Code.UNKNOWN);
  const w = openStream('/v3/watch');
  try {
    w.send({ create_request: { key: Buffer.from('gw3').toString('base64') } });
    assert.equal((await w.line(0)).result.created, true);
    w.send({ create_request: { key: 5 } });
    await new Promise((r) => setTimeout(r, 50));
    // The watch created before it keeps streaming.
    await httpGet(port, '/v3/kv/put', 'POST', JSON.stringify({ key: Buffer.from('gw3').toString('base64'), value: 'eA==' }));
    assert.equal(Buffer.from((await w.line(1)).result.events[0].kv.key, 'base64').toString(), 'gw3');
  } finally {
    w.close();
  }
});
