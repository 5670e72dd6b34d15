// One TCP port, two protocols (etcd serves both on the client URL): a net.Server peeks at the
// first bytes of each connection; the HTTP/2 connection preface ("PRI * HTTP/2.0...") goes to the
// HTTP/2 handler (gRPC), anything else to the HTTP/1.1 server (/health, /version, /metrics, the
// JSON gateway). The peeked bytes are put back with unshift before the hand-over.
// For https client URLs a TLS front (ALPN h2 and http/1.1, optional client certificates) completes
// the handshake first and the same split happens on the decrypted bytes.

import type http from 'node:http';
import type { Duplex } from 'node:stream';
import net from 'node:net';
import { type SecureListenOptions, SecureListener } from '../pkg/tlsListener.js';

/** Bytes needed to tell the protocols apart: no HTTP/1 method starts with "PRI". */
const PEEK = 3;
const PREFACE = Buffer.from('PRI');

export class ClientListener {
  private readonly server: net.Server;
  /** Connections that have not sent enough bytes to be classified yet. */
  private readonly pending = new Set<net.Socket>();
  private readonly h1Sockets = new Set<net.Socket>();
  private readonly secure: SecureListener | null = null;

  constructor(
    private readonly h2: (socket: Duplex) => void,
    private readonly h1: http.Server,
    tls?: SecureListenOptions,
  ) {
    if (tls !== undefined) {
      this.secure = new SecureListener(tls, (s) => this.classify(s));
      this.server = this.secure.server;
    } else {
      this.server = net.createServer({ noDelay: true }, (s) => this.classify(s));
    }
  }

  /** Listens; resolves to the bound port (pass 0 for an ephemeral one). */
  start(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  /**
   * Stops accepting and drops unclassified and HTTP/1 connections. Resolves once every connection
   * is gone: HTTP/2 ones belong to the gRPC server, which must be closed too.
   */
  stop(): Promise<void> {
    this.secure?.dropHandshaking();
    for (const s of this.pending) s.destroy();
    this.pending.clear();
    for (const s of this.h1Sockets) s.destroy();
    this.h1Sockets.clear();
    return new Promise((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
  }

  private classify(socket: net.Socket): void {
    this.pending.add(socket);
    let head: Buffer | undefined;
    const onError = () => {
      this.pending.delete(socket);
      socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      head = head === undefined ? chunk : Buffer.concat([head, chunk]);
      if (head.length < PEEK) return;
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onError);
      socket.pause();
      socket.unshift(head);
      this.pending.delete(socket);
      if (head.subarray(0, PEEK).equals(PREFACE)) {
        // The HTTP/2 connection reads the unshifted bytes when it resumes the socket.
        this.h2(socket);
      } else {
        this.h1Sockets.add(socket);
        socket.once('close', () => this.h1Sockets.delete(socket));
        this.h1.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onError);
  }
}
