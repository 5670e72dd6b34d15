// Min-heaps of (lease ID, time) used by the lessor: the expiry notifier (one entry per lease,
// updated in place) and the checkpoint schedule (plain queue, duplicates allowed), as etcd's
// lease_queue.go. Times are milliseconds of the lessor's clock.

export interface LeaseWithTime {
  id: bigint;
  time: number;
  /** Position in the heap; -1 once removed. */
  index: number;
}

/** A binary min-heap on `time` that keeps each item's index so an item can be re-positioned. */
export class LeaseQueue {
  readonly items: LeaseWithTime[] = [];

  get length(): number {
    return this.items.length;
  }

  peek(): LeaseWithTime | undefined {
    return this.items[0];
  }

  push(item: LeaseWithTime): void {
    item.index = this.items.length;
    this.items.push(item);
    this.up(item.index);
  }

  pop(): LeaseWithTime | undefined {
    const items = this.items;
    const n = items.length;
    if (n === 0) return undefined;
    this.swap(0, n - 1);
    const item = items.pop()!;
    if (n > 1) this.down(0);
    item.index = -1;
    return item;
  }

  /** Restores the heap order after the item at index i changed its time. */
  fix(i: number): void {
    if (!this.down(i)) this.up(i);
  }

  clear(): void {
    this.items.length = 0;
  }

  private swap(i: number, j: number): void {
    const items = this.items;
    const a = items[i];
    items[i] = items[j];
    items[j] = a;
    items[i].index = i;
    items[j].index = j;
  }

  private up(j: number): void {
    const items = this.items;
    while (j > 0) {
      const p = (j - 1) >> 1;
      if (items[p].time <= items[j].time) break;
      this.swap(p, j);
      j = p;
    }
  }

  private down(i0: number): boolean {
    const items = this.items;
    const n = items.length;
    let i = i0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      if (l + 1 < n && items[l + 1].time < items[l].time) c = l + 1;
      if (items[c].time >= items[i].time) break;
      this.swap(i, c);
      i = c;
    }
    return i > i0;
  }
}

/** Lease expiries, one entry per lease: registering a lease again moves its entry. */
export class LeaseExpiredNotifier {
  private readonly m = new Map<bigint, LeaseWithTime>();
  private readonly queue = new LeaseQueue();

  registerOrUpdate(id: bigint, time: number): void {
    const old = this.m.get(id);
    if (old !== undefined) {
      old.time = time;
      this.queue.fix(old.index);
    } else {
      const item = { id, time, index: -1 };
      this.queue.push(item);
      this.m.set(id, item);
    }
  }

  unregister(): LeaseWithTime | undefined {
    const item = this.queue.pop();
    if (item !== undefined) this.m.delete(item.id);
    return item;
  }

  peek(): LeaseWithTime | undefined {
    return this.queue.peek();
  }

  get length(): number {
    return this.m.size;
  }

  clear(): void {
    this.m.clear();
    this.queue.clear();
  }
}
