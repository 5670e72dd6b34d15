// Transport security for startEtcd (etcd's embed configurePeerListeners / configureClientListeners
// TLS part): --cipher-suites, --auto-tls certificates, the https-without-certificates errors and
// http-with-certificates warnings etcd gives, and the TLS options for the client listeners, the
// peer listeners and the peer client. One live TlsSource per transport backs its listeners and
// dialer, so rotated certificate files are picked up by new connections on both sides. Runs
// before the server bootstraps, so a bad path stops start-up.

import * as path from 'node:path';
import type { SecureClientSessionOptions } from 'node:http2';
import { selfCert } from '../pkg/selfCert.js';
import { describeTlsInfo, type TlsInfo, tlsInfoEmpty, TlsSource } from '../pkg/tls.js';
import { http2CipherProblem, unknownCipherSuite } from '../pkg/tlsCiphers.js';
import type { SecureListenOptions } from '../pkg/tlsListener.js';
import type { ServerLogger } from '../server/config.js';
import { ConfigError, type EtcdConfig, type TransportSecurity, effectiveDataDir, urlString } from './config.js';

export interface Security {
  /** For https client URLs; undefined when every client URL is http. */
  client?: SecureListenOptions;
  /** For https peer URLs; undefined when every listen peer URL is http. */
  peerServer?: SecureListenOptions;
  /** For dialing https peer URLs (our certificate as the client certificate, the trusted CA). */
  peerClient: SecureClientSessionOptions;
  /** For https metrics URLs: the client TLS settings, HTTP/1.1 only; undefined when all are http. */
  metrics?: SecureListenOptions;
}

const secure = (u: URL) => u.protocol === 'https:' || u.protocol === 'unixs:';

function infoOf(s: TransportSecurity): TlsInfo {
  return {
    certFile: s.certFile,
    keyFile: s.keyFile,
    trustedCaFile: s.trustedCaFile,
    clientCertAuth: s.clientCertAuth,
    crlFile: s.crlFile,
    allowedCn: s.allowedCn,
    allowedHostname: s.allowedHostname,
  };
}

/**
 * --auto-tls / --peer-auto-tls: a self-signed certificate under `<data-dir>/fixtures/<kind>`. As in
 * etcd, the generated info replaces the given one (CRL and allowed identity included).
 */
async function autoTls(
  cfg: EtcdConfig,
  kind: 'client' | 'peer',
  info: TlsInfo,
  urls: URL[],
  lg: ServerLogger,
): Promise<TlsInfo> {
  const s = kind === 'client' ? cfg.clientSecurity : cfg.peerSecurity;
  if (!s.autoTls) return info;
  if (!tlsInfoEmpty(info)) {
    lg.warn({}, `ignoring ${kind} auto TLS since certs given`);
    return info;
  }
  const dir = path.join(effectiveDataDir(cfg), 'fixtures', kind);
  const flag = kind === 'client' ? '--auto-tls' : '--peer-auto-tls';
  return selfCert(dir, urls.map((u) => u.host), flag, lg);
}

function rejectedLogger(lg: ServerLogger) {
  return (remoteAddr: string, serverName: string, reason: string) =>
    lg.warn({ 'remote-addr': remoteAddr, 'server-name': serverName, error: reason }, 'rejected connection');
}

/**
 * Resolves and loads the TLS settings of both transports. Throws ConfigError for https URLs
 * without certificates, and the file errors (etcd's texts) for unusable files.
 */
export async function configureSecurity(cfg: EtcdConfig, lg: ServerLogger): Promise<Security> {
  const out: Security = { peerClient: {} };
  const unknown = unknownCipherSuite(cfg.cipherSuites);
  if (unknown !== null) throw new ConfigError(unknown);
  const cipherSuites = cfg.cipherSuites;

  const peer = { ...(await autoTls(cfg, 'peer', infoOf(cfg.peerSecurity), cfg.listenPeerUrls, lg)), cipherSuites };
  if (!tlsInfoEmpty(peer)) lg.info({ 'tls-info': describeTlsInfo(peer), 'cipher-suites': cipherSuites }, 'starting with peer TLS');
  for (const u of cfg.listenPeerUrls) {
    if (secure(u)) {
      if (tlsInfoEmpty(peer)) throw new ConfigError(`cannot listen on TLS for ${u.host}: KeyFile and CertFile are not presented`);
      continue;
    }
    if (!tlsInfoEmpty(peer)) {
      lg.warn({ 'peer-url': urlString(u) }, 'scheme is HTTP while key and cert files are present; ignoring key and cert files');
    }
    if (peer.clientCertAuth) {
      lg.warn({ 'peer-url': urlString(u) }, 'scheme is HTTP while --peer-client-cert-auth is enabled; ignoring client cert auth for this URL');
    }
  }
  const peerSource = await TlsSource.load(peer, lg);
  if (cfg.listenPeerUrls.some(secure)) {
    out.peerServer = {
      options: peerSource.serverOptions(['h2']),
      source: peerSource,
      onRejected: rejectedLogger(lg),
      skipClientSanVerify: cfg.experimentalPeerSkipClientSanVerification,
    };
  }
  out.peerClient = peerSource.clientOptions() as SecureClientSessionOptions;

  const client = { ...(await autoTls(cfg, 'client', infoOf(cfg.clientSecurity), cfg.listenClientUrls, lg)), cipherSuites };
  for (const u of cfg.listenClientUrls) {
    if (secure(u)) {
      if (tlsInfoEmpty(client)) {
        throw new ConfigError(
          `TLS key/cert (--cert-file, --key-file) must be provided for client url ${urlString(u)} with HTTPS scheme`,
        );
      }
      continue;
    }
    if (!tlsInfoEmpty(client)) {
      lg.warn({ 'client-url': urlString(u) }, 'scheme is HTTP while key and cert files are present; ignoring key and cert files');
    }
    if (client.clientCertAuth) {
      lg.warn({ 'client-url': urlString(u) }, 'scheme is HTTP while --client-cert-auth is enabled; ignoring client cert auth for this URL');
    }
  }
  const secureClients = cfg.listenClientUrls.some(secure);
  // etcd serves https metrics URLs with the client TLS info, client-cert auth included.
  const secureMetrics = cfg.listenMetricsUrls.find(secure);
  if (secureMetrics !== undefined && tlsInfoEmpty(client)) {
    throw new ConfigError(`cannot listen on TLS for ${secureMetrics.host}: KeyFile and CertFile are not presented`);
  }
  if (!secureClients && secureMetrics === undefined) return out;
  const clientSource = await TlsSource.load(client, lg);
  if (secureClients) {
    lg.info({ 'tls-info': describeTlsInfo(client), 'cipher-suites': cipherSuites }, 'starting with client TLS');
    // etcd's (Go's) HTTP/2 server refuses a cipher list it cannot speak HTTP/2 with.
    const h2 = http2CipherProblem(cipherSuites);
    if (h2 !== null) throw new ConfigError(h2);
    out.client = { options: clientSource.serverOptions(['h2', 'http/1.1']), source: clientSource, onRejected: rejectedLogger(lg) };
  }
  if (secureMetrics !== undefined) {
    out.metrics = { options: clientSource.serverOptions(['http/1.1']), source: clientSource, onRejected: rejectedLogger(lg) };
  }
  return out;
}
