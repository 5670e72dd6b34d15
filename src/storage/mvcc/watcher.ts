// Watchers and watch streams (etcd's watcher.go): a stream multiplexes many watchers onto one
// bounded queue of responses (etcd's 128-slot channel). A full queue makes the store park the
// watcher as a victim and retry later, so a slow consumer never loses or reorders events.
//
// Consumers pull: set `onReady` (called in a microtask when responses arrive) and call `take()` /
// `takeAll()`, or `await next()`. Take only as fast as you can forward (e.g. stop while the gRPC
// stream is not writable): the queue's bound is the backpressure.

import { ErrEmptyWatcherRange, ErrWatcherDuplicateID, ErrWatcherNotExist } from './errors.js';
import { eventSize, EventType, type Event } from './kv.js';
import { keyString } from './treeIndex.js';
import { toBuffer } from './storeTxn.js';

export interface WatchResponse {
  watchId: number;
  events: Event[];
  /** Store revision the response reflects (for progress notifications: the current revision). */
  revision: number;
  /** Set when the watcher was cancelled because its start revision has been compacted. */
  compactRevision: number;
}

/** Returns true when the event must NOT be delivered. */
export type FilterFunc = (ev: Event) => boolean;

export const filterNoPut: FilterFunc = (ev) => ev.type === EventType.PUT;
export const filterNoDelete: FilterFunc = (ev) => ev.type === EventType.DELETE;

/** Watch ID meaning "pick one" (clientv3.AutoWatchID). */
export const AUTO_WATCH_ID = 0;
/** Watch ID of progress notifications for a whole stream (clientv3.InvalidWatchID). */
export const INVALID_WATCH_ID = -1;

export interface WatchOptions {
  /** Requested ID; AUTO_WATCH_ID (default) picks the lowest free one. */
  id?: number;
  filters?: FilterFunc[];
  /** Attach the previous key-value to each non-create event. */
  prevKv?: boolean;
}

/** The store side of a stream (implemented by WatchableStore). */
export interface Watchable {
  watch(stream: WatchStream, id: number, key: Buffer, end: Buffer | null, startRev: number, opts: WatchOptions): Watcher;
  cancelWatcher(w: Watcher): void;
  progress(w: Watcher): void;
  progressAll(watchers: Iterable<Watcher>): boolean;
  rev(): number;
  /** The event with its previous key-value attached (cached per event). */
  withPrevKv(ev: Event): Event;
  /** A stream freed queue space: retry parked victims. */
  kickVictims(): void;
}

export class Watcher {
  readonly key: Buffer;
  readonly skey: string;
  /** null: a single key; "" (send): every key >= key. */
  readonly end: Buffer | null;
  readonly sEnd: string | null;
  readonly id: number;
  /** Lowest revision the watcher still accepts. */
  minRev: number;
  victim = false;
  compacted = false;
  /** Moved from synced to unsynced by a snapshot restore (minRev may be in the future). */
  restore = false;
  readonly filters: FilterFunc[];
  readonly prevKv: boolean;
  stream: WatchStream | null;

  constructor(stream: WatchStream, id: number, key: Buffer, end: Buffer | null, minRev: number, opts: WatchOptions) {
    this.stream = stream;
    this.id = id;
    this.key = key;
    this.skey = keyString(key);
    this.end = end;
    this.sEnd = end === null ? null : keyString(end);
    this.minRev = minRev;
    this.filters = opts.filters ?? [];
    this.prevKv = opts.prevKv ?? false;
  }

  /** Queues a response (filtered); false when the stream's queue is full. */
  send(events: Event[], revision: number, store: Watchable): boolean {
    const s = this.stream;
    if (s === null) return true;
    const progress = events.length === 0;
    if (this.filters.length !== 0) {
      const fs = this.filters;
      events = events.filter((ev) => {
        for (const f of fs) if (f(ev)) return false;
        return true;
      });
      // nothing left to say
      if (!progress && events.length === 0) return true;
    }
    if (this.prevKv && events.length !== 0) events = events.map((ev) => store.withPrevKv(ev));
    return s.trySend({ watchId: this.id, events, revision, compactRevision: 0 });
  }
}

export class WatchStream {
  readonly capacity: number;
  /** Called (in a microtask) when responses become available. */
  onReady: (() => void) | null = null;

