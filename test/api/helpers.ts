// Shared test plumbing: an ApiServer on 127.0.0.1:0 over the fake server, the real etcdctl, and a
// raw HTTP/2 gRPC client for wire-level checks.

import { execFile } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import { ApiServer, type ApiServerOptions } from '../../src/api/apiServer.js';
import { FakeServer } from './fakeServer.js';

export const ETCDCTL = '/usr/bin/etcdctl';

export async function startApi(opts: ApiServerOptions = {}): Promise<{ api: ApiServer; fake: FakeServer; port: number }> {
  const fake = new FakeServer();
  const api = new ApiServer(fake, { port: 0, stopGraceMs: 200, ...opts });
  await api.start();
  return { api, fake, port: api.port };
}

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function etcdctl(port: number, args: string[], input?: string | Buffer): Promise<CmdResult> {
  return new Promise((resolve) => {
    const child = execFile(
      ETCDCTL,
      [`--endpoints=127.0.0.1:${port}`, '--command-timeout=5s', ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, maxBuffer: 16 << 20, timeout: 15000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

export function httpGet(port: number, path: string, method = 'GET', body?: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface RawGrpcResult {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  messages: Buffer[];
}

/** One gRPC call with a raw HTTP/2 client: sends the given frames, collects the response. */
export function rawGrpc(port: number, path: string, body: Buffer, extraHeaders: http2.OutgoingHttpHeaders = {}): Promise<RawGrpcResult> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', reject);
    const req = client.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...extraHeaders,
    });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      client.close();
      const all = Buffer.concat(chunks);
      const messages: Buffer[] = [];
      for (let o = 0; o + 5 <= all.length; ) {
        const len = all.readUInt32BE(o + 1);
        messages.push(all.subarray(o + 5, o + 5 + len));
        o += 5 + len;
      }
      resolve({ headers, trailers, messages });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function frame(msg: Buffer): Buffer {
  const b = Buffer.alloc(5 + msg.length);
  b.writeUInt32BE(msg.length, 1);
  msg.copy(b, 5);
  return b;
}
