// A TLS front for a listener (etcd's tlsListener): a tls.Server that completes each handshake,
// refuses client certificates whose SANs do not name the remote address (etcd's checkCertSAN),
// that are not the allowed CN or hostname, or that the CRL revokes, and only then hands the
// decrypted socket to the protocol server. Refused connections are reported with the reason, as
// etcd logs "rejected connection". Options from a TlsSource make each new handshake use the
// certificate files' current contents: the files are checked before the handshake starts.

import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import type { TlsSource } from './tls.js';
import { checkCertSan, IDENTITY_REFUSED, identityAllowed, revocationReason } from './tlsCheck.js';

export interface SecureListenOptions {
  /** Server TLS options (see serverTlsOptions). */
  options: tls.TlsOptions;
  /** The files behind `options`, kept current: reloads, CRL and allowed-identity checks. */
  source?: TlsSource;
  /** Accept client certificates whose SANs do not name the remote address (etcd's SkipClientSANVerify). */
  skipClientSanVerify?: boolean;
  /** Called for every refused connection (failed handshake or certificate check). */
  onRejected?: (remoteAddress: string, serverName: string, reason: string) => void;
}

/** Receives an accepted socket in the same tick it is handed over (it is never paused). */
type Handover = (socket: tls.TLSSocket) => void;

/**
 * The listening side: `server` is what listens; `handover` receives every socket that passed the
 * handshake and the certificate check.
 */
export class SecureListener {
  readonly server: tls.Server;
  /** Raw connections still in their handshake, by remote address and port. */
  private readonly handshaking = new Map<string, Socket>();
  private readonly verify: boolean;
  /** Set once the owner stops: connections cut then are not "rejected". */
  private dropping = false;
  /** The live certificate, CRL and allowed identity, when the options came from a TlsSource. */
  private readonly source: TlsSource | undefined;
  /** The source generation whose certificate the server presents. */
  private applied: number;

  constructor(
    private readonly o: SecureListenOptions,
    private readonly handover: Handover,
  ) {
    // Certificates are verified in onSecure rather than by Node, which drops a connection with an
    // untrusted certificate without saying so; there the refusal can be reported with its reason.
    this.verify = o.options.requestCert === true && o.options.rejectUnauthorized !== false;
    this.source = o.source;
    const current = this.source === undefined ? {} : this.source.keyPair();
    this.applied = this.source?.generation ?? 0;
    this.server = tls.createServer({
      ...o.options,
      ...current,
      rejectUnauthorized: false,
      noDelay: true,
    } as tls.TlsOptions);
    if (this.source !== undefined) this.checkFilesFirst(this.source);
    this.server.on('connection', (raw: Socket) => {
      const k = keyOf(raw);
      this.handshaking.set(k, raw);
      raw.once('close', () => {
        if (this.handshaking.get(k) === raw) this.handshaking.delete(k);
      });
    });
    this.server.on('tlsClientError', (err, socket) => {
      // A connection the client dropped no longer knows its address; the raw socket, asked in
      // 'connection', remembers it (Node keeps it as the TLS socket's _parent).
      const raw = (socket as unknown as { _parent?: Socket })._parent ?? socket;
      this.handshaking.delete(keyOf(raw));
      this.reject(raw, handshakeReason(err));
      socket.destroy();
    });
    this.server.on('secureConnection', (socket: tls.TLSSocket) => this.onSecure(socket));
  }

  /**
   * Puts a check of the certificate files before Node's own connection handler, which starts the
   * handshake with the server's current secure context; a changed certificate replaces it first.
   */
  private checkFilesFirst(source: TlsSource): void {
    const [startHandshake] = this.server.listeners('connection') as ((raw: Socket) => void)[];
    this.server.removeListener('connection', startHandshake);
    this.server.on('connection', (raw: Socket) => {
      // Until the TLS socket takes the connection over, a reset must not go unheard.
      raw.on('error', ignore);
      void source.refresh().then(() => {
        raw.off('error', ignore);
        if (raw.destroyed) return;
        if (source.generation !== this.applied) this.applyCertificate(source);
        startHandshake.call(this.server, raw);
      });
    });
  }

  private applyCertificate(source: TlsSource): void {
    this.applied = source.generation;
    try {
      this.server.setSecureContext({ ...this.o.options, ...source.keyPair() });
    } catch {
      // the pair was checked when loaded; should it still not fit, the previous one stays
    }
  }

