// The checks etcd makes on a peer's certificate beyond chain verification: the SANs of a client
// certificate must name the connection's remote address (checkCertSAN), the certificate must carry
// the allowed CN or be valid for the allowed hostname (--peer-cert-allowed-cn,
// --peer-cert-allowed-hostname; also applied by the dialing side to the server's certificate), and
// no certificate presented may be revoked by the CRL (--client-crl-file, --peer-crl-file).

import type { X509Certificate } from 'node:crypto';
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { DetailedPeerCertificate, PeerCertificate } from 'node:tls';
import { type RevokedSerials, serialKey } from './crl.js';

/** Strips the IPv4-mapped IPv6 prefix a dual-stack listener reports for IPv4 peers. */
function plainAddress(addr: string): string {
  return addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
}

/**
 * etcd's checkCertSAN: a client certificate that lists SANs must name the connection's remote
 * address, either as an IP SAN or as a DNS SAN resolving to it. Gives the reason for refusing, or
 * null to accept; a promise only when DNS names must be resolved. Certificates without SANs pass.
 */
export function checkCertSan(cert: X509Certificate, remoteAddress: string): string | null | Promise<string | null> {
  const san = cert.subjectAltName;
  if (san === undefined || san === '') return null;
  const ips: string[] = [];
  const names: string[] = [];
  for (const entry of san.split(', ')) {
    if (entry.startsWith('IP Address:')) ips.push(entry.slice(11));
    else if (entry.startsWith('DNS:')) names.push(entry.slice(4));
  }
  if (ips.length === 0 && names.length === 0) return null;
  const host = plainAddress(remoteAddress);
  if (ips.length > 0) {
    if (isIP(host) !== 0 && cert.checkIP(host) !== undefined) return null;
    if (names.length === 0) return `x509: certificate is valid for ${ips.join(', ')}, not ${host}`;
  }
  return resolvesTo(names, host);
}

async function resolvesTo(names: string[], host: string): Promise<string | null> {
  for (const name of names) {
    try {
      const addrs = await dns.lookup(name, { all: true });
      if (addrs.some((a) => a.address === host)) return null;
    } catch {
      // an unresolvable name simply does not match
    }
  }
  return `tls: "${host}" does not match any of DNSNames [${names.map((n) => JSON.stringify(n)).join(' ')}]`;
}

/** Who may connect: a certificate CN, or a hostname the certificate must be valid for. */
export interface AllowedIdentity {
  cn: string;
  hostname: string;
}

/** etcd's words when the certificate is not the allowed one (whichever side checks it). */
export const IDENTITY_REFUSED = 'client certificate authentication failed';

/**
 * Whether a verified certificate is the allowed one: its subject CN (the last one, as Go reads
 * it) equals `cn`, or it is valid for `hostname` by its SANs alone (Go's VerifyHostname: IP SANs
 * for an address, DNS SANs with whole-label wildcards for a name; the CN is not consulted).
 */
export function identityAllowed(allowed: AllowedIdentity, subject: PeerCertificate['subject'] | undefined, x509: () => X509Certificate): boolean {
  if (allowed.cn !== '') {
    const cn = subject?.CN as string | string[] | undefined;
    const last = Array.isArray(cn) ? cn[cn.length - 1] : cn;
    return last === allowed.cn;
  }
  if (allowed.hostname === '') return true;
  let h = allowed.hostname;
  if (h.length >= 3 && h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  const cert = x509();
  if (isIP(h) !== 0) return cert.checkIP(h) !== undefined;
  return cert.checkHost(allowed.hostname, { subject: 'never', partialWildcards: false }) !== undefined;
}

/**
 * etcd's checkCRL: refuses when any certificate of the peer's chain has a revoked serial. `state`
 * is the CRL's serials, or the error reading it (then every peer with a certificate is refused,
 * as in etcd). A peer without a certificate is not checked.
 */
export function revocationReason(state: RevokedSerials | string, chain: DetailedPeerCertificate | undefined): string | null {
  const serials: string[] = [];
  const seen = new Set<DetailedPeerCertificate>();
  for (let c = chain; c !== undefined && c !== null && !seen.has(c); c = c.issuerCertificate) {
    seen.add(c);
    if (typeof c.serialNumber === 'string' && c.serialNumber !== '') serials.push(serialKey(c.serialNumber));
  }
  if (serials.length === 0) return null;
  if (typeof state === 'string') return state;
  const revoked = serials.find((s) => state.has(s));
  return revoked === undefined ? null : `transport: certificate serial ${revoked} revoked`;
}
