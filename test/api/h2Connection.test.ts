// Our server-side HTTP/2 connection against node's HTTP/2 client (nghttp2): bodies larger than
// every window in both directions, padding, CONTINUATION both ways, many concurrent streams, PING,
// resets both ways, a slow reader (queued output and drain), graceful shutdown with GOAWAY, a bad
// preface, and keepalive: a silent client is pinged and dropped, a ping flood is told to calm down.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { H2Connection, type H2Stream, type KeepaliveOptions, headerBlock } from '../../src/api/grpc/h2Connection.js';

type Handler = (s: H2Stream) => void;

let server: net.Server;
let port: number;
const conns = new Set<H2Connection>();
let handler: Handler = () => {};
let keepalive: KeepaliveOptions | undefined;
let maxConcurrentStreams: number | undefined;

before(async () => {
  server = net.createServer((sock) => {
    const c: H2Connection = new H2Connection(sock, { onStream: (s) => handler(s), onClose: () => conns.delete(c), keepalive, maxConcurrentStreams });
    conns.add(c);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});

after(async () => {
  for (const c of conns) c.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

const OK = headerBlock([[':status', '200'], ['content-type', 'application/octet-stream']]);
const TRAILERS = headerBlock([['x-done', 'yes']]);

/** Echoes the request body back after the request ended, then sends trailers. */
const echo: Handler = (s) => {
  const parts: Buffer[] = [];
  s.onData = (c) => parts.push(Buffer.from(c));
  s.onEnd = () => {
    s.respond(OK);
    s.write(Buffer.concat(parts));
    s.end(TRAILERS);
  };
};

function connect(opts: http2.ClientSessionOptions = {}): http2.ClientHttp2Session {
  const c = http2.connect(`http://127.0.0.1:${port}`, opts);
  c.on('error', () => {});
  return c;
}

interface Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders;
}

function request(c: http2.ClientHttp2Session, body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = c.request({ ':method': 'POST', ':path': '/echo', ...headers });
    const chunks: Buffer[] = [];
    let resHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (resHeaders = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => resolve({ status: Number(resHeaders[':status']), headers: resHeaders, body: Buffer.concat(chunks), trailers }));
    req.on('error', reject);
    req.end(body);
  });
}

test('a body larger than every window travels both ways, padded or not', async () => {
  handler = echo;
  for (const paddingStrategy of [http2.constants.PADDING_STRATEGY_NONE, http2.constants.PADDING_STRATEGY_MAX]) {
    const c = connect({ paddingStrategy });
    try {
      // 20 MiB: past our 4 MiB stream and 16 MiB connection windows, and node's 64 KiB ones.
      const body = randomBytes(20 << 20);
      const r = await request(c, body);
      assert.equal(r.status, 200);
      assert.equal(r.body.length, body.length);
      assert.ok(r.body.equals(body), 'echoed bytes differ');
      assert.equal(r.trailers['x-done'], 'yes');
    } finally {
      c.close();
    }
  }
});

test('200 concurrent streams on one connection each get their own answer', async () => {
  handler = echo;
  const c = connect();
  try {
    const bodies = Array.from({ length: 200 }, (_, i) => Buffer.from(`stream-${i}-`.repeat(1 + (i % 50))));
    const replies = await Promise.all(bodies.map((b) => request(c, b)));
    replies.forEach((r, i) => assert.ok(r.body.equals(bodies[i]!), `stream ${i}`));
  } finally {
    c.close();
  }
});

test('header blocks beyond one frame: CONTINUATION received and sent', async () => {
  const big = 'v'.repeat(40_000);
  handler = (s) => {
    s.onEnd = () => {
      s.respond(headerBlock([[':status', '200'], ['x-got', String(s.headers['x-big']?.length ?? -1)], ['x-echo', s.headers['x-big'] ?? '']]));
      s.end();
    };
  };
  const c = connect({ maxHeaderListPairs: 1000, maxSessionMemory: 100 });
  try {
    const r = await request(c, Buffer.alloc(0), { 'x-big': big });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-got'], String(big.length));
    assert.equal(r.headers['x-echo'], big);
  } finally {
    c.close();
  }
});

test('PING is acknowledged', async () => {
  const c = connect();
  try {
    await new Promise<void>((r) => c.once('connect', () => r()));
    const payload = Buffer.from('12345678');
    const echoed = await new Promise<Buffer>((resolve, reject) =>
      c.ping(payload, (err, _ms, p) => (err ? reject(err) : resolve(p))),
    );
    assert.ok(echoed.equals(payload));
  } finally {
    c.close();
  }
});

test('a client reset closes the server stream with its code; a server reset reaches the client', async () => {
  let closed: (code: number) => void = () => {};
  const closedCode = new Promise<number>((r) => (closed = r));
  handler = (s) => {
    if (s.headers[':path'] === '/reset-me') {
      s.onEnd = () => s.reset(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    s.onClose = () => closed(s.closeCode);
    s.respond(OK);
    s.write(Buffer.from('partial'));
  };
  const c = connect();
  try {
    const req = c.request({ ':method': 'POST', ':path': '/hold' });
    req.on('error', () => {});
    await new Promise<void>((r) => req.once('data', () => r()));
    req.close(http2.constants.NGHTTP2_CANCEL);
    assert.equal(await closedCode, http2.constants.NGHTTP2_CANCEL);

    const req2 = c.request({ ':method': 'POST', ':path': '/reset-me' });
    req2.on('error', () => {});
    req2.end();
    const code = await new Promise<number>((r) => req2.once('close', () => r(req2.rstCode)));
    assert.equal(code, http2.constants.NGHTTP2_REFUSED_STREAM);
  } finally {
    c.close();
  }
});

test('a slow reader: output queues behind its window and drains when it reads', async () => {
  const total = 2 << 20;
  let stream: H2Stream | undefined;
  let drained = 0;
  handler = (s) => {
    stream = s;
    s.onDrain = () => drained++;
    s.respond(OK);
    for (let i = 0; i < total / 65536; i++) s.write(Buffer.alloc(65536, i));
  };
  const c = connect({ settings: { initialWindowSize: 65535 } });
  try {
    const req = c.request({ ':method': 'POST', ':path': '/slow' });
    req.end();
    req.pause();
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(stream !== undefined);
    assert.ok(stream.queuedBytes > 0, 'nothing queued for a client that does not read');
    assert.ok(stream.queuedBytes <= total);
    let got = 0;
    let trailers: http2.IncomingHttpHeaders = {};
    req.on('trailers', (t) => (trailers = t));
    const all = new Promise<void>((r) =>
      req.on('data', (d: Buffer) => {
        got += d.length;
        if (got === total) r();
      }),
    );
    req.resume();
    await all;
    assert.equal(stream.queuedBytes, 0);
    assert.equal(drained, 1);
    assert.ok(!stream.closed);
    stream.end(TRAILERS);
    await new Promise<void>((r) => req.once('end', () => r()));
    assert.equal(trailers['x-done'], 'yes');
    assert.ok(stream.closed);
  } finally {
    c.close();
  }
});

test('shutdown: GOAWAY, the open stream finishes, new streams are refused, the socket ends', async () => {
  let open: H2Stream | undefined;
  handler = (s) => {
    open = s;
  };
  const c = connect();
  try {
    const goaway = new Promise<number>((r) => c.once('goaway', (code) => r(code)));
    const first = request(c, Buffer.from('x'));
    while (open === undefined) await new Promise((r) => setTimeout(r, 5));
    for (const conn of conns) conn.shutdown();
    assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
    open.respond(OK);
    open.write(Buffer.from('finished'));
    open.end(TRAILERS);
    const r = await first;
    assert.equal(r.body.toString(), 'finished');
    await new Promise<void>((r) => c.once('close', () => r()));
  } finally {
    c.destroy();
  }
});

test('a bad preface gets GOAWAY(PROTOCOL_ERROR) and the connection closes', async () => {
  const sock = net.connect(port, '127.0.0.1');
  const got: Buffer[] = [];
  sock.on('data', (d) => got.push(d));
  sock.write('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n');
  await new Promise<void>((r) => sock.once('close', () => r()));
  const all = Buffer.concat(got);
  // Frames: our SETTINGS, WINDOW_UPDATE, then GOAWAY (type 7) with PROTOCOL_ERROR (1).
  let p = 0;
  let goawayCode = -1;
  while (p + 9 <= all.length) {
    const len = all.readUIntBE(p, 3);
    if (all[p + 3] === 7) goawayCode = all.readUInt32BE(p + 9 + 4);
    p += 9 + len;
  }
  assert.equal(goawayCode, 1);
});

/** Frames (type, flags, payload) in a byte string. */
function framesOf(all: Buffer): { type: number; flags: number; payload: Buffer }[] {
  const out: { type: number; flags: number; payload: Buffer }[] = [];
  for (let p = 0; p + 9 <= all.length; ) {
    const len = all.readUIntBE(p, 3);
    out.push({ type: all[p + 3]!, flags: all[p + 4]!, payload: all.subarray(p + 9, p + 9 + len) });
    p += 9 + len;
  }
  return out;
}

test('keepalive: a client that stays silent is pinged, then dropped; one that answers stays', { timeout: 10_000 }, async () => {
  keepalive = { intervalMs: 100, timeoutMs: 100, minPingIntervalMs: 5000 };
  try {
    // Silent: a raw socket that sends the preface and SETTINGS, then nothing.
    const sock = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    sock.on('data', (d) => got.push(d));
    sock.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    const t0 = Date.now();
    await new Promise<void>((r) => sock.once('close', () => r()));
    const waited = Date.now() - t0;
    const pings = framesOf(Buffer.concat(got)).filter((f) => f.type === 6 && (f.flags & 1) === 0);
    assert.equal(pings.length, 1, 'one keepalive PING before closing');
    assert.ok(waited >= 150 && waited < 2000, `closed after ${waited} ms`);

    // Answering: node's client acknowledges PINGs, so the connection outlives many intervals.
    const c = connect();
    try {
      await new Promise<void>((r) => c.once('connect', () => r()));
      await new Promise((r) => setTimeout(r, 600));
      assert.ok(!c.closed && !c.destroyed, 'a live client was dropped');
      handler = echo;
      const r = await request(c, Buffer.from('still here'));
      assert.equal(r.body.toString(), 'still here');
    } finally {
      c.close();
    }
  } finally {
    keepalive = undefined;
  }
});

test('a client pinging more often than the policy allows gets GOAWAY(ENHANCE_YOUR_CALM, too_many_pings)', { timeout: 10_000 }, async () => {
  const c = connect();
  try {
    await new Promise<void>((r) => c.once('connect', () => r()));
    const goaway = new Promise<[number, string]>((r) => c.once('goaway', (code, _last, data) => r([code, data?.toString() ?? ''])));
    // No streams open: more than one ping per two hours is a strike; the third strike ends it.
    for (let i = 0; i < 4; i++) c.ping(() => {});
    const [code, debug] = await goaway;
    assert.equal(code, 0xb);
    assert.equal(debug, 'too_many_pings');
  } finally {
    c.destroy();
  }
});

test('pings that follow our responses are never strikes (grpc-go BDP pings)', async () => {
  handler = echo;
  const c = connect();
  let goaway = false;
  c.on('goaway', () => (goaway = true));
  try {
    for (let i = 0; i < 6; i++) {
      await request(c, Buffer.from(`r${i}`));
      await new Promise<void>((resolve, reject) => c.ping((err) => (err ? reject(err) : resolve())));
    }
    assert.equal(goaway, false);
  } finally {
    c.close();
  }
});

test('random frames after a valid preface never crash the server; it keeps serving', { timeout: 60_000 }, async () => {
  handler = echo;
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const preface = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);
  for (let round = 0; round < 150; round++) {
    const frames: Buffer[] = [preface];
    for (let i = 0; i < 1 + rnd(8); i++) {
      const len = rnd(4) === 0 ? rnd(40) : [0, 4, 5, 6, 8][rnd(5)]!;
      const f = Buffer.alloc(9 + len);
      f.writeUIntBE(len, 0, 3);
      f[3] = rnd(12); // every frame type, and a few unknown ones
      f[4] = rnd(256);
      f.writeUInt32BE(rnd(4) === 0 ? rnd(0x80000000) : rnd(8), 5);
      for (let j = 9; j < f.length; j++) f[j] = rnd(256);
      frames.push(f);
    }
    const sock = net.connect(port, '127.0.0.1');
    sock.on('error', () => {});
    sock.on('data', () => {});
    sock.end(Buffer.concat(frames));
    await new Promise<void>((r) => {
      sock.once('close', () => r());
      setTimeout(() => {
        sock.destroy();
        r();
      }, 200);
    });
  }
  const c = connect();
  try {
    const r = await request(c, Buffer.from('alive'));
    assert.equal(r.body.toString(), 'alive');
  } finally {
    c.close();
  }
});

test('header names that are Object.prototype members are plain headers', async () => {
  handler = (s) => {
    s.onEnd = () => {
      s.respond(headerBlock([[':status', '200'], ['x-constructor', String(s.headers['constructor'])], ['x-tostring', String(s.headers['tostring'])]]));
      s.end();
    };
  };
  const c = connect();
  try {
    const r = await request(c, Buffer.alloc(0), { constructor: 'built', 'x-other': '1' });
    assert.equal(r.headers['x-constructor'], 'built');
    assert.equal(r.headers['x-tostring'], 'undefined');
  } finally {
    c.close();
  }
});

test('--max-concurrent-streams: announced in SETTINGS; a stream beyond it is refused', async () => {
  maxConcurrentStreams = 2;
  handler = () => {}; // streams stay open
  try {
    const sock = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    sock.on('data', (d) => got.push(d));
    // HEADERS for streams 1, 3, 5: :method POST (static 3), :path / (static 4), :scheme http (static 6).
    const headers = (sid: number) => {
      const f = Buffer.from([0, 0, 3, 1, 4, 0, 0, 0, 0, 0x83, 0x84, 0x86]);
      f.writeUInt32BE(sid, 5);
      return f;
    };
    sock.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]), headers(1), headers(3), headers(5)]));
    await new Promise((r) => setTimeout(r, 300));
    sock.destroy();
    const frames = framesOf(Buffer.concat(got));
    const settings = frames.find((f) => f.type === 4 && (f.flags & 1) === 0)!;
    const values = new Map<number, number>();
    for (let o = 0; o + 6 <= settings.payload.length; o += 6) values.set(settings.payload.readUInt16BE(o), settings.payload.readUInt32BE(o + 2));
    assert.equal(values.get(3), 2, 'SETTINGS_MAX_CONCURRENT_STREAMS');
    const resets = frames.filter((f) => f.type === 3);
    assert.equal(resets.length, 1);
    assert.equal(resets[0]!.payload.readUInt32BE(0), 7, 'REFUSED_STREAM');
  } finally {
    maxConcurrentStreams = undefined;
  }
});
