// Test certificates made with the openssl command in a fresh temporary directory: self-signed CAs,
// certificates they issue (P-256 keys, chosen subject and extensions), and CRLs revoking some of
// them. Without openssl, NO_OPENSSL is the reason to skip (else false).
//
//   const certs = new CertDir('tsetcd-x-');
//   certs.ca('ca', '/CN=test CA');
//   certs.issue('server', '/CN=member', 'ca', ['subjectAltName=IP:127.0.0.1']);
//   const crl = certs.crl('ca', ['server']);   // a PEM CRL revoking server.crt
//   certs.remove();

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const NO_OPENSSL: false | string =
  spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is not installed: cannot generate test certificates';

/** Extensions of a certificate both serving and dialing (members use one for both). */
export const SERVER_EXT = [
  'subjectAltName=IP:127.0.0.1,DNS:localhost',
  'keyUsage=digitalSignature,keyEncipherment',
  'extendedKeyUsage=serverAuth,clientAuth',
];
/** Extensions of a client-only certificate. */
export const CLIENT_EXT = ['keyUsage=digitalSignature', 'extendedKeyUsage=clientAuth'];

export class CertDir {
  readonly dir: string;

  constructor(prefix = 'tsetcd-certs-') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }

  /** `<dir>/<name>`; certificates are `<name>.crt` with key `<name>.key`. */
  path(name: string): string {
    return path.join(this.dir, name);
  }

  private openssl(args: string[]): void {
    const r = spawnSync('openssl', args, { cwd: this.dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${r.stderr}`);
  }

  /** A self-signed CA certificate `<name>.crt` and its key. */
  ca(name: string, subject: string): void {
    this.openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`,
      '-out', `${name}.crt`, '-days', '2', '-subj', subject, '-addext', 'basicConstraints=critical,CA:TRUE']);
  }

  /** A certificate `<name>.crt` (key `<name>.key`) for `subject`, issued by the CA `ca`. */
  issue(name: string, subject: string, ca: string, ext: string[]): void {
    fs.writeFileSync(this.path(`${name}.ext`), ext.join('\n') + '\n');
    this.openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`,
      '-out', `${name}.csr`, '-subj', subject]);
    this.openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
      '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
  }

  /** A PEM CRL `<ca>-<n>.crl` signed by `ca`, revoking the named certificates; returns its path. */
  crl(ca: string, revoked: string[]): string {
    const db = fs.mkdtempSync(path.join(this.dir, `${ca}-db-`));
    fs.writeFileSync(path.join(db, 'index.txt'), '');
    fs.writeFileSync(path.join(db, 'crlnumber'), '01\n');
    const cnf = path.join(db, 'ca.cnf');
    fs.writeFileSync(cnf, [
      '[ca]', 'default_ca = test', '[test]', `database = ${path.join(db, 'index.txt')}`,
      `crlnumber = ${path.join(db, 'crlnumber')}`, 'default_md = sha256', 'default_crl_days = 2', '',
    ].join('\n'));
    const ca2 = ['-config', cnf, '-cert', `${ca}.crt`, '-keyfile', `${ca}.key`];
    for (const r of revoked) this.openssl(['ca', ...ca2, '-revoke', `${r}.crt`]);
    const out = `${path.basename(db)}.crl`;
    this.openssl(['ca', ...ca2, '-gencrl', '-out', out]);
    return this.path(out);
  }

  /** The certificate's serial, lowercase hex without leading zero bytes (as etcd prints it). */
  serial(name: string): string {
    const r = spawnSync('openssl', ['x509', '-in', `${name}.crt`, '-noout', '-serial'], { cwd: this.dir, encoding: 'utf8' });
    return r.stdout.trim().replace(/^serial=/, '').toLowerCase().replace(/^(00)+(?=..)/, '');
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The set the TLS tests share: CA `ca`, member certificates `server` (CN member) and `server2`
 * (CN member2), client certificates `client` and `revoked` (CN root), and `peer` (CN member,
 * client-only). Tests issue their extras on the returned directory.
 */
export function commonCerts(prefix: string): CertDir {
  const certs = new CertDir(prefix);
  certs.ca('ca', '/CN=test CA');
  certs.issue('server', '/CN=member', 'ca', SERVER_EXT);
  certs.issue('server2', '/CN=member2', 'ca', SERVER_EXT);
  certs.issue('client', '/CN=root', 'ca', CLIENT_EXT);
  certs.issue('revoked', '/CN=root', 'ca', CLIENT_EXT);
  certs.issue('peer', '/CN=member', 'ca', CLIENT_EXT);
  return certs;
}
