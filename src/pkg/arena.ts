// Copies of small byte strings that live long and die roughly in the order they were made (raft
// entry payloads, kept in the in-memory log until a snapshot compacts it), carved from large slabs
// of their own. Node's allocUnsafe carves small buffers from one shared 8 KiB pool, so a single
// surviving payload there pins a pool slab otherwise full of garbage; here a slab holds only
// payloads and is freed once the last of them is.

const DEFAULT_SLAB = 256 * 1024;

export class Arena {
  private slab: Buffer;
  private pos = 0;

  constructor(private readonly slabSize = DEFAULT_SLAB) {
    this.slab = Buffer.allocUnsafeSlow(slabSize);
  }

  /** A copy of `src`: in the current slab, or in its own buffer when larger than a slab's eighth. */
  copy(src: Uint8Array): Buffer {
    const n = src.length;
    if (n > this.slabSize >>> 3) {
      const own = Buffer.allocUnsafeSlow(n);
      own.set(src);
      return own;
    }
    if (this.pos + n > this.slabSize) {
      this.slab = Buffer.allocUnsafeSlow(this.slabSize);
      this.pos = 0;
    }
    const out = this.slab.subarray(this.pos, this.pos + n);
    out.set(src);
    this.pos += n;
    return out;
  }
}
