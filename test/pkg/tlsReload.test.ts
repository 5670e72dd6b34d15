// Live TLS material: new handshakes on the listening side and new dials on the dialing side use
// the certificate files' current contents (a broken new file keeps the previous certificate and
// warns); CRLs refuse revoked certificates and are re-read when they change; the allowed CN or
// hostname is required of peers (and, when dialing, of the server); --cipher-suites restricts
// TLS 1.2. Also the pieces: CRL parsing, cipher-suite names, the identity check.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { CrlError, parseCrl, serialKey } from '../../src/pkg/crl.js';
import { type TlsInfo, TlsSource } from '../../src/pkg/tls.js';
import { http2CipherProblem, opensslCiphers, unknownCipherSuite } from '../../src/pkg/tlsCiphers.js';
import { identityAllowed, revocationReason } from '../../src/pkg/tlsCheck.js';
import { type SecureListenOptions, SecureListener } from '../../src/pkg/tlsListener.js';
import { type CertDir, CLIENT_EXT, commonCerts, NO_OPENSSL } from '../support/certs.js';

let certs: CertDir;
const f = (n: string) => certs.path(n);

before(() => {
  if (NO_OPENSSL) return;
  certs = commonCerts('tsetcd-tls-reload-');
  certs.issue('wild', '/CN=wild', 'ca', ['subjectAltName=DNS:*.example.com,IP:10.0.0.1', ...CLIENT_EXT]);
});

after(() => certs?.remove());

const info = (o: Partial<TlsInfo>): TlsInfo => ({ certFile: '', keyFile: '', trustedCaFile: '', clientCertAuth: false, ...o });

/** Copies `from` over `to` by writing a new file and renaming it (how rotation tools do it). */
function replace(from: string, to: string): void {
  fs.copyFileSync(from, `${to}.tmp`);
  fs.renameSync(`${to}.tmp`, to);
}

interface Warned {
  msg: string;
  fields: Record<string, unknown>;
}

interface Front {
  port: number;
  rejected: string[];
  warned: Warned[];
  source: TlsSource;
}

/** A TLS front serving `tlsInfo` from a TlsSource; each accepted socket answers "ok". */
async function withFront(tlsInfo: TlsInfo, fn: (front: Front) => Promise<void>, extra: Partial<SecureListenOptions> = {}): Promise<void> {
  const warned: Warned[] = [];
  const source = await TlsSource.load(tlsInfo, { warn: (fields, msg) => warned.push({ fields, msg }) });
  const rejected: string[] = [];
  const accepted: tls.TLSSocket[] = [];
  const onRejected = (_a: string, _n: string, why: string) => rejected.push(why);
  const front = new SecureListener({ ...extra, options: source.serverOptions(['h2']), source, onRejected }, (s) => {
    accepted.push(s);
    s.end('ok');
  });
  await new Promise<void>((r) => front.server.listen(0, '127.0.0.1', r));
  try {
    await fn({ port: (front.server.address() as AddressInfo).port, rejected, warned, source });
  } finally {
    front.dropHandshaking();
    for (const s of accepted) s.destroy();
    await new Promise((r) => front.server.close(r));
  }
}

interface Dialed {
  /** The CN of the certificate the server presented. */
  cn?: string;
  data?: string;
  error?: string;
}

function dial(port: number, o: tls.ConnectionOptions = {}): Promise<Dialed> {
  return new Promise((resolve) => {
    const out: Dialed = {};
    const c = tls.connect({ port, host: '127.0.0.1', ca: fs.readFileSync(f('ca.crt')), ALPNProtocols: ['h2'], ...o });
    c.on('secureConnect', () => (out.cn = c.getPeerCertificate().subject.CN as string));
    c.on('data', (d: Buffer) => (out.data = (out.data ?? '') + d.toString()));
    c.on('error', (e) => (out.error = e.message));
    c.on('close', () => resolve(out));
  });
}

