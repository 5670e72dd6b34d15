// End-to-end TLS with the real etcdctl: client TLS with client-certificate authentication on one
// member (certificates required, untrusted ones refused, /health over https), a 3-member cluster
// whose peers talk TLS with peer certificate authentication, --auto-tls / --peer-auto-tls, and
// etcd's start-up errors for unusable certificate settings. Certificates (a CA, a server
// certificate for 127.0.0.1, a client certificate, and one from an unknown CA) are made with
// openssl in a temporary directory; without openssl the tests are skipped.
// E2E_SERVER=etcd runs the same checks against real etcd.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { etcdctl, freePort, parseJsonExact, waitUntil } from '../support/cluster.js';
import { ServerProcess } from '../support/serverProcess.js';


const OPENSSL = spawnSync('openssl', ['version']).status === 0;
const NO_OPENSSL = OPENSSL ? false : 'openssl is not installed: cannot generate test certificates';

let dir = '';
const f = (name: string) => path.join(dir, name);

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${r.stderr}`);
}

/** A P-256 key and a certificate for it signed by `ca` (or self-signed when ca is null). */
function issue(name: string, subject: string, ext: string[], ca: string | null): void {
  fs.writeFileSync(f(`${name}.ext`), ext.join('\n') + '\n');
  const newkey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`];
  if (ca === null) {
    openssl(['req', '-x509', ...newkey, '-out', `${name}.crt`, '-days', '2', '-subj', subject, '-addext', 'basicConstraints=critical,CA:TRUE']);
    return;
  }
  openssl(['req', ...newkey, '-out', `${name}.csr`, '-subj', subject]);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
}

before(() => {
  if (!OPENSSL) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-tls-'));
  issue('ca', '/CN=tsetcd test CA', [], null);
  // Members use one certificate for serving and for dialing peers, so it is good for both.
  issue('server', '/CN=member', [
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'keyUsage=digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth,clientAuth',
  ], 'ca');
  issue('client', '/CN=root', ['keyUsage=digitalSignature', 'extendedKeyUsage=clientAuth'], 'ca');
  issue('other-ca', '/CN=unknown CA', [], null);
  issue('stranger', '/CN=stranger', ['extendedKeyUsage=clientAuth'], 'other-ca');
  issue('alice', '/CN=alice', ['keyUsage=digitalSignature', 'extendedKeyUsage=clientAuth'], 'ca');
});

after(async () => {
  await ServerProcess.stopAll();
  if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
});

// ---- members -------------------------------------------------------------------------------------

class Member extends ServerProcess {
  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
  ) {
    super();
  }
}

interface CertSet {
  ca?: string;
  cert?: string;
  key?: string;
}

const clientCreds = (): CertSet => ({ ca: f('ca.crt'), cert: f('client.crt'), key: f('client.key') });

/** GET `url` over https with the given credentials: the status and body, or the error. */
function httpsGet(url: string, creds: CertSet): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = https.get(
      url,
      {
        agent: false,
        timeout: 2000,
        ca: creds.ca && fs.readFileSync(creds.ca),
        cert: creds.cert && fs.readFileSync(creds.cert),
        key: creds.key && fs.readFileSync(creds.key),
      },
      (res) => {
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', (e) => resolve({ error: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
  });
}

async function waitHealthy(m: Member, creds: CertSet, timeoutMs = 15_000): Promise<void> {
  await waitUntil(
    async () => {
      if (!m.running) throw new Error(`${m.name} exited:\n${m.log.slice(-4000)}`);
      const r = await httpsGet(`https://127.0.0.1:${m.clientPort}/health`, creds);
      return 'status' in r && r.status === 200 && /"health":\s*"true"/.test(r.body);
    },
    timeoutMs,
    () => `${m.name} never became healthy over https:\n${m.log.slice(-4000)}`,
    100,
  );
}

interface Layout {
  root: string;
  members: Member[];
}

async function layout(n: number): Promise<Layout> {
  const root = fs.mkdtempSync(path.join(dir, 'cluster-'));
  const ms: Member[] = [];
  for (let i = 0; i < n; i++) ms.push(new Member(`m${i}`, await freePort(), await freePort(), path.join(root, `m${i}.etcd`)));
  return { root, members: ms };
}

