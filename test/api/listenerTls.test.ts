// The client listener with TLS: HTTP/2 (ALPN h2) and HTTP/1.1 (no ALPN: routed by its first
// bytes) on one TLS port, and stop() not waiting for a connection stuck before its handshake.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { serverTlsOptions } from '../../src/pkg/tls.js';
import { startApi } from './helpers.js';

const OPENSSL = spawnSync('openssl', ['version']).status === 0;
const skip = OPENSSL ? false : 'openssl is not installed: cannot generate a test certificate';

let dir = '';
let cert: Buffer;

before(() => {
  if (!OPENSSL) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-listener-tls-'));
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=api',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
  ]);
  assert.equal(r.status, 0, String(r.stderr));
  cert = fs.readFileSync(path.join(dir, 'cert.pem'));
});

after(() => {
  if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
});

async function secureApi() {
  const options = await serverTlsOptions(
    { certFile: path.join(dir, 'cert.pem'), keyFile: path.join(dir, 'key.pem'), trustedCaFile: '', clientCertAuth: false },
    ['h2', 'http/1.1'],
  );
  const rejected: string[] = [];
  const started = await startApi({ tls: { options, onRejected: (_a, _n, why) => rejected.push(why) } });
  return { ...started, rejected };
}

function get1(port: number, p: string): Promise<{ status: number; body: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: p, ca: cert, agent: false }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, alpn: (res.socket as import('node:tls').TLSSocket).alpnProtocol }));
    });
    req.on('error', reject);
  });
}

function get2(port: number, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`https://127.0.0.1:${port}`, { ca: cert });
    s.on('error', reject);
    const req = s.request({ ':path': p });
    let status = 0;
    let body = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => {
      s.close();
      resolve({ status, body });
    });
    req.on('error', reject);
    req.end();
  });
}

test('HTTP/1.1 and HTTP/2 share the TLS port', { skip }, async () => {
  const { api, port, rejected } = await secureApi();
  try {
    // Node's https client offers no ALPN: the first bytes route it.
    const h1 = await get1(port, '/version');
    assert.equal(h1.status, 200);
    assert.equal(h1.alpn, false);
    assert.match(h1.body, /etcdserver/);
    const h2 = await get2(port, '/version');
    assert.equal(h2.status, 200);
    assert.match(h2.body, /etcdserver/);
    assert.deepEqual(rejected, []);
  } finally {
    await api.stop();
  }
});

test('stop() does not wait for a connection that never finishes its handshake', { skip, timeout: 5000 }, async () => {
  const { api, port } = await secureApi();
  const idle = net.connect(port, '127.0.0.1');
  idle.on('error', () => {});
  await new Promise((r) => idle.once('connect', r));
  const closed = new Promise((r) => idle.once('close', r));
  const t0 = Date.now();
  await api.stop();
  await closed;
  assert.ok(Date.now() - t0 < 2000, `stop took ${Date.now() - t0} ms`);
});