  /** Destroys connections that have not finished their handshake (a stopping owner calls it). */
  dropHandshaking(): void {
    this.dropping = true;
    for (const raw of this.handshaking.values()) raw.destroy();
    this.handshaking.clear();
  }

  private onSecure(socket: tls.TLSSocket): void {
    this.handshaking.delete(keyOf(socket));
    if (this.verify && !socket.authorized) {
      this.reject(socket, authorizationReason(socket));
      socket.destroy();
      return;
    }
    // The allowed CN or hostname: etcd checks it within the handshake, so before anything else.
    const allowed = this.source?.allowed ?? null;
    if (this.verify && allowed !== null) {
      if (!identityAllowed(allowed, socket.getPeerCertificate().subject, () => socket.getPeerX509Certificate()!)) {
        this.reject(socket, IDENTITY_REFUSED);
        socket.destroy();
        return;
      }
    }
    const cert = this.verify ? socket.getPeerX509Certificate() : undefined;
    const verdict = cert === undefined || this.o.skipClientSanVerify === true ? null : checkCertSan(cert, socket.remoteAddress ?? '');
    if (verdict === null) {
      this.admit(socket);
    } else if (typeof verdict === 'string') {
      this.reject(socket, verdict);
      socket.destroy();
    } else {
      awaitVerdict(socket, verdict, (s) => this.admit(s), (s, why) => this.reject(s, why));
    }
  }

  /** The last check, etcd's checkCRL, then the hand-over. */
  private admit(socket: tls.TLSSocket): void {
    const crl = this.source?.revocation() ?? null;
    const why = crl === null ? null : revocationReason(crl, socket.getPeerCertificate(true));
    if (why === null) {
      this.handover(socket);
      return;
    }
    this.reject(socket, why);
    socket.destroy();
  }

  private reject(socket: Socket, reason: string): void {
    if (this.dropping) return;
    const name = (socket as tls.TLSSocket).servername;
    this.o.onRejected?.(keyOf(socket), typeof name === 'string' ? name : '', reason);
  }
}

const ignore = () => {};

function keyOf(s: Socket): string {
  return `${s.remoteAddress ?? ''}:${s.remotePort ?? ''}`;
}

/**
 * A DNS SAN is being resolved: bytes the client sends meanwhile are held and put back before the
 * handover, which happens in the same tick so the next reader sees them first.
 */
function awaitVerdict(
  socket: tls.TLSSocket,
  verdict: Promise<string | null>,
  handover: Handover,
  reject: (socket: tls.TLSSocket, reason: string) => void,
): void {
  const held: Buffer[] = [];
  const hold = (b: Buffer) => held.push(b);
  const ignore = () => {};
  socket.on('data', hold);
  socket.on('error', ignore);
  void verdict.then((why) => {
    socket.off('data', hold);
    socket.off('error', ignore);
    if (socket.destroyed) return;
    if (why !== null) {
      reject(socket, why);
      socket.destroy();
      return;
    }
    if (held.length > 0) socket.unshift(Buffer.concat(held));
    handover(socket);
  });
}

/** Why a client certificate was refused, in Go's words for the common causes. */
function authorizationReason(socket: tls.TLSSocket): string {
  const code = String(socket.authorizationError ?? '');
  if (socket.getPeerX509Certificate() === undefined) return "tls: client didn't provide a certificate";
  let why: string;
  if (UNKNOWN_AUTHORITY.has(code)) why = 'x509: certificate signed by unknown authority';
  else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') why = 'x509: certificate has expired or is not yet valid';
  else why = code;
  return `tls: failed to verify client certificate: ${why}`;
}

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
]);

/** The handshake failures etcd's logs name, in Go's words where the cause is the same. */
function handshakeReason(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return "tls: client didn't provide a certificate";
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_HTTP_REQUEST') {
    return 'tls: first record does not look like a TLS handshake';
  }
  if (code === 'ERR_SSL_NO_SHARED_CIPHER') return 'tls: no cipher suite supported by both client and server';
  if (/alert bad certificate/i.test(err.message)) return 'remote error: tls: bad certificate';
  if (code === 'ECONNRESET') return 'EOF';
  return err.message;
}