/** The flags of member `m` of `all`, with the given URL schemes. */
function flags(m: Member, all: Member[], clientScheme: string, peerScheme: string, extra: string[]): string[] {
  return [
    `--name=${m.name}`,
    `--data-dir=${m.dataDir}`,
    `--listen-client-urls=${clientScheme}://127.0.0.1:${m.clientPort}`,
    `--advertise-client-urls=${clientScheme}://127.0.0.1:${m.clientPort}`,
    `--listen-peer-urls=${peerScheme}://127.0.0.1:${m.peerPort}`,
    `--initial-advertise-peer-urls=${peerScheme}://127.0.0.1:${m.peerPort}`,
    `--initial-cluster=${all.map((x) => `${x.name}=${peerScheme}://127.0.0.1:${x.peerPort}`).join(',')}`,
    '--initial-cluster-state=new',
    '--initial-cluster-token=tls-e2e',
    '--heartbeat-interval=20',
    '--election-timeout=200',
    '--logger=zap',
    ...extra,
  ];
}

const CLIENT_TLS = () => [`--cert-file=${f('server.crt')}`, `--key-file=${f('server.key')}`];
const CLIENT_CERT_AUTH = () => [...CLIENT_TLS(), `--trusted-ca-file=${f('ca.crt')}`, '--client-cert-auth'];
const PEER_TLS = () => [
  `--peer-cert-file=${f('server.crt')}`,
  `--peer-key-file=${f('server.key')}`,
  `--peer-trusted-ca-file=${f('ca.crt')}`,
  '--peer-client-cert-auth',
];

/** etcdctl over https with the given credentials. */
function ctl(endpoints: string, creds: CertSet, args: string[], timeoutMs = 10_000) {
  const tlsArgs = [
    ...(creds.ca ? [`--cacert=${creds.ca}`] : []),
    ...(creds.cert ? [`--cert=${creds.cert}`] : []),
    ...(creds.key ? [`--key=${creds.key}`] : []),
  ];
  return etcdctl([...tlsArgs, ...args], { endpoints, timeoutMs });
}

const httpsEndpoint = (m: Member) => `https://127.0.0.1:${m.clientPort}`;

/** etcdctl's way to talk TLS without checking the server's certificate (etcd's own docs use it). */
const SKIP_VERIFY = ['--insecure-transport=false', '--insecure-skip-tls-verify'];

/** Runs `fn` with the members started; their logs are added to a failure; always stops them. */
async function withMembers(ms: Member[], fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof Error) e.message += '\n' + ms.map((m) => `--- ${m.name} ---\n${m.log.slice(-3000)}`).join('\n');
    throw e;
  } finally {
    await Promise.all(ms.map((m) => m.stop()));
  }
}

// ---- tests ---------------------------------------------------------------------------------------

