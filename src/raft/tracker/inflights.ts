// The sliding window of in-flight append messages to one follower (etcd-raft's
// tracker/inflights.go): a ring buffer of (last index, bytes), bounded by a message count and,
// optionally, a byte total.

export class Inflights {
  /** Ring position of the oldest in-flight message. */
  private start = 0;
  /** Number of in-flight messages. */
  private cnt = 0;
  /** Total bytes of the in-flight messages. */
  private totalBytes = 0;
  // Parallel ring buffers, grown on demand up to `size` (the limit can be huge, e.g. 2^31-1).
  private indexes: number[] = [];
  private sizes: number[] = [];

  /**
   * @param size the maximum number of in-flight messages
   * @param maxBytes the maximum total bytes in flight; 0 or Infinity means no limit
   */
  constructor(
    readonly size: number,
    readonly maxBytes: number = 0,
  ) {}

  /** A copy that shares no state with this one. */
  clone(): Inflights {
    const c = new Inflights(this.size, this.maxBytes);
    c.start = this.start;
    c.cnt = this.cnt;
    c.totalBytes = this.totalBytes;
    c.indexes = this.indexes.slice();
    c.sizes = this.sizes.slice();
    return c;
  }

  /** Records a sent message whose last entry is `index`; indexes must be added in order. */
  add(index: number, bytes: number): void {
    if (this.full()) throw new Error('cannot add into a Full inflights');
    let next = this.start + this.cnt;
    if (next >= this.size) next -= this.size;
    if (next >= this.indexes.length) this.grow();
    this.indexes[next] = index;
    this.sizes[next] = bytes;
    this.cnt++;
    this.totalBytes += bytes;
  }

  // Doubles the buffer (up to `size`) so a large limit costs nothing until it is used.
  private grow(): void {
    let newSize = this.indexes.length * 2;
    if (newSize === 0) newSize = 1;
    else if (newSize > this.size) newSize = this.size;
    // Only reached when the ring has not wrapped (next == length), so a plain extension keeps order.
    // Push rather than set length, so the arrays stay packed.
    for (let i = this.indexes.length; i < newSize; i++) {
      this.indexes.push(0);
      this.sizes.push(0);
    }
  }

  /** Frees every in-flight message whose last index is ≤ `to`. */
  freeLE(to: number): void {
    if (this.cnt === 0 || to < this.indexes[this.start]) return;
    let idx = this.start;
    let i = 0;
    let bytes = 0;
    for (; i < this.cnt; i++) {
      if (to < this.indexes[idx]) break;
      bytes += this.sizes[idx];
      if (++idx >= this.size) idx -= this.size;
    }
    this.cnt -= i;
    this.totalBytes -= bytes;
    this.start = idx;
    // An empty window restarts at 0 so the buffer does not grow needlessly.
    if (this.cnt === 0) this.start = 0;
  }

  /** Whether no more messages may be sent: the count or the byte budget is exhausted. */
  full(): boolean {
    return (
      this.cnt === this.size ||
      (this.maxBytes !== 0 && this.maxBytes !== Infinity && this.totalBytes >= this.maxBytes)
    );
  }

  /** Number of in-flight messages. */
  count(): number {
    return this.cnt;
  }

  /** Total bytes in flight. */
  bytes(): number {
    return this.totalBytes;
  }

  /** Frees everything. */
  reset(): void {
    this.cnt = 0;
    this.start = 0;
    this.totalBytes = 0;
  }
}