  private readonly store: Watchable;
  private queue: WatchResponse[] = [];
  private head = 0;
  private readonly watchers = new Map<number, Watcher>();
  private nextId = 0;
  private closed = false;
  private waiter: ((r: WatchResponse | null) => void) | null = null;
  private signalQueued = false;

  constructor(store: Watchable, capacity = 128) {
    this.store = store;
    this.capacity = capacity;
  }

  /**
   * Watches [key, end) (end null: the key alone; empty or "\0": every key >= key) from startRev
   * (0: from the next revision). Returns the watch ID.
   */
  watch(key: Uint8Array, end: Uint8Array | null, startRev: number, opts: WatchOptions = {}): number {
    let e = end === null || end === undefined ? null : toBuffer(end);
    if (e !== null && e.length === 1 && e[0] === 0) e = Buffer.alloc(0);
    const k = toBuffer(key);
    if (e !== null && e.length !== 0 && Buffer.compare(k, e) >= 0) throw ErrEmptyWatcherRange;
    if (this.closed) throw ErrEmptyWatcherRange;
    let id = opts.id ?? AUTO_WATCH_ID;
    if (id === AUTO_WATCH_ID) {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watchers.has(id)) throw ErrWatcherDuplicateID;
    const w = this.store.watch(this, id, Buffer.from(k), e === null ? null : Buffer.from(e), startRev, opts);
    this.watchers.set(id, w);
    return id;
  }

  cancel(id: number): void {
    const w = this.watchers.get(id);
    if (w === undefined || this.closed) throw ErrWatcherNotExist;
    this.store.cancelWatcher(w);
    this.watchers.delete(id);
  }

  /** A progress notification for one watcher, sent only if it is synced. */
  requestProgress(id: number): void {
    const w = this.watchers.get(id);
    if (w !== undefined) this.store.progress(w);
  }

  /** If every watcher of the stream is synced, one progress notification with INVALID_WATCH_ID. */
  requestProgressAll(): boolean {
    return this.store.progressAll(this.watchers.values());
  }

  rev(): number {
    return this.store.rev();
  }

  get size(): number {
    return this.watchers.size;
  }

  close(): void {
    if (this.closed) return;
    for (const w of this.watchers.values()) this.store.cancelWatcher(w);
    this.watchers.clear();
    this.closed = true;
    if (this.waiter !== null && this.pending === 0) {
      const wake = this.waiter;
      this.waiter = null;
      wake(null);
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- the queue ----

  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Queues a response unless the queue is full (called by the store). */
  trySend(r: WatchResponse): boolean {
    if (this.closed) return true;
    if (this.pending >= this.capacity) return false;
    if (this.waiter !== null) {
      const wake = this.waiter;
      this.waiter = null;
      wake(r);
      return true;
    }
    this.queue.push(r);
    if (this.onReady !== null && !this.signalQueued) {
      this.signalQueued = true;
      queueMicrotask(() => {
        this.signalQueued = false;
        if (this.pending > 0) this.onReady?.();
      });
    }
    return true;
  }

  take(): WatchResponse | undefined {
    if (this.head >= this.queue.length) return undefined;
    const r = this.queue[this.head++];
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    this.store.kickVictims();
    return r;
  }

  takeAll(): WatchResponse[] {
    const out = this.head === 0 ? this.queue : this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    if (out.length > 0) this.store.kickVictims();
    return out;
  }

  /** The next response; null once the stream is closed and drained. One caller at a time. */
  next(): Promise<WatchResponse | null> {
    const r = this.take();
    if (r !== undefined) return Promise.resolve(r);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}

/**
 * Splits events into fragments whose encoded size stays under maxBytes, each holding at least one
 * event (etcd's watch "fragment" option); a single fragment when everything fits.
 */
export function fragmentEvents(events: Event[], maxBytes: number): Event[][] {
  const sizes = events.map((ev) => {
    const n = eventSize(ev);
    return n + 1 + (n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4);
  });
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total < maxBytes || events.length < 2) return [events];
  const out: Event[][] = [];
  let cur: Event[] = [];
  let size = 0;
  for (let i = 0; i < events.length; i++) {
    if (cur.length > 0 && size + sizes[i] >= maxBytes) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(events[i]);
    size += sizes[i];
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
