// Corruption checks between members (etcd's etcdserver/corrupt.go): every member serves its HashKV
// on the peer listener at /members/hashkv; at start-up (--experimental-initial-corrupt-check) a
// member compares its hash with its peers' and refuses to start on a mismatch; periodically
// (--experimental-corrupt-check-time) the leader compares everyone's and raises the CORRUPT alarm,
// which stops every member from applying writes until it is disarmed.
//
// Hashes only compare at the same revision with the same compaction: HashKV(rev) hashes the key
// bucket up to rev as a compaction at the member's compact revision leaves it.
import * as http2 from 'node:http2';
import { ErrCompacted, ErrFutureRev } from '../storage/mvcc/errors.js';
import type { KeyValueHash } from '../storage/mvcc/hash.js';
import type { ServerLogger } from './config.js';
import { AlarmAction, AlarmType, type AlarmRequest, type AlarmResponse } from './etcdserverpb/rpc.js';
import { PeerSessions } from './peerSessions.js';

export const PEER_HASHKV_PATH = '/members/hashkv';

const MAX_BODY_BYTES = 4096;

/** One member's answer: its hash at the requested revision, its current and compact revisions. */
export interface PeerHashKV {
  hash: number;
  revision: number;
  compactRevision: number;
}

/** What serving /members/hashkv needs (the server satisfies it). */
export interface HashKVSource {
  readonly cluster: { readonly clusterId: bigint };
  readonly kv: { hashByRev(rev: number): { hash: KeyValueHash; currentRev: number } };
}

// ---- serving (on the peer listener) -------------------------------------------------------------

/** Serves GET /members/hashkv with a JSON {"revision":N} body, as etcd; false for other paths. */
export function serveHashKV(src: HashKVSource, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean {
  if (headers[':path'] !== PEER_HASHKV_PATH) return false;
  stream.on('error', () => {});
  if (headers[':method'] !== 'GET') {
    reply(stream, 405, 'Method Not Allowed', { allow: 'GET' });
    stream.resume();
    return true;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MAX_BODY_BYTES) chunks.push(c);
  });
  stream.on('end', () => {
    if (size > MAX_BODY_BYTES) return reply(stream, 400, 'error reading body');
    let rev: number;
    try {
      rev = parseHashKVRequest(Buffer.concat(chunks));
    } catch {
      return reply(stream, 400, 'error unmarshalling request');
    }
    let out: { hash: KeyValueHash; currentRev: number };
    try {
      out = src.kv.hashByRev(rev);
    } catch (err) {
      return reply(stream, 400, (err as Error).message);
    }
    const body = `{"header":{"revision":${out.currentRev}},"hash":${out.hash.hash >>> 0},"compact_revision":${out.hash.compactRevision}}`;
    reply(stream, 200, body, { 'content-type': 'application/json', 'x-etcd-cluster-id': src.cluster.clusterId.toString(16) });
  });
  return true;
}

/** {"revision":N} (absent: 0), as Go's encoding/json reads a HashKVRequest. */
function parseHashKVRequest(body: Buffer): number {
  const text = body.toString('utf8').trim();
  const v: unknown = text === '' ? {} : JSON.parse(text);
  if (typeof v !== 'object' || v === null) throw new Error('not an object');
  const rev = (v as { revision?: unknown }).revision ?? 0;
  if (typeof rev !== 'number' || !Number.isSafeInteger(rev)) throw new Error('bad revision');
  return rev;
}

function reply(stream: http2.ServerHttp2Stream, status: number, body: string, extra: Record<string, string> = {}): void {
  if (stream.destroyed || stream.headersSent) return;
  const json = status === 200;
  stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8', ...extra });
  stream.end(json ? body : `${body}\n`);
}

// ---- fetching (HTTP/2 to a peer URL) ------------------------------------------------------------

/** HTTP/2 client for peers' /members/hashkv; one cached session per peer origin. */
export class HashKVClient {
  constructor(private readonly sessions: PeerSessions = new PeerSessions()) {}

