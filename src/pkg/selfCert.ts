// Self-signed certificates for --auto-tls / --peer-auto-tls (etcd's transport.SelfCert): a
// certificate and key in `<dir>/cert.pem` and `<dir>/key.pem`, valid a year for the listeners'
// hosts, reused when both files already exist. Node cannot issue X.509 certificates itself, so
// the `openssl` command does it; without it start-up fails with a clear message.

import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { isIP } from 'node:net';
import * as path from 'node:path';
import type { TlsInfo } from './tls.js';

export interface SelfCertLogger {
  info(fields: Record<string, unknown>, msg: string): void;
}

export class SelfCertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelfCertError';
  }
}

async function bothExist(a: string, b: string): Promise<boolean> {
  try {
    await Promise.all([fs.access(a), fs.access(b)]);
    return true;
  } catch {
    return false;
  }
}

/** `host:port` (or a bare host, `[v6]:port`) to the SAN entry etcd puts in the certificate. */
export function sanOf(hostPort: string): string {
  let host = hostPort;
  const bracket = /^\[([^\]]+)\](?::\d*)?$/.exec(hostPort);
  if (bracket) host = bracket[1];
  else if (hostPort.lastIndexOf(':') > 0 && hostPort.indexOf(':') === hostPort.lastIndexOf(':')) {
    host = hostPort.slice(0, hostPort.lastIndexOf(':'));
  }
  return isIP(host) !== 0 ? `IP:${host}` : `DNS:${host}`;
}

function run(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err === null) resolve();
      else reject(Object.assign(err, { stderr: String(stderr) }));
    });
  });
}

/**
 * Returns TLS info for a self-signed certificate in `dir` covering `hosts` (`host:port` each),
 * creating it first if needed. `flag` names the option in error messages (--auto-tls ...).
 */
export async function selfCert(
  dir: string,
  hosts: string[],
  flag: string,
  lg?: SelfCertLogger,
  opensslBin = 'openssl',
): Promise<TlsInfo> {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const info: TlsInfo = { certFile, keyFile, trustedCaFile: '', clientCertAuth: false, selfCert: true };
  if (await bothExist(certFile, keyFile)) return info;
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const sans = [...new Set(hosts.map(sanOf))];
  // A private config keeps the result independent of the system's openssl.cnf.
  const cnf = path.join(dir, `openssl-${process.pid}.cnf`);
  await fs.writeFile(
    cnf,
    [
      '[req]',
      'distinguished_name = dn',
      'x509_extensions = ext',
      'prompt = no',
      '[dn]',
      'O = etcd',
      '[ext]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = digitalSignature,keyEncipherment',
      // Peers present the same certificate when dialing, so it must be good for clients too.
      'extendedKeyUsage = serverAuth,clientAuth',
      ...(sans.length > 0 ? [`subjectAltName = ${sans.join(',')}`] : []),
      '',
    ].join('\n'),
  );
  try {
    await run(opensslBin, [
      'req', '-x509', '-config', cnf, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521', '-nodes',
      '-days', '365', '-keyout', keyFile, '-out', certFile,
    ]);
  } catch (e) {
    await Promise.all([fs.rm(certFile, { force: true }), fs.rm(keyFile, { force: true })]);
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') {
      throw new SelfCertError(
        `${flag} needs the "${opensslBin}" command to generate a self-signed certificate, and it was not found; ` +
          'install openssl or give the certificate and key files instead',
      );
    }
    throw new SelfCertError(`${flag}: generating a self-signed certificate failed: ${(err.stderr ?? err.message).trim()}`);
  } finally {
    await fs.rm(cnf, { force: true });
  }
  await fs.chmod(keyFile, 0o600);
  lg?.info({ path: certFile }, 'created cert file');
  lg?.info({ path: keyFile }, 'created key file');
  return info;
}
