// The body of a snapshot request: one frame holding the encoded MsgSnap, then the backend database
// bytes, then the sha256 of those bytes (32 bytes). The parser is a Transform: it emits 'message'
// with the decoded MsgSnap, passes the database bytes through, and ends only when the trailing hash
// matches; otherwise it fails, so a consumer writing a file never mistakes a corrupt one for whole.

import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { decodeMessage } from '../raft/raftpb/codec.js';
import type { Message } from '../raft/raftpb/types.js';
import { FRAME_HEADER_BYTES, FrameTooLargeError } from './frame.js';

export const DIGEST_BYTES = 32;
export const ERR_SNAPSHOT_DIGEST = 'snapshot database sha256 mismatch';

export class SnapshotBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotBodyError';
  }
}

export class SnapshotBodyParser extends Transform {
  private head: Buffer[] = [];
  private headLen = 0;
  private inDb = false;
  private tail: Buffer = Buffer.alloc(0);
  private readonly hash: Hash = createHash('sha256');
  /** Database bytes passed through so far. */
  dbBytes = 0;
  message: Message | null = null;

  constructor(private readonly maxMessageBytes: number) {
    super({ readableHighWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      if (!this.inDb) {
        this.head.push(chunk);
        this.headLen += chunk.length;
        if (this.headLen < FRAME_HEADER_BYTES) return cb();
        const all = this.head.length === 1 ? this.head[0] : Buffer.concat(this.head, this.headLen);
        this.head = [all];
        const len = all.readUInt32BE(0);
        if (len > this.maxMessageBytes) throw new FrameTooLargeError(len, this.maxMessageBytes);
        if (all.length < FRAME_HEADER_BYTES + len) return cb();
        this.message = decodeMessage(all.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + len));
        this.head = [];
        this.inDb = true;
        this.emit('message', this.message);
        chunk = all.subarray(FRAME_HEADER_BYTES + len);
      }
      this.passDb(chunk);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  /** Passes all but the last DIGEST_BYTES seen, which may be the trailing hash. */
  private passDb(chunk: Buffer): void {
    if (chunk.length === 0) return;
    let out: Buffer;
    if (chunk.length >= DIGEST_BYTES) {
      if (this.tail.length > 0) this.emitDb(this.tail);
      out = chunk.subarray(0, chunk.length - DIGEST_BYTES);
      this.tail = chunk.subarray(chunk.length - DIGEST_BYTES);
    } else {
      const joined = Buffer.concat([this.tail, chunk]);
      const keep = Math.min(DIGEST_BYTES, joined.length);
      out = joined.subarray(0, joined.length - keep);
      this.tail = joined.subarray(joined.length - keep);
    }
    this.emitDb(out);
  }

  private emitDb(b: Buffer): void {
    if (b.length === 0) return;
    this.hash.update(b);
    this.dbBytes += b.length;
    this.push(b);
  }

  override _flush(cb: TransformCallback): void {
    if (!this.inDb) return cb(new SnapshotBodyError('snapshot request ended before its message'));
    if (this.tail.length < DIGEST_BYTES) return cb(new SnapshotBodyError('snapshot request ended before its sha256'));
    if (!this.hash.digest().equals(this.tail)) return cb(new SnapshotBodyError(ERR_SNAPSHOT_DIGEST));
    cb();
  }
}
