// End-to-end: the TLS behaviours beyond plain certificates, on real member processes with the real
// etcdctl. Certificate files rotated while a member runs are served to new client and peer
// connections; --cipher-suites restricts TLS 1.2; a YAML config file's cipher-suites list,
// ClientTLSInfo.CRLFile and PeerTLSInfo.AllowedCN / CRLFile refuse revoked and foreign
// certificates; unknown cipher suites and contradictory settings stop start-up with etcd's words.
// E2E_SERVER=etcd runs the same checks against real etcd.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { etcdctl, freePort, waitUntil } from '../support/cluster.js';
import { ServerProcess } from '../support/serverProcess.js';
import { type CertDir, CLIENT_EXT, commonCerts, NO_OPENSSL } from '../support/certs.js';


let certs: CertDir;
const f = (n: string) => certs.path(n);

before(() => {
  if (NO_OPENSSL) return;
  certs = commonCerts('tsetcd-tls-rotate-');
  certs.issue('revoked-peer', '/CN=member', 'ca', CLIENT_EXT);
});

after(async () => {
  await ServerProcess.stopAll();
  certs?.remove();
});

class Member extends ServerProcess {
  readonly dataDir: string;

  constructor(
    readonly clientPort: number,
    readonly peerPort: number,
  ) {
    super();
    this.dataDir = fs.mkdtempSync(path.join(certs.dir, 'member-'));
  }

  static async create(): Promise<Member> {
    return new Member(await freePort(), await freePort());
  }

  /** Flags of a one-member cluster with https client and peer URLs. */
  urlFlags(): string[] {
    const peer = `https://127.0.0.1:${this.peerPort}`;
    return [
      '--name=m0',
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${this.clientUrl}`,
      `--advertise-client-urls=${this.clientUrl}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=m0=${peer}`,
      '--logger=zap',
    ];
  }

  get clientUrl(): string {
    return `https://127.0.0.1:${this.clientPort}`;
  }

  /** Log lines saying a connection was rejected for `reason`. */
  rejected(reason: string): string[] {
    return this.log.split('\n').filter((l) => l.includes('rejected connection') && l.includes(reason));
  }
}

const creds = (name: string) => ({ ca: fs.readFileSync(f('ca.crt')), cert: fs.readFileSync(f(`${name}.crt`)), key: fs.readFileSync(f(`${name}.key`)) });

/** The CN of the certificate the server on `port` presents to a new connection, or the error. */
function servedCn(port: number, o: tls.ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve) => {
    const c = tls.connect({ port, host: '127.0.0.1', ...creds('peer'), ALPNProtocols: ['h2'], ...o });
    c.on('secureConnect', () => {
      resolve(String(c.getPeerCertificate().subject.CN));
      c.destroy();
    });
    c.on('error', (e) => resolve(`error: ${e.message}`));
  });
}

function healthy(m: Member, cert = 'client'): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(`${m.clientUrl}/health`, { ...creds(cert), agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(body)));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function waitHealthy(m: Member): Promise<void> {
  await waitUntil(
    async () => {
      if (!m.running) throw new Error(`member exited:\n${m.log.slice(-4000)}`);
      return healthy(m);
    },
    15_000,
    () => `never healthy over https:\n${m.log.slice(-4000)}`,
    100,
  );
}

/**
 * Whether the member's peer port keeps a TLS connection with the given certificate: refusals
 * close it right after the handshake, an accepted one waits for the peer's first request.
 */
function peerAccepts(m: Member, cert: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = tls.connect({ port: m.peerPort, host: '127.0.0.1', ...creds(cert), ALPNProtocols: ['h2'] });
    let timer: NodeJS.Timeout | undefined;
    const done = (v: boolean) => {
      clearTimeout(timer);
      c.destroy();
      resolve(v);
    };
    c.on('secureConnect', () => (timer = setTimeout(() => done(true), 500)));
    c.on('data', () => {});
    c.on('error', () => done(false));
    c.on('close', () => done(false));
  });
}