describe('client TLS', { skip: NO_OPENSSL }, () => {
  test('etcdctl with certificates puts and gets; clients without a trusted certificate are refused', async () => {
    const { members: [m] } = await layout(1);
    m.start(flags(m, [m], 'https', 'http', CLIENT_CERT_AUTH()));
    await withMembers([m], async () => {
      await waitHealthy(m, clientCreds());
      const ep = httpsEndpoint(m);

      const put = await ctl(ep, clientCreds(), ['put', 'greeting', 'hello over tls']);
      assert.equal(put.code, 0, put.stderr);
      assert.equal(put.stdout, 'OK\n');
      const get = await ctl(ep, clientCreds(), ['get', 'greeting']);
      assert.equal(get.code, 0, get.stderr);
      assert.equal(get.stdout, 'greeting\nhello over tls\n');

      // The member list advertises the https client URL.
      const list = await ctl(ep, clientCreds(), ['member', 'list']);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, new RegExp(`, m0, http://127\\.0\\.0\\.1:${m.peerPort}, ${ep.replace(/\./g, '\\.')}, false`));

      // No client certificate: the handshake is refused, etcdctl gives up.
      const bare = await ctl(ep, { ca: f('ca.crt') }, ['get', 'greeting', '--dial-timeout=1s', '--command-timeout=2s']);
      assert.notEqual(bare.code, 0);
      assert.equal(bare.stdout, '');
      assert.match(bare.stderr, /context deadline exceeded/);
      assert.match(m.log, /rejected connection.*client didn't provide a certificate|client didn't provide a certificate.*rejected connection/);

      // A certificate from a CA the member does not trust is refused too.
      const stranger = await ctl(ep, { ca: f('ca.crt'), cert: f('stranger.crt'), key: f('stranger.key') }, [
        'get', 'greeting', '--dial-timeout=1s', '--command-timeout=2s',
      ]);
      assert.notEqual(stranger.code, 0);
      assert.equal(stranger.stdout, '');
      assert.match(m.log, /certificate signed by unknown authority/);

      // Plain HTTP/2 on the TLS port is not served.
      const plain = await etcdctl(['get', 'greeting', '--dial-timeout=1s', '--command-timeout=2s'], {
        endpoints: `127.0.0.1:${m.clientPort}`,
      });
      assert.notEqual(plain.code, 0);
      assert.match(m.log, /first record does not look like a TLS handshake/);
    });
  });

  test('/health over https needs a client certificate', async () => {
    const { members: [m] } = await layout(1);
    m.start(flags(m, [m], 'https', 'http', CLIENT_CERT_AUTH()));
    await withMembers([m], async () => {
      await waitHealthy(m, clientCreds());
      const ok = await httpsGet(`${httpsEndpoint(m)}/health`, clientCreds());
      assert.ok('status' in ok, JSON.stringify(ok));
      assert.equal(ok.status, 200);
      assert.deepEqual(JSON.parse(ok.body).health, 'true');
      const noCert = await httpsGet(`${httpsEndpoint(m)}/health`, { ca: f('ca.crt') });
      assert.ok('error' in noCert, `served without a client certificate: ${JSON.stringify(noCert)}`);
      // The server's certificate is checked by the client: an unknown CA fails on the client side.
      const wrongCa = await httpsGet(`${httpsEndpoint(m)}/health`, { ...clientCreds(), ca: f('other-ca.crt') });
      assert.ok('error' in wrongCa);
      assert.match(wrongCa.error, /self[- ]signed|unable to (verify|get)/i);
    });
  });

  test('with auth enabled, the client certificate common name is the user when no password is given', async () => {
    const { members: [m] } = await layout(1);
    m.start(flags(m, [m], 'https', 'http', CLIENT_CERT_AUTH()));
    await withMembers([m], async () => {
      await waitHealthy(m, clientCreds());
      const ep = httpsEndpoint(m);
      const root = clientCreds(); // CN=root
      const alice = { ca: f('ca.crt'), cert: f('alice.crt'), key: f('alice.key') };
      const ok = async (creds: CertSet, args: string[], out?: string) => {
        const r = await ctl(ep, creds, args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        if (out !== undefined) assert.equal(r.stdout, out);
      };
      await ok(root, ['user', 'add', 'root:rootpw']);
      await ok(root, ['user', 'grant-role', 'root', 'root']);
      await ok(root, ['user', 'add', 'alice:alicepw']);
      await ok(root, ['role', 'add', 'a-reader']);
      await ok(root, ['role', 'grant-permission', 'a-reader', 'readwrite', 'a', 'b']);
      await ok(root, ['user', 'grant-role', 'alice', 'a-reader']);
      await ok(root, ['auth', 'enable'], 'Authentication Enabled\n');

      // No --user: the certificate names the user (root may do anything, alice only [a, b)).
      await ok(root, ['put', 'zzz', 'by root'], 'OK\n');
      await ok(alice, ['put', 'apple', 'by alice'], 'OK\n');
      await ok(alice, ['get', 'apple', '--print-value-only'], 'by alice\n');
      const denied = await ctl(ep, alice, ['put', 'zzz', 'by alice']);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /etcdserver: permission denied/);
      const deniedRead = await ctl(ep, alice, ['get', 'zzz']);
      assert.match(deniedRead.stderr, /etcdserver: permission denied/);
      // A password wins over the certificate: root's password lets alice's certificate write zzz.
      await ok(alice, ['--user=root:rootpw', 'put', 'zzz', 'as root'], 'OK\n');
      await ok(root, ['get', 'zzz', '--print-value-only'], 'as root\n');
    });
  });

  test('without --client-cert-auth or a trusted CA, TLS clients need no certificate', async () => {
    const { members: [m] } = await layout(1);
    m.start(flags(m, [m], 'https', 'http', CLIENT_TLS()));
    await withMembers([m], async () => {
      await waitHealthy(m, { ca: f('ca.crt') });
      const put = await ctl(httpsEndpoint(m), { ca: f('ca.crt') }, ['put', 'k', 'v']);
      assert.equal(put.code, 0, put.stderr);
      const h1 = await httpsGet(`${httpsEndpoint(m)}/version`, { ca: f('ca.crt') });
      assert.ok('status' in h1 && h1.status === 200, JSON.stringify(h1));
      assert.match((h1 as { body: string }).body, /"etcdserver"/);
    });
  });
});