  /** The peer's HashKV at `rev`; rejects with mvcc ErrCompacted / ErrFutureRev as the peer reports. */
  fetch(peerUrl: string, rev: number, timeoutMs: number): Promise<PeerHashKV> {
    if (this.sessions.isClosed()) return Promise.reject(new Error('hashkv client closed'));
    const origin = new URL(peerUrl).origin;
    const headers = { ':method': 'GET', ':path': PEER_HASHKV_PATH, 'content-type': 'application/json' };
    return this.sessions.request(origin, headers, `{"revision":${rev}}`, timeoutMs).then(({ status, body }) => {
      const text = body.toString('utf8');
      if (status === 200) return parseHashKVResponse(text);
      if (status === 400 && text.includes(ErrCompacted.message)) throw ErrCompacted;
      if (status === 400 && text.includes(ErrFutureRev.message)) throw ErrFutureRev;
      if (status === 0) throw new Error(`hashkv request to ${origin} failed`);
      throw new Error(`unknown error: ${text.trim()}`);
    });
  }

  close(): void {
    this.sessions.close();
  }
}

function parseHashKVResponse(text: string): PeerHashKV {
  const v = JSON.parse(text) as { header?: { revision?: number }; hash?: number; compact_revision?: number };
  return { hash: v.hash ?? 0, revision: v.header?.revision ?? 0, compactRevision: v.compact_revision ?? 0 };
}

// ---- the checks ---------------------------------------------------------------------------------

/** What the checks need from the server (it satisfies this structurally). */
export interface CorruptHost extends HashKVSource {
  readonly id: bigint;
  readonly cluster: { readonly clusterId: bigint; memberList(): { id: bigint; peerURLs: string[] }[] };
  readonly cfg: { requestTimeoutMs: number; logger: ServerLogger };
  isLeader(): boolean;
  linearizableReadNotify(): Promise<void>;
  alarm(r: AlarmRequest): Promise<AlarmResponse>;
}

export interface PeerHashResult {
  id: bigint;
  resp: PeerHashKV | null;
  err: Error | null;
}

export class CorruptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptionError';
  }
}

const hex = (id: bigint): string => id.toString(16);

