// Lease renewals and time-to-live lookups between members (etcd's lease/leasehttp): only the
// leader's lessor knows when leases expire, so a follower forwards LeaseKeepAlive and
// LeaseTimeToLive to the leader's peer listener. POST /leases carries a LeaseKeepAliveRequest and
// answers a LeaseKeepAliveResponse; POST /leases/internal carries a LeaseInternalRequest (wrapping
// a LeaseTimeToLiveRequest) and answers a LeaseInternalResponse; all protobuf, as etcd's. A missing
// lease is 404, any other refusal (not the leader, ...) a 4xx/5xx with the error text.
import * as http2 from 'node:http2';
import { ErrLeaseNotFound } from '../lease/index.js';
import { Reader, Writer, sizeBoolField, sizeInt64Field, sizeIntField, sizeLenField } from '../pkg/protobuf.js';
import { PeerSessions } from './peerSessions.js';

export const LEASE_PATH = '/leases';
export const LEASE_INTERNAL_PATH = '/leases/internal';

const MAX_BODY_BYTES = 64 * 1024;

export interface LeaseTtl {
  ttl: number;
  grantedTtl: number;
  keys: Uint8Array[];
}

/** What the serving side (the leader) does with forwarded requests. */
export interface LeaseLocal {
  /** Renews on the local (primary) lessor; resolves with the TTL. */
  renewLocal(id: bigint): Promise<number>;
  /** The lease as the local lessor sees it; throws ErrLeaseNotFound. */
  timeToLiveLocal(id: bigint, keys: boolean): Promise<LeaseTtl>;
}

/** A refusal by the remote member other than "lease not found" (retryable). */
export class LeaseHttpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseHttpError';
  }
}

// ---- codecs (field numbers of etcd's rpc.proto and leasepb/lease.proto) -------------------------

/** LeaseKeepAliveRequest { int64 ID = 1 } and LeaseTimeToLiveRequest { int64 ID = 1; bool keys = 2 }. */
function encodeIdRequest(id: bigint, keys: boolean): Buffer {
  const w = new Writer(sizeInt64Field(id) + sizeBoolField(keys));
  w.int64(1, id);
  w.bool(2, keys);
  return w.buf;
}

function decodeIdRequest(r: Reader): { id: bigint; keys: boolean } {
  let id = 0n;
  let keys = false;
  while (!r.done()) {
    const tag = r.varint();
    if (tag === 0x08) id = r.int64();
    else if (tag === 0x10) keys = r.bool();
    else r.skip(tag & 7);
  }
  return { id, keys };
}

export function encodeKeepAliveRequest(id: bigint): Buffer {
  return encodeIdRequest(id, false);
}

export function decodeKeepAliveRequest(b: Uint8Array): bigint {
  return decodeIdRequest(Reader.of(b)).id;
}

/** LeaseKeepAliveResponse { ResponseHeader header = 1; int64 ID = 2; int64 TTL = 3 } (header left empty). */
export function encodeKeepAliveResponse(id: bigint, ttl: number): Buffer {
  const w = new Writer(sizeInt64Field(id) + sizeIntField(ttl));
  w.int64(2, id);
  w.int(3, ttl);
  return w.buf;
}

export function decodeKeepAliveResponse(b: Uint8Array): { id: bigint; ttl: number } {
  const r = Reader.of(b);
  let id = 0n;
  let ttl = 0;
  while (!r.done()) {
    const tag = r.varint();
    if (tag === 0x10) id = r.int64();
    else if (tag === 0x18) ttl = r.int();
    else r.skip(tag & 7);
  }
  return { id, ttl };
}

/** LeaseInternalRequest { LeaseTimeToLiveRequest LeaseTimeToLiveRequest = 1 }. */
export function encodeInternalRequest(id: bigint, keys: boolean): Buffer {
  const inner = encodeIdRequest(id, keys);
  const w = new Writer(sizeLenField(inner.length));
  w.lenField(1, inner.length);
  w.buf.set(inner, w.pos);
  return w.buf;
}

export function decodeInternalRequest(b: Uint8Array): { id: bigint; keys: boolean } {
  const r = Reader.of(b);
  let out = { id: 0n, keys: false };
  while (!r.done()) {
    const tag = r.varint();
    if (tag === 0x0a) out = decodeIdRequest(r.sub());
    else r.skip(tag & 7);
  }
  return out;
}

/**
 * LeaseInternalResponse { LeaseTimeToLiveResponse = 1 }, the inner message being
 * { header = 1 (empty); int64 ID = 2; int64 TTL = 3; int64 grantedTTL = 4; repeated bytes keys = 5 }.
 */