describe('peer TLS', { skip: NO_OPENSSL }, () => {
  test('a 3-member cluster with peer and client TLS elects a leader and replicates', async () => {
    const { members: ms } = await layout(3);
    for (const m of ms) m.start(flags(m, ms, 'https', 'https', [...CLIENT_CERT_AUTH(), ...PEER_TLS()]));
    await withMembers(ms, async () => {
      await Promise.all(ms.map((m) => waitHealthy(m, clientCreds(), 20_000)));
      const all = ms.map(httpsEndpoint).join(',');

      // One leader, the same for everybody, seen through `endpoint status` on all three.
      const statuses = await waitUntil(
        async () => {
          const r = await ctl(all, clientCreds(), ['endpoint', 'status', '-w', 'json']);
          if (r.code !== 0) return false;
          const rows = parseJsonExact(r.stdout) as { Endpoint: string; Status: { leader: string; header: { member_id: string } } }[];
          const leaders = new Set(rows.map((x) => String(x.Status.leader)));
          return rows.length === 3 && leaders.size === 1 && !leaders.has('0') ? rows : false;
        },
        10_000,
        () => 'the members never agreed on a leader',
        200,
      );
      assert.deepEqual(statuses.map((s) => s.Endpoint).sort(), ms.map(httpsEndpoint).sort());
      const leader = String(statuses[0].Status.leader);
      assert.ok(statuses.some((s) => String(s.Status.header.member_id) === leader));

      // A write on one member is readable from every member's own store (serializable reads).
      const put = await ctl(httpsEndpoint(ms[0]), clientCreds(), ['put', 'replicated', 'over-peer-tls']);
      assert.equal(put.code, 0, put.stderr);
      for (const m of ms) {
        await waitUntil(
          async () => {
            const r = await ctl(httpsEndpoint(m), clientCreds(), ['get', 'replicated', '--consistency=s', '--print-value-only']);
            return r.code === 0 && r.stdout === 'over-peer-tls\n';
          },
          5000,
          () => `${m.name} never saw the write`,
          100,
        );
      }

      // Lease renewals on a follower are forwarded to the leader over the TLS peer port.
      const follower = ms.find((m) => !statuses.some((s) => s.Endpoint === httpsEndpoint(m) && String(s.Status.header.member_id) === leader))!;
      const grant = await ctl(httpsEndpoint(follower), clientCreds(), ['lease', 'grant', '60']);
      assert.equal(grant.code, 0, grant.stderr);
      const leaseId = /lease ([0-9a-f]+) granted/.exec(grant.stdout)![1]!;
      const keep = await ctl(httpsEndpoint(follower), clientCreds(), ['lease', 'keep-alive', '--once', leaseId]);
      assert.equal(keep.code, 0, keep.stderr);
      assert.match(keep.stdout, new RegExp(`lease ${leaseId} keepalived with TTL\\(\\d+\\)`));
      const ttl = await ctl(httpsEndpoint(follower), clientCreds(), ['lease', 'timetolive', leaseId]);
      assert.equal(ttl.code, 0, ttl.stderr);
      assert.match(ttl.stdout, /granted with TTL\(60s\), remaining\(\d+s\)/);

      // The member list shows https peer and client URLs.
      const list = await ctl(all, clientCreds(), ['member', 'list', '-w', 'json']);
      assert.equal(list.code, 0, list.stderr);
      const listed = parseJsonExact(list.stdout).members as { peerURLs: string[]; clientURLs: string[] }[];
      assert.equal(listed.length, 3);
      for (const x of listed) {
        assert.match(x.peerURLs[0], /^https:\/\/127\.0\.0\.1:\d+$/);
        assert.match(x.clientURLs[0], /^https:\/\/127\.0\.0\.1:\d+$/);
      }
    });
  });

  test('a peer without a trusted certificate cannot join the conversation', async () => {
    const { members: ms } = await layout(2);
    const [a, b] = ms;
    a.start(flags(a, ms, 'https', 'https', [...CLIENT_CERT_AUTH(), ...PEER_TLS()]));
    // b dials a with a certificate from a CA that a does not trust.
    b.start(flags(b, ms, 'https', 'https', [
      ...CLIENT_CERT_AUTH(),
      `--peer-cert-file=${f('stranger.crt')}`,
      `--peer-key-file=${f('stranger.key')}`,
      `--peer-trusted-ca-file=${f('ca.crt')}`,
    ]));
    await withMembers(ms, async () => {
      await waitUntil(() => /rejected connection[^\n]*unknown authority|unknown authority[^\n]*rejected connection/.test(a.log), 10_000,
        () => 'the member never refused the untrusted peer', 100);
      // With one of two members cut off there is no quorum: writes cannot commit.
      const r = await ctl(httpsEndpoint(a), clientCreds(), ['put', 'k', 'v', '--command-timeout=2s']);
      assert.notEqual(r.code, 0);
      assert.equal(r.stdout, '');
    });
  });
});

