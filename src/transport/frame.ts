// Framing of raft messages on a peer stream: each message is a 4-byte big-endian length followed by
// its protobuf encoding. The encoder packs many queued messages into one buffer (one write); the
// decoder cuts frames out of arbitrarily split chunks, copying only frames that span chunks.

import { encodeMessage } from '../raft/raftpb/codec.js';
import type { Message } from '../raft/raftpb/types.js';

export const FRAME_HEADER_BYTES = 4;

export class FrameTooLargeError extends Error {
  constructor(size: number, max: number) {
    super(`peer frame of ${size} bytes exceeds the limit of ${max} bytes`);
    this.name = 'FrameTooLargeError';
  }
}

/**
 * Encodes `msgs[start..]` into one buffer, stopping before the message that would take it past
 * `maxBytes` (at least one message is always taken). Returns the buffer and how many were taken.
 */
export function encodeFrames(msgs: Message[], start: number, maxBytes: number): { buf: Buffer; count: number } {
  const parts: Buffer[] = [];
  let total = 0;
  let i = start;
  for (; i < msgs.length; i++) {
    const b = encodeMessage(msgs[i]);
    if (parts.length > 0 && total + FRAME_HEADER_BYTES + b.length > maxBytes) break;
    parts.push(b);
    total += FRAME_HEADER_BYTES + b.length;
  }
  const buf = Buffer.allocUnsafe(total);
  let off = 0;
  for (const b of parts) {
    buf.writeUInt32BE(b.length, off);
    b.copy(buf, off + FRAME_HEADER_BYTES);
    off += FRAME_HEADER_BYTES + b.length;
  }
  return { buf, count: i - start };
}

/** Encodes a single message as one frame. */
export function encodeFrame(m: Message): Buffer {
  return encodeFrames([m], 0, Infinity).buf;
}

/**
 * Incremental frame reader. Frames wholly inside one chunk are handed out as views of it (chunks
 * must not be reused by the caller); a frame spanning chunks is joined once, when complete.
 */
export class FrameDecoder {
  private parts: Buffer[] = [];
  private partsLen = 0;
  /** Length of the pending frame once its header has arrived, else -1. */
  private need = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.partsLen;
  }

  /** Feeds a chunk; calls `onFrame` for each complete frame in order. Throws FrameTooLargeError. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    if (this.partsLen > 0) {
      this.parts.push(chunk);
      this.partsLen += chunk.length;
      if (this.need < 0) {
        if (this.partsLen < FRAME_HEADER_BYTES) return;
        if (this.parts[0].length < FRAME_HEADER_BYTES) this.parts = [Buffer.concat(this.parts, this.partsLen)];
        this.need = this.checkLength(this.parts[0].readUInt32BE(0));
      }
      if (this.partsLen < FRAME_HEADER_BYTES + this.need) return;
      chunk = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.partsLen);
      this.parts = [];
      this.partsLen = 0;
      this.need = -1;
    }
    let off = 0;
    const end = chunk.length;
    while (end - off >= FRAME_HEADER_BYTES) {
      const len = this.checkLength(chunk.readUInt32BE(off));
      if (end - off - FRAME_HEADER_BYTES < len) break;
      off += FRAME_HEADER_BYTES;
      onFrame(chunk.subarray(off, off + len));
      off += len;
    }
    if (off < end) {
      const rest = chunk.subarray(off);
      this.parts.push(rest);
      this.partsLen = rest.length;
      if (rest.length >= FRAME_HEADER_BYTES) this.need = rest.readUInt32BE(0);
    }
  }

  private checkLength(len: number): number {
    if (len > this.maxFrameBytes) throw new FrameTooLargeError(len, this.maxFrameBytes);
    return len;
  }
}