function ctl(m: Member, cert: string, args: string[]) {
  return etcdctl([`--cacert=${f('ca.crt')}`, `--cert=${f(`${cert}.crt`)}`, `--key=${f(`${cert}.key`)}`, '--dial-timeout=2s', '--command-timeout=3s', ...args], {
    endpoints: m.clientUrl,
  });
}

/** Runs `fn`, adding the member's log to a failure; always stops the member. */
async function withMember(m: Member, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof Error) e.message += `\n--- member log ---\n${m.log.slice(-4000)}`;
    throw e;
  } finally {
    await m.stop();
  }
}

function replace(from: string, to: string): void {
  fs.copyFileSync(from, `${to}.tmp`);
  fs.renameSync(`${to}.tmp`, to);
}

describe('certificate rotation and cipher suites', { skip: NO_OPENSSL }, () => {
  test('rotated client and peer certificate files are served to new connections', async () => {
    for (const kind of ['client', 'peer']) for (const n of ['crt', 'key']) fs.copyFileSync(f(`server.${n}`), f(`live-${kind}.${n}`));
    const m = await Member.create();
    m.start([
      ...m.urlFlags(),
      `--cert-file=${f('live-client.crt')}`, `--key-file=${f('live-client.key')}`, `--trusted-ca-file=${f('ca.crt')}`, '--client-cert-auth',
      `--peer-cert-file=${f('live-peer.crt')}`, `--peer-key-file=${f('live-peer.key')}`, `--peer-trusted-ca-file=${f('ca.crt')}`, '--peer-client-cert-auth',
      '--cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    ]);
    await withMember(m, async () => {
      await waitHealthy(m);
      const put = await ctl(m, 'client', ['put', 'k', 'before rotation']);
      assert.equal(put.code, 0, put.stderr);
      assert.equal(await servedCn(m.clientPort), 'member');
      assert.equal(await servedCn(m.peerPort), 'member');

      replace(f('server2.key'), f('live-client.key'));
      replace(f('server2.crt'), f('live-client.crt'));
      assert.equal(await servedCn(m.clientPort), 'member2');
      assert.equal(await servedCn(m.peerPort), 'member', 'the peer files did not change');
      const get = await ctl(m, 'client', ['get', 'k', '--print-value-only']);
      assert.equal(get.code, 0, get.stderr);
      assert.equal(get.stdout, 'before rotation\n');

      replace(f('server2.key'), f('live-peer.key'));
      replace(f('server2.crt'), f('live-peer.crt'));
      assert.equal(await servedCn(m.peerPort), 'member2');
      assert.equal(await peerAccepts(m, 'peer'), true);

      // TLS 1.2 is limited to the listed suites (TLS 1.3 suites are not configurable, as in Go).
      const v12 = { maxVersion: 'TLSv1.2' } as const;
      assert.equal(await servedCn(m.clientPort, { ...v12, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }), 'member2');
      assert.match(await servedCn(m.clientPort, { ...v12, ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' }), /^error: .*handshake failure/);
      await waitUntil(() => m.rejected('tls: no cipher suite supported by both client and server').length > 0, 5000,
        () => 'the cipher mismatch was not logged', 50);
    });
  });
});

describe('revocation and allowed peers', { skip: NO_OPENSSL }, () => {
  test('a config file with CRLs, the allowed peer CN and cipher suites refuses what it should', async () => {
    const crl = certs.crl('ca', ['revoked', 'revoked-peer']);
    const m = await Member.create();
    const peer = `https://127.0.0.1:${m.peerPort}`;
    const config = path.join(m.dataDir, '..', `${path.basename(m.dataDir)}.yml`);
    fs.writeFileSync(config, [
      'name: m0',
      `data-dir: ${m.dataDir}`,
      `listen-client-urls: ${m.clientUrl}`,
      `advertise-client-urls: ${m.clientUrl}`,
      `listen-peer-urls: ${peer}`,
      `initial-advertise-peer-urls: ${peer}`,
      `initial-cluster: m0=${peer}`,
      'logger: zap',
      'cipher-suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]',
      'client-transport-security:',
      `  cert-file: ${f('server.crt')}`,
      `  key-file: ${f('server.key')}`,
      `  trusted-ca-file: ${f('ca.crt')}`,
      '  client-cert-auth: true',
      'peer-transport-security:',
      `  cert-file: ${f('server.crt')}`,
      `  key-file: ${f('server.key')}`,
      `  trusted-ca-file: ${f('ca.crt')}`,
      '  client-cert-auth: true',
      'ClientTLSInfo:',
      `  CRLFile: ${crl}`,
      'PeerTLSInfo:',
      '  AllowedCN: member',
      `  CRLFile: ${crl}`,
      '',
    ].join('\n'));
    m.start([`--config-file=${config}`]);
    await withMember(m, async () => {
      await waitHealthy(m);
      assert.match(m.log, /"cipher-suites":\["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256","TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"\]/);
      assert.match(m.log, new RegExp(`crl-file = ${crl.replace(/[.]/g, '\\.')}`));

      const ok = await ctl(m, 'client', ['put', 'k', 'v']);
      assert.equal(ok.code, 0, ok.stderr);
      const revoked = await ctl(m, 'revoked', ['put', 'k', 'v']);
      assert.notEqual(revoked.code, 0);
      assert.equal(revoked.stdout, '');
      await waitUntil(() => m.rejected(`transport: certificate serial ${certs.serial('revoked')} revoked`).length > 0, 5000,
        () => 'the revoked client certificate was not refused', 50);

      // Peers: the allowed CN and not revoked.
      assert.equal(await peerAccepts(m, 'peer'), true);
      assert.equal(await peerAccepts(m, 'client'), false);
      await waitUntil(() => m.rejected('client certificate authentication failed').length > 0, 5000,
        () => 'the peer with another CN was not refused', 50);
      assert.equal(await peerAccepts(m, 'revoked-peer'), false);
      await waitUntil(() => m.rejected(`transport: certificate serial ${certs.serial('revoked-peer')} revoked`).length > 0, 5000,
        () => 'the revoked peer certificate was not refused', 50);
    });
  });
});

describe('start-up errors', { skip: NO_OPENSSL }, () => {
  async function failsWith(args: (m: Member) => string[], env: NodeJS.ProcessEnv, expected: RegExp): Promise<void> {
    const m = await Member.create();
    m.start(args(m), env);
    await withMember(m, async () => {
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref());
      const code = await Promise.race([m.exited, timeout]);
      assert.notEqual(code, 'timeout', 'still running');
      assert.notEqual(code, 0);
      assert.match(m.log, expected);
    });
  }

  const clientTls = () => [`--cert-file=${f('server.crt')}`, `--key-file=${f('server.key')}`];
  const peerTls = () => [`--peer-cert-file=${f('server.crt')}`, `--peer-key-file=${f('server.key')}`];

  test('an unknown cipher suite (from ETCD_CIPHER_SUITES)', async () => {
    await failsWith((m) => [...m.urlFlags(), ...clientTls(), ...peerTls()], { ETCD_CIPHER_SUITES: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_BOGUS' },
      /unexpected TLS cipher suite \\?"TLS_BOGUS\\?"/);
  });

  test('client cipher suites HTTP/2 cannot use', async () => {
    await failsWith((m) => [...m.urlFlags(), ...clientTls(), ...peerTls(), '--cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'], {},
      /http2: TLSConfig.CipherSuites is missing an HTTP\/2-required AES_128_GCM_SHA256 cipher/);
  });

  test('both an allowed peer CN and an allowed peer hostname', async () => {
    await failsWith((m) => [...m.urlFlags(), ...clientTls(), ...peerTls(), '--peer-cert-allowed-cn=member', '--peer-cert-allowed-hostname=localhost'], {},
      /AllowedCN and AllowedHostname are mutually exclusive \(cn=\\?"member\\?", hostname=\\?"localhost\\?"\)/);
  });
});