describe('auto TLS', { skip: NO_OPENSSL }, () => {
  test('--auto-tls and --peer-auto-tls: 3 members with generated certificates form a cluster', async () => {
    const { members: ms } = await layout(3);
    for (const m of ms) m.start(flags(m, ms, 'https', 'https', ['--auto-tls', '--peer-auto-tls']));
    await withMembers(ms, async () => {
      const all = ms.map(httpsEndpoint).join(',');
      // endpoint health commits a proposal through each member: peers must reach each other.
      await waitUntil(
        async () => (await etcdctl([...SKIP_VERIFY, 'endpoint', 'health'], { endpoints: all })).code === 0,
        15_000,
        () => 'never healthy with --auto-tls',
        100,
      );
      for (const kind of ['client', 'peer']) {
        const cert = path.join(ms[0].dataDir, 'fixtures', kind, 'cert.pem');
        assert.ok(fs.existsSync(cert), `${cert} missing`);
        assert.equal(fs.statSync(path.join(ms[0].dataDir, 'fixtures', kind, 'key.pem')).mode & 0o777, 0o600);
        const text = spawnSync('openssl', ['x509', '-in', cert, '-noout', '-text'], { encoding: 'utf8' }).stdout;
        assert.match(text, /IP Address:127\.0\.0\.1/);
      }
      const put = await etcdctl([...SKIP_VERIFY, 'put', 'auto', 'tls'], { endpoints: httpsEndpoint(ms[0]) });
      assert.equal(put.code, 0, put.stderr);
      await waitUntil(
        async () => {
          const r = await etcdctl([...SKIP_VERIFY, 'get', 'auto', '--consistency=s', '--print-value-only'], {
            endpoints: httpsEndpoint(ms[2]),
          });
          return r.code === 0 && r.stdout === 'tls\n';
        },
        5000,
        () => 'the write never reached m2',
        100,
      );
      // Without skipping verification the self-signed certificate is not trusted.
      const strict = await etcdctl(['get', 'auto', '--dial-timeout=1s', '--command-timeout=2s'], { endpoints: httpsEndpoint(ms[0]) });
      assert.notEqual(strict.code, 0);
    });
  });
});