const withCert = (name: string) => ({ cert: fs.readFileSync(f(`${name}.crt`)), key: fs.readFileSync(f(`${name}.key`)) });

describe('certificate reload', { skip: NO_OPENSSL }, () => {
  test('a new connection gets the certificate now in the files; a broken file keeps the previous one', async () => {
    for (const n of ['crt', 'key']) fs.copyFileSync(f(`server.${n}`), f(`live.${n}`));
    await withFront(info({ certFile: f('live.crt'), keyFile: f('live.key') }), async ({ port, warned, source }) => {
      assert.equal((await dial(port)).cn, 'member');
      // Rotated by rename: the next handshake presents the new certificate.
      replace(f('server2.key'), f('live.key'));
      replace(f('server2.crt'), f('live.crt'));
      const rotated = await dial(port);
      assert.equal(rotated.cn, 'member2');
      assert.equal(rotated.data, 'ok');
      assert.equal(source.generation, 1);

      // Rewritten in place with a certificate that does not fit the key: kept, with a warning.
      fs.copyFileSync(f('server.crt'), f('live.crt'));
      assert.equal((await dial(port)).cn, 'member2');
      assert.equal(warned.length, 1);
      assert.equal(warned[0].msg, 'failed to create peer certificate');
      assert.equal(warned[0].fields.error, 'tls: private key does not match public key');
      // Unchanged files are not read again: the same warning is not repeated per connection.
      await dial(port);
      assert.equal(warned.length, 1);
      // The matching key arrives: now the new pair is served.
      fs.copyFileSync(f('server.key'), f('live.key'));
      assert.equal((await dial(port)).cn, 'member');

      // A missing file is warned about with etcd's message and the last good pair stays.
      fs.rmSync(f('live.key'));
      assert.equal((await dial(port)).cn, 'member');
      assert.equal(warned[1].msg, 'failed to find peer cert files');
      assert.match(String(warned[1].fields.error), /^open .*live\.key: no such file or directory$/);
    });
  });

  test('the dialing side presents the client certificate now in the files', async () => {
    for (const n of ['crt', 'key']) fs.copyFileSync(f(`server.${n}`), f(`dialer.${n}`));
    const source = await TlsSource.load(info({ certFile: f('dialer.crt'), keyFile: f('dialer.key'), trustedCaFile: f('ca.crt') }));
    const opts = source.clientOptions();
    const seen: string[] = [];
    const server = tls.createServer({ ...withCert('server'), ca: fs.readFileSync(f('ca.crt')), requestCert: true }, (s) => {
      seen.push(String(s.getPeerCertificate().subject.CN));
      s.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      // Dials read the options as http2.connect does: by spreading them.
      assert.equal((await dial(port, { ...opts })).error, undefined);
      replace(f('server2.key'), f('dialer.key'));
      replace(f('server2.crt'), f('dialer.crt'));
      // A dial starts a check of the files; once it is done, dials present the new certificate.
      await dial(port, { ...opts });
      await source.refresh();
      await dial(port, { ...opts });
      assert.equal(seen[0], 'member');
      assert.equal(seen[seen.length - 1], 'member2');
      assert.match(String(opts.cert), /BEGIN CERTIFICATE/);
      assert.equal(String(opts.cert), fs.readFileSync(f('server2.crt'), 'latin1').trim());
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('certificate revocation lists', { skip: NO_OPENSSL }, () => {
  test('parses the revoked serials from PEM and DER', () => {
    const pem = certs.crl('ca', ['revoked', 'client']);
    const der = f('crl.der');
    assert.equal(spawnSync('openssl', ['crl', '-in', pem, '-outform', 'DER', '-out', der]).status, 0);
    const want = new Set([certs.serial('revoked'), certs.serial('client')]);
    assert.deepEqual(parseCrl(fs.readFileSync(pem)), want);
    assert.deepEqual(parseCrl(fs.readFileSync(der)), want);
    assert.deepEqual(parseCrl(fs.readFileSync(certs.crl('ca', []))), new Set());
    assert.throws(() => parseCrl(Buffer.from('not a crl')), CrlError);
    assert.throws(() => parseCrl(fs.readFileSync(f('ca.crt'))), CrlError);
    assert.equal(serialKey('00C6'), 'c6');
    assert.equal(serialKey('A'), '0a');
    assert.equal(serialKey(new X509Certificate(fs.readFileSync(f('revoked.crt'))).serialNumber), certs.serial('revoked'));
  });

  test('a revoked client certificate is refused; the CRL is re-read when it changes', async () => {
    const crl = f('live.crl');
    fs.copyFileSync(certs.crl('ca', ['revoked']), crl);
    const tlsInfo = info({ certFile: f('server.crt'), keyFile: f('server.key'), trustedCaFile: f('ca.crt'), clientCertAuth: true, crlFile: crl });
    await withFront(tlsInfo, async ({ port, rejected }) => {
      assert.equal((await dial(port, withCert('client'))).data, 'ok');
      assert.notEqual((await dial(port, withCert('revoked'))).data, 'ok');
      assert.deepEqual(rejected, [`transport: certificate serial ${certs.serial('revoked')} revoked`]);

      replace(certs.crl('ca', ['revoked', 'client']), crl);
      assert.notEqual((await dial(port, withCert('client'))).data, 'ok');
      assert.equal(rejected[1], `transport: certificate serial ${certs.serial('client')} revoked`);

      // An unreadable CRL refuses everybody, as etcd's per-connection read does.
      fs.rmSync(crl);
      assert.notEqual((await dial(port, withCert('peer'))).data, 'ok');
      assert.equal(rejected[2], `open ${crl}: no such file or directory`);
    });
    // A peer presenting no certificate is not checked against the CRL, readable or not.
    assert.equal(revocationReason('open x.crl: no such file or directory', {} as tls.DetailedPeerCertificate), null);
    assert.equal(revocationReason(new Set(['0a']), {} as tls.DetailedPeerCertificate), null);
  });
});

describe('allowed peer identity', { skip: NO_OPENSSL }, () => {
  test('CN and hostname rules', () => {
    const x = (n: string) => new X509Certificate(fs.readFileSync(f(`${n}.crt`)));
    const subj = (cn: string | string[]) => ({ CN: cn }) as unknown as tls.PeerCertificate['subject'];
    const cn = { cn: 'member', hostname: '' };
    assert.equal(identityAllowed(cn, subj('member'), () => x('server')), true);
    assert.equal(identityAllowed(cn, subj('root'), () => x('client')), false);
    assert.equal(identityAllowed(cn, subj(['member', 'other']), () => x('server')), false, 'Go reads the last CN');
    const host = (h: string, n: string) => identityAllowed({ cn: '', hostname: h }, undefined, () => x(n));
    assert.equal(host('127.0.0.1', 'server'), true);
    assert.equal(host('[127.0.0.1]', 'server'), true);
    assert.equal(host('LOCALHOST', 'server'), true);
    assert.equal(host('10.0.0.2', 'server'), false);
    assert.equal(host('member', 'server'), false, 'the CN is not a hostname');
    assert.equal(host('a.example.com', 'wild'), true);
    assert.equal(host('a.b.example.com', 'wild'), false);
    assert.equal(host('10.0.0.1', 'wild'), true);
  });

  test('the listener refuses peers without the allowed CN or hostname', async () => {
    const base = { certFile: f('server.crt'), keyFile: f('server.key'), trustedCaFile: f('ca.crt'), clientCertAuth: true };
    await withFront(info({ ...base, allowedCn: 'member' }), async ({ port, rejected }) => {
      assert.equal((await dial(port, withCert('peer'))).data, 'ok');
      assert.notEqual((await dial(port, withCert('client'))).data, 'ok');
      assert.deepEqual(rejected, ['client certificate authentication failed']);
    });
    await withFront(info({ ...base, allowedHostname: 'localhost' }), async ({ port, rejected }) => {
      assert.equal((await dial(port, withCert('server'))).data, 'ok');
      assert.notEqual((await dial(port, withCert('peer'))).data, 'ok');
      assert.deepEqual(rejected, ['client certificate authentication failed']);
    });
    await assert.rejects(TlsSource.load(info({ ...base, allowedCn: 'member', allowedHostname: 'localhost' })), {
      message: 'AllowedCN and AllowedHostname are mutually exclusive (cn="member", hostname="localhost")',
    });
  });

  test('the dialing side requires the allowed CN of the server too', async () => {
    const dialer = (cn: string) =>
      TlsSource.load(info({ certFile: f('peer.crt'), keyFile: f('peer.key'), trustedCaFile: f('ca.crt'), allowedCn: cn }));
    await withFront(info({ certFile: f('server.crt'), keyFile: f('server.key') }), async ({ port }) => {
      assert.equal((await dial(port, { ...(await dialer('member')).clientOptions() })).data, 'ok');
      assert.equal((await dial(port, { ...(await dialer('member2')).clientOptions() })).error, 'client certificate authentication failed');
    });
  });
});

describe('cipher suites', { skip: NO_OPENSSL }, () => {
  test('Go names map to OpenSSL names; unknown names get etcd\'s error', () => {
    assert.equal(unknownCipherSuite(['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_AES_128_GCM_SHA256']), null);
    assert.equal(unknownCipherSuite(['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'not_found']), 'unexpected TLS cipher suite "not_found"');
    assert.equal(opensslCiphers([]), undefined);
    assert.equal(
      opensslCiphers(['TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305', 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 'TLS_RSA_WITH_AES_128_CBC_SHA', 'TLS_AES_128_GCM_SHA256']),
      'ECDHE-ECDSA-CHACHA20-POLY1305:AES128-SHA:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256',
    );
    assert.equal(http2CipherProblem([]), null);
    assert.equal(http2CipherProblem(['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256']), null);
    assert.match(http2CipherProblem(['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384']) ?? '', /^http2: TLSConfig.CipherSuites is missing/);
  });

  test('the listed suites are the only TLS 1.2 ones; TLS 1.3 is unaffected', async () => {
    const tlsInfo = info({ certFile: f('server.crt'), keyFile: f('server.key'), cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'] });
    await withFront(tlsInfo, async ({ port, rejected }) => {
      const v12 = { maxVersion: 'TLSv1.2' } as const;
      assert.equal((await dial(port, { ...v12, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).data, 'ok');
      const other = await dial(port, { ...v12, ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
      assert.notEqual(other.data, 'ok');
      assert.match(other.error ?? '', /handshake failure/);
      assert.deepEqual(rejected, ['tls: no cipher suite supported by both client and server']);
      assert.equal((await dial(port, { minVersion: 'TLSv1.3' })).data, 'ok');
    });
  });
});

describe('client certificate SANs', { skip: NO_OPENSSL }, () => {
  test('a client certificate not naming the remote address is refused, unless the SAN check is skipped', async () => {
    const auth = info({ certFile: f('server.crt'), keyFile: f('server.key'), trustedCaFile: f('ca.crt'), clientCertAuth: true });
    await withFront(auth, async ({ port, rejected }) => {
      const r = await dial(port, withCert('wild'));
      assert.equal(r.data, undefined);
      assert.match(rejected.join('\n'), /"127\.0\.0\.1" does not match any of DNSNames/);
    });
    await withFront(
      auth,
      async ({ port, rejected }) => {
        assert.equal((await dial(port, withCert('wild'))).data, 'ok');
        assert.deepEqual(rejected, []);
      },
      { skipClientSanVerify: true },
    );
  });
});
