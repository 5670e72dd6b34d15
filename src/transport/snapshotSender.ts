// Sends one snapshot as a POST to /raft/snapshot on its own short-lived HTTP/2 session, so a large
// database never competes with the message stream's flow-control windows. The body is the framed
// MsgSnap, the database bytes (from a file, a stream or memory) and their sha256; 204 means the
// receiver stored the database and handed the message to Raft.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import { Readable } from 'node:stream';
import type { Message } from '../raft/raftpb/types.js';
import { encodeFrame } from './frame.js';
import { refusal, requestHeaders, SNAPSHOT_PATH } from './headers.js';
import { http2Settings, MAX_SESSION_MEMORY_MB, type ResolvedOptions } from './options.js';

/** Where the backend database of a snapshot comes from: a file path, a stream or bytes. */
export type SnapshotDb = string | Readable | Uint8Array | null;

export class SnapshotSendError extends Error {
  constructor(
    message: string,
    readonly memberRemoved = false,
  ) {
    super(message);
    this.name = 'SnapshotSendError';
  }
}

interface Response {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

export class SnapshotSender {
  private readonly sessions = new Set<http2.ClientHttp2Session>();

  constructor(private readonly o: ResolvedOptions) {}

  /** Posts the snapshot to `url`; resolves with the database bytes sent, throws on any failure. */
  async send(url: URL, m: Message, db: SnapshotDb): Promise<number> {
    const session = http2.connect(url.origin, {
      settings: http2Settings,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      ...(url.protocol === 'https:' ? this.o.tls : undefined),
    });
    this.sessions.add(session);
    const source = toReadable(db);
    try {
      const req = session.request(requestHeaders(SNAPSHOT_PATH, this.o.id, m.to, this.o.clusterId), {
        endStream: false,
      });
      req.setTimeout(this.o.snapshotIdleTimeoutMs, () => req.close(http2.constants.NGHTTP2_CANCEL));
      let responded = false;
      const response = new Promise<Response>((resolve, reject) => {
        session.once('error', reject);
        req.once('error', reject);
        req.once('response', (headers) => {
          responded = true;
          let body = '';
          req.setEncoding('utf8');
          req.on('data', (d: string) => {
            if (body.length < 4096) body += d;
          });
          req.once('end', () => resolve({ status: headers[':status'] ?? 0, headers, body }));
        });
        req.once('close', () => reject(new SnapshotSendError(`snapshot request closed (code ${req.rstCode})`)));
      });
      response.catch(() => {}); // observed below; avoids an unhandled rejection while writing

      const hash = createHash('sha256');
      let sent = 0;
      const write = (b: Uint8Array): Promise<void> | null => (req.write(b) ? null : drained(req));
      await write(encodeFrame(m));
      if (source) {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          if (responded) break; // refused early: stop streaming, read the reason
          hash.update(chunk);
          sent += chunk.length;
          const w = write(chunk);
          if (w) await Promise.race([w, response]);
        }
      }
      if (!responded) req.end(hash.digest());
      const r = await response;
      if (r.status !== 204) {
        const [err, removed] = refusal(r.status, r.body, r.headers, this.o.id, this.o.clusterId, m.to, this.o.logger);
        throw new SnapshotSendError(err.message, removed);
      }
      return sent;
    } finally {
      source?.destroy();
      this.sessions.delete(session);
      closeSession(session);
    }
  }

  /** Aborts every transfer in flight. */
  stop(): void {
    for (const s of this.sessions) s.destroy();
    this.sessions.clear();
  }
}

function toReadable(db: SnapshotDb): Readable | null {
  if (db === null) return null;
  if (typeof db === 'string') return fs.createReadStream(db, { highWaterMark: 1024 * 1024 });
  if (db instanceof Readable) return db;
  return Readable.from([Buffer.from(db.buffer, db.byteOffset, db.byteLength)]);
}

/** Resolves on 'drain'; rejects if the stream closes first. */
function drained(req: http2.ClientHttp2Stream): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      req.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      req.off('drain', onDrain);
      reject(new SnapshotSendError('snapshot request closed while sending'));
    };
    req.once('drain', onDrain);
    req.once('close', onClose);
  });
}

function closeSession(session: http2.ClientHttp2Session): void {
  if (session.destroyed) return;
  const force = setTimeout(() => session.destroy(), 500);
  session.once('close', () => clearTimeout(force));
  session.close();
}
