// Splits a gRPC request body into messages: each is a 5-byte prefix (compressed flag, 4-byte
// big-endian length) and the payload. Payloads that fit in one chunk are zero-copy views; larger
// ones are assembled into one buffer allocated at the announced length (no repeated concats).

import { Code, GrpcError } from '../errors.js';

export class Deframer {
  private readonly header = Buffer.alloc(5);
  private headerFill = 0;
  private body: Buffer | null = null;
  private bodyFill = 0;
  private failed = false;

  /**
   * @param maxLength the largest message accepted (grpc's MaxRecvMsgSize)
   * @param onMessage receives each complete message
   */
  constructor(
    private readonly maxLength: number,
    private readonly onMessage: (msg: Buffer) => void,
  ) {}

  /** True between messages (nothing partial buffered). */
  get idle(): boolean {
    return this.headerFill === 0 && this.body === null;
  }

  /** Feeds a chunk; throws a GrpcError for compressed or oversized messages. */
  push(chunk: Buffer): void {
    if (this.failed) return;
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      if (this.body === null) {
        if (this.headerFill === 0 && n - pos >= 5) {
          // fast path: the whole prefix is in this chunk
          const len = this.start(chunk[pos], chunk.readUInt32BE(pos + 1));
          pos += 5;
          if (n - pos >= len) {
            this.onMessage(chunk.subarray(pos, pos + len));
            pos += len;
            continue;
          }
          this.body = Buffer.allocUnsafe(len);
          this.bodyFill = 0;
          continue;
        }
        const take = Math.min(5 - this.headerFill, n - pos);
        chunk.copy(this.header, this.headerFill, pos, pos + take);
        this.headerFill += take;
        pos += take;
        if (this.headerFill < 5) return;
        this.headerFill = 0;
        const len = this.start(this.header[0], this.header.readUInt32BE(1));
        if (len === 0) {
          this.onMessage(Buffer.alloc(0));
          continue;
        }
        this.body = Buffer.allocUnsafe(len);
        this.bodyFill = 0;
        continue;
      }
      const body = this.body;
      const take = Math.min(body.length - this.bodyFill, n - pos);
      chunk.copy(body, this.bodyFill, pos, pos + take);
      this.bodyFill += take;
      pos += take;
      if (this.bodyFill === body.length) {
        this.body = null;
        this.onMessage(body);
      }
    }
  }

  private start(flag: number, len: number): number {
    if (flag !== 0) {
      this.failed = true;
      throw new GrpcError(Code.UNIMPLEMENTED, 'grpc: compressed messages are not supported');
    }
    if (len > this.maxLength) {
      this.failed = true;
      throw new GrpcError(
        Code.RESOURCE_EXHAUSTED,
        `grpc: received message larger than max (${len} vs. ${this.maxLength})`,
      );
    }
    return len;
  }
}
