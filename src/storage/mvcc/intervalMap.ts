// Intervals [start, end) of latin1 key strings ("" as end: unbounded) mapped to values, with a
// stabbing query: which intervals contain a key. Backs the range watchers of a watcher group (etcd
// uses an augmented red-black tree, pkg/adt). Here a centered interval tree is rebuilt lazily after
// changes: range watchers change rarely compared with how often events are matched against them.

interface Item<V> {
  start: string;
  end: string;
  value: V;
}

interface Node<V> {
  center: string;
  byStart: Item<V>[]; // intervals containing center, by start ascending
  byEnd: Item<V>[]; // the same, by end descending (unbounded first)
  left: Node<V> | null; // intervals entirely before center
  right: Node<V> | null; // intervals starting after center
}

const SEP = '\uffff'; // never inside a latin1 string

function endAfter(end: string, p: string): boolean {
  return end === '' || end > p;
}

function endCmpDesc(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return -1;
  if (b === '') return 1;
  return a > b ? -1 : 1;
}

function build<V>(items: Item<V>[]): Node<V> | null {
  if (items.length === 0) return null;
  const starts = items.map((it) => it.start).sort();
  const center = starts[starts.length >>> 1];
  const here: Item<V>[] = [];
  const left: Item<V>[] = [];
  const right: Item<V>[] = [];
  for (const it of items) {
    if (it.start > center) right.push(it);
    else if (!endAfter(it.end, center)) left.push(it);
    else here.push(it);
  }
  return {
    center,
    byStart: here.slice().sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0)),
    byEnd: here.sort((a, b) => endCmpDesc(a.end, b.end)),
    left: build(left),
    right: build(right),
  };
}

export class IntervalMap<V> {
  private readonly items = new Map<string, Item<V>>();
  private root: Node<V> | null = null;
  private dirty = false;

  get size(): number {
    return this.items.size;
  }

  get(start: string, end: string): V | undefined {
    return this.items.get(start + SEP + end)?.value;
  }

  set(start: string, end: string, value: V): void {
    this.items.set(start + SEP + end, { start, end, value });
    this.dirty = true;
  }

  delete(start: string, end: string): boolean {
    const ok = this.items.delete(start + SEP + end);
    if (ok) this.dirty = true;
    return ok;
  }

  /** Appends the values of every interval containing p to out. */
  stab(p: string, out: V[]): void {
    if (this.items.size === 0) return;
    if (this.dirty) {
      // empty intervals match nothing (and would keep the build from making progress)
      this.root = build([...this.items.values()].filter((it) => endAfter(it.end, it.start)));
      this.dirty = false;
    }
    let n = this.root;
    while (n !== null) {
      if (p < n.center) {
        for (const it of n.byStart) {
          if (it.start > p) break;
          out.push(it.value);
        }
        n = n.left;
      } else {
        for (const it of n.byEnd) {
          if (!endAfter(it.end, p)) break;
          out.push(it.value);
        }
        n = n.right;
      }
    }
  }

  /** Whether any interval contains p. */
  intersects(p: string): boolean {
    const out: V[] = [];
    this.stab(p, out);
    return out.length > 0;
  }
}
