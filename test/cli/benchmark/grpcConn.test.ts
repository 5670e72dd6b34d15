// Tests for the benchmark's lean gRPC/HTTP2 client against a node:http2 (h2c) server speaking the
// gRPC wire format: bodies both ways, status trailers, flow control with large messages,
// MAX_CONCURRENT_STREAMS, a server dropping the connection, and refused connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { GrpcCallError, GrpcConn, percentDecode } from '../../../src/cli/benchmark/grpcConn.js';

type Handler = (req: Buffer, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;

function frame(msg: Buffer): Buffer {
  const b = Buffer.alloc(5 + msg.length);
  b.writeUInt32BE(msg.length, 1);
  msg.copy(b, 5);
  return b;
}

function reply(stream: http2.ServerHttp2Stream, msg: Buffer): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(frame(msg));
}

async function withServer(
  handler: Handler,
  fn: (port: number, server: http2.Http2Server) => Promise<void>,
  settings: http2.Settings = {},
): Promise<void> {
  const server = http2.createServer({ settings });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => sessions.add(s));
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      handler(body.subarray(5, 5 + body.readUInt32BE(1)), stream, headers);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn((server.address() as net.AddressInfo).port, server);
  } finally {
    for (const s of sessions) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

function call(conn: GrpcConn, path: string, msg: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    conn.unary(conn.method(path), msg, (err, body) => (err ? reject(err) : resolve(Buffer.from(body!)))),
  );
}

test('unary call: request and response bodies and the gRPC request headers', async () => {
  let seen: http2.IncomingHttpHeaders = {};
  await withServer(
    (req, stream, headers) => {
      seen = headers;
      reply(stream, Buffer.concat([Buffer.from('echo:'), req]));
    },
    async (port) => {
      const conn = await GrpcConn.connect({ host: '127.0.0.1', port });
      try {
        const msg = Buffer.from('hello');
        const results = await Promise.all([1, 2, 3].map((i) => call(conn, '/pkg.Svc/M', Buffer.concat([msg, Buffer.from([i])]))));
        assert.deepEqual(results.map((r) => r.toString('latin1')), ['echo:hello\x01', 'echo:hello\x02', 'echo:hello\x03']);
        assert.equal(seen[':method'], 'POST');
        assert.equal(seen[':path'], '/pkg.Svc/M');
        assert.equal(seen['content-type'], 'application/grpc');
        assert.equal(seen['te'], 'trailers');
        assert.equal(seen[':authority'], `127.0.0.1:${port}`);
        assert.equal(conn.inflight, 0);
      } finally {
        conn.close();
      }
    },
  );
});

test('a non-zero grpc-status becomes a GrpcCallError with the decoded message', async () => {
  await withServer(
    (_req, stream) => {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'key%20not%20found' },
        { endStream: true },
      );
    },
    async (port) => {
      const conn = await GrpcConn.connect({ host: '127.0.0.1', port });
      try {
        await assert.rejects(call(conn, '/pkg.Svc/M', Buffer.alloc(0)), (e: unknown) => {
          assert.ok(e instanceof GrpcCallError);
          assert.equal(e.code, 5);
          assert.equal(e.message, 'rpc error: code = NotFound desc = key not found');
          return true;
        });
        // The connection stays usable after an error (HPACK state kept in step).
        await assert.rejects(call(conn, '/pkg.Svc/M', Buffer.alloc(0)), GrpcCallError);
      } finally {
        conn.close();
      }
    },
  );
});

test('flow control: messages larger than the initial windows and the frame size', async () => {
  await withServer(
    (req, stream) => reply(stream, Buffer.concat([req, req])),
    async (port) => {
      const conn = await GrpcConn.connect({ host: '127.0.0.1', port });
      try {
        const big = Buffer.alloc(200_000);
        for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
        const [a, b] = await Promise.all([call(conn, '/p/M', big), call(conn, '/p/M', big.subarray(0, 70_000))]);
        assert.equal(a.length, 400_000);
        assert.ok(a.subarray(0, 200_000).equals(big) && a.subarray(200_000).equals(big));
        assert.equal(b.length, 140_000);
        assert.ok(b.subarray(70_000).equals(big.subarray(0, 70_000)));
      } finally {
        conn.close();
      }
    },
  );
});

test('MAX_CONCURRENT_STREAMS: calls beyond the limit wait for a free stream', async () => {
  let active = 0;
  let maxActive = 0;
  await withServer(
    (req, stream) => {
      active++;
      maxActive = Math.max(maxActive, active);
      setTimeout(() => {
        active--;
        reply(stream, req);
      }, 5);
    },
    async (port) => {
      const conn = await GrpcConn.connect({ host: '127.0.0.1', port });
      try {
        const out = await Promise.all(Array.from({ length: 10 }, (_, i) => call(conn, '/p/M', Buffer.from([i]))));
        assert.deepEqual(out.map((b) => b[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.equal(maxActive, 2);
      } finally {
        conn.close();
      }
    },
    { maxConcurrentStreams: 2 },
  );
});

test('calls in flight fail with Unavailable when the server drops the connection', async () => {
  await withServer(
    (_req, stream) => stream.session?.destroy(),
    async (port) => {
      const conn = await GrpcConn.connect({ host: '127.0.0.1', port });
      await assert.rejects(call(conn, '/p/M', Buffer.from('x')), (e: unknown) => e instanceof GrpcCallError && e.code === 14);
      await assert.rejects(call(conn, '/p/M', Buffer.from('x')), (e: unknown) => e instanceof GrpcCallError && e.code === 14);
      conn.close();
    },
  );
});

test('connecting to a closed port fails with the address in the message', async () => {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  await assert.rejects(GrpcConn.connect({ host: '127.0.0.1', port }), new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}`));
});

test('percentDecode keeps malformed escapes', () => {
  assert.equal(percentDecode('a%20b'), 'a b');
  assert.equal(percentDecode('100%'), '100%');
  assert.equal(percentDecode('plain'), 'plain');
});
