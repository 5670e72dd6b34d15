// TLS material: etcd's error texts for unusable files, the server and client options built from
// the flags, the SAN check on client certificates, self-signed certificates for --auto-tls, and
// the TLS front that refuses untrusted clients before handing sockets over.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { selfCert, sanOf } from '../../src/pkg/selfCert.js';
import { checkCertSan, clientTlsOptions, describeTlsInfo, serverTlsOptions, type TlsInfo, tlsInfoEmpty } from '../../src/pkg/tls.js';
import { SecureListener } from '../../src/pkg/tlsListener.js';

const OPENSSL = spawnSync('openssl', ['version']).status === 0;
const skip = OPENSSL ? false : 'openssl is not installed: cannot generate test certificates';

let dir = '';
const f = (n: string) => path.join(dir, n);

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
}

function selfSigned(name: string, ext: string[]): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', `/CN=${name}`, ...ext.flatMap((e) => ['-addext', e]), '-keyout', `${name}.key`, '-out', `${name}.crt`]);
}

before(() => {
  if (!OPENSSL) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-pkg-tls-'));
  selfSigned('ca', ['basicConstraints=critical,CA:TRUE']);
  const signed = (name: string, ext: string) => {
    fs.writeFileSync(f(`${name}.ext`), ext);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`,
      '-keyout', `${name}.key`, '-out', `${name}.csr`]);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1',
      '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
  };
  signed('server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  signed('client', 'extendedKeyUsage=clientAuth\n');
  signed('elsewhere', 'subjectAltName=IP:10.1.2.3\nextendedKeyUsage=clientAuth\n');
  selfSigned('stranger', ['extendedKeyUsage=clientAuth']);
  fs.writeFileSync(f('empty.pem'), 'nothing to see\n');
});

after(() => {
  if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
});

const info = (o: Partial<TlsInfo>): TlsInfo => ({ certFile: '', keyFile: '', trustedCaFile: '', clientCertAuth: false, ...o });

describe('loading certificate files', { skip }, () => {
  test('empty info and its description', () => {
    assert.equal(tlsInfoEmpty(info({})), true);
    assert.equal(tlsInfoEmpty(info({ certFile: 'a' })), false);
    assert.equal(
      describeTlsInfo(info({ certFile: 'c', keyFile: 'k', trustedCaFile: 'ca', clientCertAuth: true })),
      'cert = c, key = k, trusted-ca = ca, client-cert-auth = true, crl-file = ',
    );
  });

  test('problems are reported with etcd\'s texts', async () => {
    const cases: [Partial<TlsInfo>, string | RegExp][] = [
      [{ certFile: f('server.crt') }, `KeyFile and CertFile must both be present[key: , cert: ${f('server.crt')}]`],
      [{ certFile: f('missing.crt'), keyFile: f('server.key') }, `open ${f('missing.crt')}: no such file or directory`],
      [{ certFile: f('server.crt'), keyFile: f('missing.key') }, `open ${f('missing.key')}: no such file or directory`],
      [{ certFile: dir, keyFile: f('server.key') }, `read ${dir}: is a directory`],
      [
        { certFile: f('server.key'), keyFile: f('server.crt') },
        'tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched',
      ],
      [{ certFile: f('empty.pem'), keyFile: f('server.key') }, 'tls: failed to find any PEM data in certificate input'],
      [{ certFile: f('server.crt'), keyFile: f('empty.pem') }, 'tls: failed to find any PEM data in key input'],
      [{ certFile: f('server.crt'), keyFile: f('client.crt') }, 'tls: found a certificate rather than a key in the PEM for the private key'],
      [{ certFile: f('server.crt'), keyFile: f('client.key') }, 'tls: private key does not match public key'],
      [
        { certFile: f('server.crt'), keyFile: f('server.key'), trustedCaFile: f('missing-ca.crt') },
        `open ${f('missing-ca.crt')}: no such file or directory`,
      ],
    ];
    for (const [o, want] of cases) {
      await assert.rejects(serverTlsOptions(info(o), ['h2']), (e: Error) => {
        if (typeof want === 'string') assert.equal(e.message, want);
        else assert.match(e.message, want);
        return true;
      });
    }
  });

  test('server options ask for client certificates when a CA is trusted or client-cert-auth is on', async () => {
    const base = { certFile: f('server.crt'), keyFile: f('server.key') };
    const plain = await serverTlsOptions(info(base), ['h2', 'http/1.1']);
    assert.equal(plain.requestCert, false);
    assert.equal(plain.ca, undefined);
    assert.deepEqual(plain.ALPNProtocols, ['h2', 'http/1.1']);
    const withCa = await serverTlsOptions(info({ ...base, trustedCaFile: f('ca.crt') }), ['h2']);
    assert.equal(withCa.requestCert, true);
    assert.equal(withCa.rejectUnauthorized, true);
    assert.equal((withCa.ca as string[]).length, 1);
    const auth = await serverTlsOptions(info({ ...base, clientCertAuth: true }), ['h2']);
    assert.equal(auth.requestCert, true);
    // A CA file without certificates trusts nobody (as in etcd), rather than the system roots.
    const none = await serverTlsOptions(info({ ...base, trustedCaFile: f('empty.pem') }), ['h2']);
    assert.deepEqual(none.ca, []);
  });

  test('client options present our certificate, trust the CA, and skip verification only for self-signed', async () => {
    const c = await clientTlsOptions(info({ certFile: f('server.crt'), keyFile: f('server.key'), trustedCaFile: f('ca.crt') }));
    assert.match(String(c.cert), /BEGIN CERTIFICATE/);
    assert.match(String(c.key), /PRIVATE KEY/);
    assert.equal((c.ca as string[]).length, 1);
    assert.equal(c.rejectUnauthorized, undefined);
    const empty = await clientTlsOptions(info({}));
    assert.equal(empty.cert, undefined);
    const self = await clientTlsOptions(info({ certFile: f('server.crt'), keyFile: f('server.key'), selfCert: true }));
    assert.equal(self.rejectUnauthorized, false);
  });
});

describe('client certificate SANs', { skip }, () => {
  const cert = (n: string) => new X509Certificate(fs.readFileSync(f(`${n}.crt`)));

  test('an IP SAN must be the remote address', async () => {
    assert.equal(await checkCertSan(cert('server'), '127.0.0.1'), null);
    assert.equal(await checkCertSan(cert('server'), '::ffff:127.0.0.1'), null);
    assert.equal(await checkCertSan(cert('elsewhere'), '127.0.0.1'), 'x509: certificate is valid for 10.1.2.3, not 127.0.0.1');
  });

  test('a certificate without SANs passes', async () => {
    assert.equal(await checkCertSan(cert('client'), '192.0.2.1'), null);
  });

  test('a DNS SAN must resolve to the remote address', async () => {
    selfSigned('dnsname', ['subjectAltName=DNS:localhost,DNS:nonexistent.invalid']);
    const c = cert('dnsname');
    const local = await checkCertSan(c, '127.0.0.1');
    assert.equal(local, null, 'localhost resolves to 127.0.0.1');
    assert.equal(
      await checkCertSan(c, '192.0.2.7'),
      'tls: "192.0.2.7" does not match any of DNSNames ["localhost" "nonexistent.invalid"]',
    );
  });
});

describe('self-signed certificates (--auto-tls)', { skip }, () => {
  test('SAN entries from host:port', () => {
    assert.equal(sanOf('127.0.0.1:2379'), 'IP:127.0.0.1');
    assert.equal(sanOf('[::1]:2380'), 'IP:::1');
    assert.equal(sanOf('localhost:2379'), 'DNS:localhost');
    assert.equal(sanOf('example.com'), 'DNS:example.com');
  });

  test('generates a certificate for the hosts once, then reuses it', async () => {
    const d = path.join(dir, 'fixtures', 'peer');
    const logged: string[] = [];
    const lg = { info: (_: Record<string, unknown>, m: string) => logged.push(m) };
    const got = await selfCert(d, ['127.0.0.1:2380', 'localhost:2381'], '--peer-auto-tls', lg);
    assert.deepEqual(got, {
      certFile: path.join(d, 'cert.pem'),
      keyFile: path.join(d, 'key.pem'),
      trustedCaFile: '',
      clientCertAuth: false,
      selfCert: true,
    });
    assert.deepEqual(logged, ['created cert file', 'created key file']);
    assert.equal(fs.statSync(got.keyFile).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(d).sort(), ['cert.pem', 'key.pem']);
    const x = new X509Certificate(fs.readFileSync(got.certFile));
    assert.equal(x.subjectAltName, 'IP Address:127.0.0.1, DNS:localhost');
    assert.match(x.subject, /O=etcd/);
    const before = fs.readFileSync(got.certFile, 'utf8');
    await selfCert(d, ['127.0.0.1:2380'], '--peer-auto-tls', lg);
    assert.equal(fs.readFileSync(got.certFile, 'utf8'), before);
    assert.equal(logged.length, 2);
    // The pair loads as a server certificate.
    await serverTlsOptions(got, ['h2']);
  });

  test('without openssl the error says what is missing', async () => {
    const d = path.join(dir, 'fixtures', 'none');
    await assert.rejects(selfCert(d, ['127.0.0.1:2379'], '--auto-tls', undefined, path.join(dir, 'no-openssl')), (e: Error) => {
      assert.match(e.message, /^--auto-tls needs the ".*no-openssl" command to generate a self-signed certificate/);
      return true;
    });
    assert.equal(fs.existsSync(path.join(d, 'cert.pem')), false);
  });
});

describe('TLS front', { skip }, () => {
  interface Result {
    data?: string;
    error?: string;
  }

  async function withFront(fn: (port: number, rejected: string[], accepted: tls.TLSSocket[]) => Promise<void>): Promise<void> {
    const options = await serverTlsOptions(
      info({ certFile: f('server.crt'), keyFile: f('server.key'), trustedCaFile: f('ca.crt'), clientCertAuth: true }),
      ['h2'],
    );
    const rejected: string[] = [];
    const accepted: tls.TLSSocket[] = [];
    const front = new SecureListener({ options, onRejected: (_r, _n, why) => rejected.push(why) }, (s) => {
      accepted.push(s);
      s.once('data', (d: Buffer) => s.end(`echo:${d.toString()}`));
    });
    await new Promise<void>((r) => front.server.listen(0, '127.0.0.1', r));
    try {
      await fn((front.server.address() as AddressInfo).port, rejected, accepted);
    } finally {
      front.dropHandshaking();
      for (const s of accepted) s.destroy();
      await new Promise((r) => front.server.close(r));
    }
  }

  function dial(port: number, creds: { cert?: string; key?: string }): Promise<Result> {
    return new Promise((resolve) => {
      const c = tls.connect({
        port,
        host: '127.0.0.1',
        ca: fs.readFileSync(f('ca.crt')),
        cert: creds.cert && fs.readFileSync(f(creds.cert)),
        key: creds.key && fs.readFileSync(f(creds.key)),
        ALPNProtocols: ['h2'],
      });
      let data = '';
      c.on('secureConnect', () => c.write('ping'));
      c.on('data', (d: Buffer) => (data += d.toString()));
      c.on('error', (e) => resolve({ error: e.message }));
      c.on('close', () => resolve({ data }));
    });
  }

  test('trusted clients are handed over; others are refused with the reason', async () => {
    await withFront(async (port, rejected, accepted) => {
      assert.deepEqual(await dial(port, { cert: 'client.crt', key: 'client.key' }), { data: 'echo:ping' });
      assert.equal(accepted.length, 1);
      assert.equal(accepted[0].alpnProtocol, 'h2');

      const none = await dial(port, {});
      assert.notEqual(none.data, 'echo:ping');
      const untrusted = await dial(port, { cert: 'stranger.crt', key: 'stranger.key' });
      assert.notEqual(untrusted.data, 'echo:ping');
      const wrongIp = await dial(port, { cert: 'elsewhere.crt', key: 'elsewhere.key' });
      assert.notEqual(wrongIp.data, 'echo:ping');
      assert.equal(accepted.length, 1);
      assert.deepEqual(rejected, [
        "tls: client didn't provide a certificate",
        'tls: failed to verify client certificate: x509: certificate signed by unknown authority',
        'x509: certificate is valid for 10.1.2.3, not 127.0.0.1',
      ]);
    });
  });

  test('a client that is not speaking TLS is refused', async () => {
    await withFront(async (port, rejected) => {
      const net = await import('node:net');
      await new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
        s.on('error', () => {});
        s.on('close', () => resolve());
      });
      assert.deepEqual(rejected, ['tls: first record does not look like a TLS handshake']);
    });
  });
});
