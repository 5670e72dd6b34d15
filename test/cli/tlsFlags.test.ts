// The TLS flags beyond certificates, as the tsetcd command line reads them: --client-crl-file,
// --client-cert-allowed-hostname, --peer-crl-file, --peer-cert-allowed-cn,
// --peer-cert-allowed-hostname and --cipher-suites from flags, ETCD_* variables and the YAML
// config file (etcd's keys: cipher-suites, and the ClientTLSInfo / PeerTLSInfo structs by Go field
// name, matched case-insensitively), and their --help entries.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadConfigFile, parseArgs, usage } from '../../src/cli/flags.js';

function config(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const r = parseArgs(argv, env);
  if (r.kind !== 'run') throw new Error(`not a run: ${r.kind}`);
  return r.config;
}

test('flags and ETCD_* variables', () => {
  const fromFlags = config([
    '--client-crl-file=/c.crl',
    '--client-cert-allowed-hostname=client.example',
    '--peer-crl-file', '/p.crl',
    '--peer-cert-allowed-cn=member',
    '--peer-cert-allowed-hostname=peer.example',
    '--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  ]);
  assert.equal(fromFlags.clientSecurity.crlFile, '/c.crl');
  assert.equal(fromFlags.clientSecurity.allowedHostname, 'client.example');
  assert.equal(fromFlags.clientSecurity.allowedCn, '');
  assert.equal(fromFlags.peerSecurity.crlFile, '/p.crl');
  assert.equal(fromFlags.peerSecurity.allowedCn, 'member');
  assert.equal(fromFlags.peerSecurity.allowedHostname, 'peer.example');
  assert.deepEqual(fromFlags.cipherSuites, ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256']);

  const fromEnv = config([], {
    ETCD_CLIENT_CRL_FILE: '/c.crl',
    ETCD_PEER_CRL_FILE: '/p.crl',
    ETCD_PEER_CERT_ALLOWED_CN: 'member',
    ETCD_PEER_CERT_ALLOWED_HOSTNAME: 'peer.example',
    ETCD_CLIENT_CERT_ALLOWED_HOSTNAME: 'client.example',
    ETCD_CIPHER_SUITES: 'TLS_AES_128_GCM_SHA256',
  });
  assert.equal(fromEnv.clientSecurity.crlFile, '/c.crl');
  assert.equal(fromEnv.clientSecurity.allowedHostname, 'client.example');
  assert.equal(fromEnv.peerSecurity.crlFile, '/p.crl');
  assert.equal(fromEnv.peerSecurity.allowedCn, 'member');
  assert.equal(fromEnv.peerSecurity.allowedHostname, 'peer.example');
  assert.deepEqual(fromEnv.cipherSuites, ['TLS_AES_128_GCM_SHA256']);

  // Defaults: nothing set; an empty list stays empty. Like etcd's, the list is not trimmed.
  const none = config([]);
  assert.deepEqual([none.cipherSuites, none.peerSecurity.crlFile, none.peerSecurity.allowedCn], [[], '', '']);
  assert.deepEqual(config(['--cipher-suites=']).cipherSuites, []);
  assert.deepEqual(config(['--cipher-suites=A, B']).cipherSuites, ['A', ' B']);
});

test('the config file uses etcd\'s keys', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-tls-flags-'));
  try {
    const file = path.join(dir, 'etcd.yml');
    fs.writeFileSync(file, [
      'cipher-suites:',
      '  - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
      '  - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      'client-transport-security:',
      '  cert-file: /server.crt',
      '  crl-file: /ignored.crl',
      'peer-transport-security:',
      '  client-cert-auth: true',
      // Not a key of etcd's transport-security sections: ignored there.
      '  peer-crl-file: /ignored-too.crl',
      'ClientTLSInfo:',
      '  CRLFile: /c.crl',
      '  AllowedHostname: client.example',
      'peertlsinfo:',
      '  crlfile: /p.crl',
      '  AllowedCN: member',
      '',
    ].join('\n'));
    const cfg = loadConfigFile(file);
    assert.deepEqual(cfg.cipherSuites, ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256']);
    assert.equal(cfg.clientSecurity.certFile, '/server.crt');
    assert.equal(cfg.clientSecurity.crlFile, '/c.crl');
    assert.equal(cfg.clientSecurity.allowedHostname, 'client.example');
    assert.equal(cfg.peerSecurity.clientCertAuth, true);
    assert.equal(cfg.peerSecurity.crlFile, '/p.crl');
    assert.equal(cfg.peerSecurity.allowedCn, 'member');

    fs.writeFileSync(file, 'cipher-suites: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n');
    assert.deepEqual(loadConfigFile(file).cipherSuites, ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--help describes each flag', () => {
  const help = usage();
  for (const [flag, text] of [
    ['--client-crl-file', 'Path to the client certificate revocation list file.'],
    ['--client-cert-allowed-hostname', 'Allowed TLS hostname for client cert authentication.'],
    ['--peer-crl-file', 'Path to the peer certificate revocation list file.'],
    ['--peer-cert-allowed-cn', 'Required CN for client certs connecting to the peer endpoint.'],
    ['--peer-cert-allowed-hostname', 'Allowed TLS hostname for inter peer authentication.'],
    ['--cipher-suites', 'Comma-separated list of supported TLS cipher suites between client/server and peers'],
  ]) {
    assert.ok(help.includes(`  ${flag}\n      ${text}`), `${flag} missing from --help`);
  }
});
