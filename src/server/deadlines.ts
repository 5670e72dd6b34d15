// Request deadlines without a timer per request: proposals share one timeout, so their deadlines
// arrive in the order they were added and a FIFO queue checked by one periodic sweep suffices.
// A finished request leaves its entry in place; the sweep skips it (the caller's `expire` decides,
// e.g. by asking whether the waiter is still registered).

export type Expire = (id: number, startMs: number) => void;

export class DeadlineQueue {
  private ids: number[] = [];
  private starts: number[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly sweepMs: number;

  /** `timeoutMs` after add(), `expire` is called within one sweep interval (at most 100 ms). */
  constructor(
    private readonly timeoutMs: number,
    private readonly expire: Expire,
  ) {
    this.sweepMs = Math.max(1, Math.min(100, Math.ceil(timeoutMs / 10)));
  }

  get size(): number {
    return this.ids.length - this.head;
  }

  /** Starts the clock for `id` now. */
  add(id: number): void {
    this.ids.push(id);
    this.starts.push(Date.now());
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), this.sweepMs);
      this.timer.unref();
    }
  }

  /** Expires every entry whose deadline has passed. */
  sweep(now: number = Date.now()): void {
    const ids = this.ids;
    const starts = this.starts;
    const cutoff = now - this.timeoutMs;
    let h = this.head;
    while (h < ids.length && starts[h]! <= cutoff) {
      const id = ids[h]!;
      const start = starts[h]!;
      h++;
      this.head = h; // before expire(): it may add() again
      this.expire(id, start);
    }
    if (h === ids.length) {
      this.ids = [];
      this.starts = [];
      this.head = 0;
      this.stopTimer();
    } else if (h > 4096 && h * 2 > ids.length) {
      // Drop the consumed prefix now and then so the arrays do not grow without bound.
      this.ids = ids.slice(h);
      this.starts = starts.slice(h);
      this.head = 0;
    }
  }

  /** Forgets every entry and stops the sweep. */
  stop(): void {
    this.ids = [];
    this.starts = [];
    this.head = 0;
    this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