export class CorruptionChecker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly host: CorruptHost,
    private readonly client: HashKVClient = new HashKVClient(),
  ) {}

  private get lg(): ServerLogger {
    return this.host.cfg.logger;
  }

  /**
   * Compares this member's hash with each peer's at this member's revision before it serves
   * anything: a different hash at the same compact revision is corruption (throws). Peers that
   * cannot answer (down, behind, compacted further) are only logged.
   */
  async initialCheck(): Promise<void> {
    const h = this.host;
    const lid = hex(h.id);
    this.lg.info({ 'local-member-id': lid, timeout: `${h.cfg.requestTimeoutMs}ms` }, 'starting initial corruption check');
    const { hash, currentRev } = h.kv.hashByRev(0);
    let mismatch = 0;
    for (const p of await this.peerHashes(currentRev)) {
      const fields = { 'local-member-id': lid, 'local-member-revision': currentRev, 'local-member-compact-revision': hash.compactRevision, 'local-member-hash': hash.hash, 'remote-peer-id': hex(p.id) };
      if (p.resp !== null) {
        if (p.resp.hash !== hash.hash) {
          const remote = { ...fields, 'remote-peer-revision': p.resp.revision, 'remote-peer-compact-revision': p.resp.compactRevision, 'remote-peer-hash': p.resp.hash };
          if (p.resp.compactRevision === hash.compactRevision) {
            this.lg.warn(remote, 'found different hash values from remote peer');
            mismatch++;
          } else {
            this.lg.warn(remote, 'found different compact revision values from remote peer');
          }
        }
      } else if (p.err === ErrFutureRev) {
        this.lg.warn({ ...fields, error: p.err.message }, 'cannot fetch hash from slow remote peer');
      } else if (p.err === ErrCompacted) {
        this.lg.warn({ ...fields, error: p.err.message }, 'cannot fetch hash from remote peer; local member is behind');
      }
    }
    if (mismatch > 0) throw new CorruptionError(`${lid} found data inconsistency with peers`);
    this.lg.info({ 'local-member-id': lid }, 'initial corruption checking passed; no corruption');
  }

  /**
   * The leader's periodic check: hashes itself before and after a linearizable barrier (its own
   * hash must not change at an unchanged revision), then holds each peer's answer against its own.
   * Raises CORRUPT (once per pass) for the first member found inconsistent. Resolves with the
   * member alarmed, or null.
   */
  async checkHashKV(): Promise<bigint | null> {
    const h = this.host;
    const before = h.kv.hashByRev(0);
    const rev = before.currentRev;
    const crev = before.hash.compactRevision;
    const peers = await this.peerHashes(rev);
    await h.linearizableReadNotify();
    const after = h.kv.hashByRev(0);
    const rev2 = after.currentRev;
    const crev2 = after.hash.compactRevision;
    let alarmed: bigint | null = null;
    const mismatch = (id: bigint) => {
      if (alarmed !== null) return;
      alarmed = id;
      h.alarm({ action: AlarmAction.ACTIVATE, memberID: id, alarm: AlarmType.CORRUPT }).catch((err: Error) =>
        this.lg.warn({ 'local-member-id': hex(h.id), error: err.message }, 'failed to raise CORRUPT alarm'),
      );
    };
    if (after.hash.hash !== before.hash.hash && rev2 === rev && crev2 === crev) {
      this.lg.warn({ 'leader-member-id': hex(h.id), 'leader-revision': rev, 'leader-hash': before.hash.hash, 'leader-hash-after': after.hash.hash }, 'found hash mismatch');
      mismatch(h.id);
    }
    let checked = 0;
    for (const p of peers) {
      if (p.resp === null) continue;
      checked++;
      const f = { 'leader-member-id': hex(h.id), 'leader-revision': rev2, 'leader-compact-revision': crev2, 'follower-member-id': hex(p.id), 'follower-revision': p.resp.revision, 'follower-compact-revision': p.resp.compactRevision };
      if (p.resp.revision > rev2) {
        this.lg.warn(f, "revision from follower must be less than or equal to leader's");
        mismatch(p.id);
      }
      if (p.resp.compactRevision > crev2) {
        this.lg.warn(f, "compact revision from follower must be less than or equal to leader's");
        mismatch(p.id);
      }
      if (p.resp.compactRevision === crev && p.resp.hash !== before.hash.hash) {
        this.lg.warn({ ...f, 'leader-hash': before.hash.hash, 'follower-hash': p.resp.hash }, 'same compact revision then hashes must match');
        mismatch(p.id);
      }
    }
    this.lg.info({ 'number-of-peers-checked': checked }, 'finished peer corruption check');
    return alarmed;
  }

  /** Every peer's HashKV at `rev`, trying each of its peer URLs in turn. */
  async peerHashes(rev: number): Promise<PeerHashResult[]> {
    const h = this.host;
    const peers = h.cluster.memberList().filter((m) => m.id !== h.id && m.peerURLs.length > 0);
    return Promise.all(
      peers.map(async (m): Promise<PeerHashResult> => {
        let lastErr: Error | null = null;
        for (const url of m.peerURLs) {
          try {
            return { id: m.id, resp: await this.client.fetch(url, rev, h.cfg.requestTimeoutMs), err: null };
          } catch (err) {
            lastErr = err as Error;
            this.lg.warn(
              { 'local-member-id': hex(h.id), 'requested-revision': rev, 'remote-peer-endpoint': url, error: lastErr.message },
              'failed hash kv request',
            );
          }
        }
        return { id: m.id, resp: null, err: lastErr };
      }),
    );
  }

  /** Runs checkHashKV every intervalMs while this member leads; 0 disables. */
  start(intervalMs: number): void {
    if (intervalMs <= 0 || this.timer !== null || this.stopped) return;
    this.lg.info({ 'local-member-id': hex(this.host.id), interval: `${intervalMs}ms` }, 'enabled corruption checking');
    this.timer = setInterval(() => {
      if (this.running !== null || !this.host.isLeader()) return;
      this.running = this.checkHashKV()
        .then(
          () => {},
          (err: Error) => {
            if (!this.stopped) this.lg.warn({ error: err.message }, 'failed to check hash KV');
          },
        )
        .finally(() => (this.running = null));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops the periodic check and closes peer sessions; waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.client.close();
    await this.running;
  }
}