export function encodeInternalResponse(id: bigint, t: LeaseTtl): Buffer {
  let innerLen = sizeLenField(0) + sizeInt64Field(id) + sizeIntField(t.ttl) + sizeIntField(t.grantedTtl);
  for (const k of t.keys) innerLen += sizeLenField(k.length);
  const w = new Writer(sizeLenField(innerLen));
  w.lenField(1, innerLen);
  w.lenField(1, 0);
  w.int64(2, id);
  w.int(3, t.ttl);
  w.int(4, t.grantedTtl);
  for (const k of t.keys) {
    w.lenField(5, k.length);
    w.buf.set(k, w.pos);
    w.pos += k.length;
  }
  return w.buf;
}

export function decodeInternalResponse(b: Uint8Array): LeaseTtl {
  const r = Reader.of(b);
  const out: LeaseTtl = { ttl: 0, grantedTtl: 0, keys: [] };
  while (!r.done()) {
    const tag = r.varint();
    if (tag !== 0x0a) {
      r.skip(tag & 7);
      continue;
    }
    const m = r.sub();
    while (!m.done()) {
      const t = m.varint();
      if (t === 0x18) out.ttl = m.int();
      else if (t === 0x20) out.grantedTtl = m.int();
      else if (t === 0x2a) out.keys.push(Buffer.from(m.bytes()));
      else m.skip(t & 7);
    }
  }
  return out;
}

// ---- serving (on the peer listener) -------------------------------------------------------------

/** Serves /leases and /leases/internal; false for any other path (the caller answers it). */
export function serveLeaseHttp(local: LeaseLocal, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean {
  const path = headers[':path'];
  if (path !== LEASE_PATH && path !== LEASE_INTERNAL_PATH) return false;
  stream.on('error', () => {});
  if (headers[':method'] !== 'POST') {
    reply(stream, 405, 'method not allowed');
    return true;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_BODY_BYTES) {
      reply(stream, 400, 'error reading body');
      return;
    }
    chunks.push(c);
  });
  stream.on('end', () => {
    if (size > MAX_BODY_BYTES) return;
    const body = Buffer.concat(chunks);
    void answer(local, path, body).then(
      (out) => reply(stream, 200, out),
      (err: Error) => reply(stream, err === ErrLeaseNotFound ? 404 : err instanceof DecodeError ? 400 : 500, err.message),
    );
  });
  return true;
}

class DecodeError extends Error {}

async function answer(local: LeaseLocal, path: string, body: Buffer): Promise<Buffer> {
  if (path === LEASE_PATH) {
    let id: bigint;
    try {
      id = decodeKeepAliveRequest(body);
    } catch {
      throw new DecodeError('error unmarshalling request');
    }
    return encodeKeepAliveResponse(id, await local.renewLocal(id));
  }
  let req: { id: bigint; keys: boolean };
  try {
    req = decodeInternalRequest(body);
  } catch {
    throw new DecodeError('error unmarshalling request');
  }
  return encodeInternalResponse(req.id, await local.timeToLiveLocal(req.id, req.keys));
}

function reply(stream: http2.ServerHttp2Stream, status: number, body: Buffer | string): void {
  if (stream.destroyed || stream.headersSent) return;
  const binary = typeof body !== 'string';
  stream.respond({
    ':status': status,
    'content-type': binary ? 'application/protobuf' : 'text/plain; charset=utf-8',
  });
  stream.end(binary ? body : body + '\n');
}

// ---- forwarding (the follower's side) -----------------------------------------------------------

/** HTTP/2 client for the leader's lease endpoints; one cached session per peer origin. */
export class LeaseClient {
  constructor(private readonly sessions: PeerSessions = new PeerSessions()) {}

  async renew(peerUrl: string, id: bigint, timeoutMs: number): Promise<number> {
    const out = await this.post(peerUrl, LEASE_PATH, encodeKeepAliveRequest(id), timeoutMs);
    return decodeKeepAliveResponse(out).ttl;
  }

  async timeToLive(peerUrl: string, id: bigint, keys: boolean, timeoutMs: number): Promise<LeaseTtl> {
    const out = await this.post(peerUrl, LEASE_INTERNAL_PATH, encodeInternalRequest(id, keys), timeoutMs);
    return decodeInternalResponse(out);
  }

  close(): void {
    this.sessions.close();
  }

  private post(peerUrl: string, path: string, body: Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.sessions.isClosed()) return Promise.reject(new LeaseHttpError('lease client closed'));
    const origin = new URL(peerUrl).origin;
    const headers = { ':method': 'POST', ':path': path, 'content-type': 'application/protobuf' };
    return this.sessions.request(origin, headers, body, timeoutMs).then(
      ({ status, body: out }) => {
        if (status === 200) return out;
        if (status === 404) throw ErrLeaseNotFound;
        if (status === 0) throw new LeaseHttpError(`lease request to ${origin} failed`);
        throw new LeaseHttpError(out.toString('utf8').trim() || `status ${status}`);
      },
      (err: Error) => {
        throw new LeaseHttpError(err.message);
      },
    );
  }
}
