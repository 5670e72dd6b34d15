// Request waiters (etcd's pkg/wait): a proposer registers its request ID and awaits the result the
// apply loop triggers for that ID. Keyed by the 48-bit counter part of the ID (a number), so the
// hot path allocates one promise per request and no bigint.

export type Trigger<T> = (value: T) => void;

export class Wait<T> {
  private readonly m = new Map<number, Trigger<T>>();

  /** Registers `id`; the promise resolves with the value passed to trigger(id). */
  register(id: number): Promise<T> {
    if (this.m.has(id)) throw new Error(`dup id ${id}`);
    return new Promise<T>((resolve) => this.m.set(id, resolve));
  }

  /** Resolves the waiter of `id`, if any; returns whether there was one. */
  trigger(id: number, value: T): boolean {
    const t = this.m.get(id);
    if (t === undefined) return false;
    this.m.delete(id);
    t(value);
    return true;
  }

  isRegistered(id: number): boolean {
    return this.m.has(id);
  }

  get size(): number {
    return this.m.size;
  }

  /** Resolves every waiter with `value` (used on stop). */
  triggerAll(value: T): void {
    const all = [...this.m.values()];
    this.m.clear();
    for (const t of all) t(value);
  }
}

/**
 * Waits for a monotonically increasing index (etcd's WaitTime): wait(i) resolves once trigger(j)
 * was called with j >= i.
 */
export class WaitIndex {
  private last = 0;
  // Waiters sorted by index, ascending; most are appended in order.
  private readonly waiters: { index: number; resolve: () => void }[] = [];

  get current(): number {
    return this.last;
  }

  wait(index: number): Promise<void> {
    if (index <= this.last) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const w = this.waiters;
      let i = w.length;
      while (i > 0 && w[i - 1]!.index > index) i--;
      w.splice(i, 0, { index, resolve });
    });
  }

  trigger(index: number): void {
    if (index > this.last) this.last = index;
    const w = this.waiters;
    let n = 0;
    while (n < w.length && w[n]!.index <= index) n++;
    if (n === 0) return;
    const done = w.splice(0, n);
    for (const x of done) x.resolve();
  }

  /** Resolves every waiter (used on stop; the awaiting code re-checks its state). */
  releaseAll(): void {
    const done = this.waiters.splice(0);
    for (const x of done) x.resolve();
  }
}