/** Starts a member with `extra` flags and schemes; it must exit non-zero, printing `expected`. */
async function failsWith(clientScheme: string, peerScheme: string, extra: string[], expected: RegExp): Promise<void> {
  const { members: [m] } = await layout(1);
  m.start(flags(m, [m], clientScheme, peerScheme, extra));
  let code: number | null = null;
  await withMembers([m], async () => {
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref());
    const out = await Promise.race([m.exited, timeout]);
    assert.notEqual(out, 'timeout', `still running:\n${m.log}`);
    code = out as number | null;
  });
  assert.notEqual(code, 0);
  assert.match(m.log, expected);
}

describe('start-up errors', { skip: NO_OPENSSL }, () => {
  test('a missing certificate file', async () => {
    await failsWith('https', 'http', [`--cert-file=${f('nope.crt')}`, `--key-file=${f('server.key')}`],
      new RegExp(`open ${f('nope.crt').replace(/[.]/g, '\\.')}: no such file or directory`));
  });

  test('a missing peer key file', async () => {
    await failsWith('http', 'https', [`--peer-cert-file=${f('server.crt')}`, `--peer-key-file=${f('nope.key')}`],
      new RegExp(`open ${f('nope.key').replace(/[.]/g, '\\.')}: no such file or directory`));
  });

  test('a missing trusted CA file', async () => {
    await failsWith('https', 'http', [...CLIENT_TLS(), `--trusted-ca-file=${f('nope-ca.crt')}`],
      new RegExp(`open ${f('nope-ca.crt').replace(/[.]/g, '\\.')}: no such file or directory`));
  });

  test('certificate and key swapped', async () => {
    await failsWith('https', 'http', [`--cert-file=${f('server.key')}`, `--key-file=${f('server.crt')}`],
      /tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched/);
  });

  test('an https client URL without certificates', async () => {
    await failsWith('https', 'http', [],
      /TLS key\/cert \(--cert-file, --key-file\) must be provided for client url https:\/\/127\.0\.0\.1:\d+ with HTTPS scheme/);
  });

  test('an https peer URL without certificates', async () => {
    await failsWith('http', 'https', [], /cannot listen on TLS for 127\.0\.0\.1:\d+: KeyFile and CertFile are not presented/);
  });
});

describe('metrics TLS', { skip: NO_OPENSSL }, () => {
  test('https --listen-metrics-urls are served with the client TLS settings, client certificates included', async () => {
    const { members: [m] } = await layout(1);
    const metricsPort = await freePort();
    const metrics = `https://127.0.0.1:${metricsPort}`;
    m.start(flags(m, [m], 'https', 'http', [...CLIENT_CERT_AUTH(), `--listen-metrics-urls=${metrics}`]));
    await withMembers([m], async () => {
      await waitHealthy(m, clientCreds());
      const scrape = await httpsGet(`${metrics}/metrics`, clientCreds());
      assert.ok('status' in scrape, JSON.stringify(scrape));
      assert.equal(scrape.status, 200);
      assert.match(scrape.body, /^etcd_server_has_leader 1$/m);
      const health = await httpsGet(`${metrics}/health`, clientCreds());
      assert.ok('status' in health && health.status === 200, JSON.stringify(health));
      assert.equal(JSON.parse(health.body).health, 'true');
      // --client-cert-auth applies here too: no certificate, no metrics.
      const noCert = await httpsGet(`${metrics}/metrics`, { ca: f('ca.crt') });
      assert.ok('error' in noCert, `served without a client certificate: ${JSON.stringify(noCert)}`);
      // Plain HTTP on the https metrics port is refused.
      const plain = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.status, (e: Error) => e.message);
      assert.equal(typeof plain, 'string', `served plain http: ${plain}`);
    });
  });

  test('an https metrics URL without client certificates stops start-up', async () => {
    const port = await freePort();
    await failsWith('http', 'http', [`--listen-metrics-urls=https://127.0.0.1:${port}`],
      new RegExp(`cannot listen on TLS for 127\\.0\\.0\\.1:${port}: KeyFile and CertFile are not presented`));
  });
});
