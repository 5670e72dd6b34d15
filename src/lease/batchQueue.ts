// A bounded queue of batches, the counterpart of etcd's buffered `expiredC` channel: the producer
// never blocks (a full queue drops the batch, which the lessor offers again after its retry
// interval), the consumer polls or awaits the next batch.

export class BatchQueue<T> {
  readonly capacity: number;
  private readonly buf: T[][] = [];
  private waiters: ((batch: T[]) => void)[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get length(): number {
    return this.buf.length;
  }

  /** Hands the batch to a waiting consumer or buffers it; false when the queue is full. */
  trySend(batch: T[]): boolean {
    const w = this.waiters.shift();
    if (w !== undefined) {
      w(batch);
      return true;
    }
    if (this.buf.length >= this.capacity) return false;
    this.buf.push(batch);
    return true;
  }

  /** The oldest buffered batch, if any, without waiting. */
  poll(): T[] | undefined {
    return this.buf.shift();
  }

  /** The next batch; waits until one is sent. */
  next(): Promise<T[]> {
    const b = this.buf.shift();
    if (b !== undefined) return Promise.resolve(b);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
