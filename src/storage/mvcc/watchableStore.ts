// The watchable KV store (etcd's watchable_store.go): the KV store plus watchers in three groups.
// Synced watchers are at the store's revision and get each new revision as it is published;
// unsynced watchers (start revision in the past) catch up from the backend in the background;
// victims are watchers whose stream queue was full, parked with their pending events and retried.
// A watcher whose start revision was compacted gets one response with compactRevision and is
// dropped. Guarantees: events in revision order, each once, none lost, a revision never split.

import type { Backend } from '../backend/backend.js';
import { Bucket } from '../backend/buckets.js';
import { decodeKeyValue, EventType, type Event, type KeyValue } from './kv.js';
import { KVStore, type LeaseAttacher, type StoreConfig } from './kvstore.js';
import { bytesToMain, isTombstone, revToBytes } from './revision.js';
import { keyString } from './treeIndex.js';
import {
  INVALID_WATCH_ID,
  Watcher,
  WatchStream,
  type Watchable,
  type WatchOptions,
} from './watcher.js';
import { EventBatch, WATCH_BATCH_MAX_REVS, WatcherGroup, type WatcherBatch } from './watcherGroup.js';

export interface WatchableStoreConfig extends StoreConfig {
  /** Milliseconds between catch-up rounds of unsynced watchers (etcd: 100). */
  syncInterval?: number;
  /** Milliseconds between retries of victims (etcd: 10). */
  victimInterval?: number;
  /** Unsynced watchers caught up per round (etcd: 512). */
  maxWatchersPerSync?: number;
  /** Revisions per watch response (etcd: 1000). */
  watchBatchMaxRevs?: number;
}

function isCreate(ev: Event): boolean {
  return ev.type === EventType.PUT && ev.kv.createRevision === ev.kv.modRevision;
}

export class WatchableStore extends KVStore implements Watchable {
  synced = new WatcherGroup();
  readonly unsynced = new WatcherGroup();
  victims: WatcherBatch[] = [];

  private readonly syncInterval: number;
  private readonly victimInterval: number;
  private readonly maxWatchersPerSync: number;
  private readonly maxRevs: number;
  private syncTimer: NodeJS.Timeout | null = null;
  private victimTimer: NodeJS.Timeout | null = null;
  private victimKick: NodeJS.Immediate | null = null;
  private closed = false;
  private readonly prevKvCache = new WeakMap<Event, Event>();

  constructor(backend: Backend, lessor: LeaseAttacher | null = null, cfg: WatchableStoreConfig = {}) {
    super(backend, lessor, cfg);
    this.syncInterval = cfg.syncInterval ?? 100;
    this.victimInterval = cfg.victimInterval ?? 10;
    this.maxWatchersPerSync = cfg.maxWatchersPerSync ?? 512;
    this.maxRevs = cfg.watchBatchMaxRevs ?? WATCH_BATCH_MAX_REVS;
  }

  newWatchStream(capacity = 128): WatchStream {
    return new WatchStream(this, capacity);
  }

  watch(stream: WatchStream, id: number, key: Buffer, end: Buffer | null, startRev: number, opts: WatchOptions): Watcher {
    const cur = this.currentRev;
    const synced = startRev > cur || startRev === 0;
    const w = new Watcher(stream, id, key, end, synced ? Math.max(cur + 1, startRev) : startRev, opts);
    if (synced) this.synced.add(w);
    else {
      this.unsynced.add(w);
      this.scheduleSync(0);
    }
    return w;
  }

  cancelWatcher(w: Watcher): void {
    if (!this.unsynced.delete(w) && !this.synced.delete(w) && !w.compacted && w.victim) {
      for (const wb of this.victims) if (wb.delete(w)) break;
    }
    w.stream = null;
  }

  // ---- new revisions ----

  protected override notify(rev: number, changes: KeyValue[]): void {
    if (this.synced.size === 0) return;
    const evs: Event[] = new Array(changes.length);
    for (let i = 0; i < changes.length; i++) {
      const kv = changes[i];
      if (kv.createRevision === 0) {
        kv.modRevision = rev; // deletes carry the revision of the delete
        evs[i] = { type: EventType.DELETE, kv };
      } else evs[i] = { type: EventType.PUT, kv };
    }
    let victim: WatcherBatch | null = null;
    if (evs.length === 1) {
      // the common case: one event, shared by every watcher that gets it
      const ev = evs[0];
      const one = evs;
      this.synced.forEachWatching(keyString(ev.kv.key), (w) => {
        if (rev < w.minRev) return;
        if (!w.send(one, rev, this)) {
          victim ??= new Map();
          const eb = new EventBatch();
          eb.evs = one;
          eb.revs = 1;
          this.park(w, eb, victim);
        }
        // also for watchers that stay synced: a snapshot restore resumes them from here
        w.minRev = rev + 1;
      });
    } else {
      for (const [w, eb] of this.synced.batch(evs, this.maxRevs)) {
        if (!w.send(eb.evs, rev, this)) {
          victim ??= new Map();
          this.park(w, eb, victim);
        }
        w.minRev = rev + 1;
      }
    }
    if (victim !== null) this.addVictim(victim);
  }

  /** A synced watcher whose queue is full becomes a victim holding the events it missed. */
  private park(w: Watcher, eb: EventBatch, victim: WatcherBatch): void {
    w.victim = true;
    victim.set(w, eb);
    this.synced.delete(w);
  }

  private addVictim(victim: WatcherBatch): void {
    this.victims.push(victim);
    this.scheduleVictims(this.victimInterval);
  }

  // ---- catching up ----

  private scheduleSync(delay: number): void {
    if (this.syncTimer !== null || this.closed) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      const before = this.unsynced.size;
      const t0 = Date.now();
      const left = this.syncWatchers();
      // more to do: go on soon if this round made progress, yielding as long as it took
      if (left > 0) this.scheduleSync(left < before ? Math.max(1, Date.now() - t0) : this.syncInterval);
    }, delay);
    this.syncTimer.unref(); // background work: never what keeps a process alive
  }

  /** One catch-up round for up to maxWatchersPerSync unsynced watchers; returns how many remain. */
  syncWatchers(): number {
    if (this.unsynced.size === 0) return 0;
    const curRev = this.currentRev;
    const compactRev = this.compactMainRev;
    const { group, minRev } = this.choose(curRev, compactRev);
    if (group.size === 0) return this.unsynced.size;

    const evs = this.rangeEvents(minRev, curRev + 1, group);
    const wb = group.batch(evs, this.maxRevs);
    let victims: WatcherBatch | null = null;
    for (const w of group.watchers) {
      if (w.minRev < compactRev) continue; // its compaction notice did not fit: retried next round
      w.minRev = Math.max(curRev + 1, w.minRev);
      const eb = wb.get(w);
      if (eb === undefined) {
        this.unsynced.delete(w);
        this.synced.add(w);
        continue;
      }
      if (eb.moreRev !== 0) w.minRev = eb.moreRev;
      if (!w.send(eb.evs, curRev, this)) w.victim = true;
      if (w.victim) {
        victims ??= new Map();
        victims.set(w, eb);
      } else {
        if (eb.moreRev !== 0) continue; // stays unsynced: more to read
        this.synced.add(w);
      }
      this.unsynced.delete(w);
    }
    if (victims !== null) this.addVictim(victims);
    return this.unsynced.size;
  }

  /** Picks unsynced watchers to catch up; cancels (with a notice) those behind the compaction. */
  private choose(curRev: number, compactRev: number): { group: WatcherGroup; minRev: number } {
    const all = this.unsynced.size <= this.maxWatchersPerSync;
    const group = all ? this.unsynced : new WatcherGroup();
    let minRev = Number.MAX_SAFE_INTEGER;
    let n = 0;
    for (const w of [...this.unsynced.watchers]) {
      if (!all && n >= this.maxWatchersPerSync) break;
      if (w.minRev > curRev) {
        if (!w.restore) throw new Error(`watcher minimum revision ${w.minRev} should not exceed current revision ${curRev}`);
        w.restore = false;
      }
      if (w.minRev < compactRev) {
        const s = w.stream;
        if (s === null || s.trySend({ watchId: w.id, events: [], revision: 0, compactRevision: compactRev })) {
          w.compacted = true;
          this.unsynced.delete(w);
          if (!all) group.delete(w);
        }
        continue;
      }
      if (!all) group.add(w);
      n++;
      if (w.minRev < minRev) minRev = w.minRev;
    }
    return { group, minRev };
  }

  /** Events of the revisions in [minRev, maxRev) on keys the group watches. */
  private rangeEvents(minRev: number, maxRev: number, group: WatcherGroup): Event[] {
    if (minRev >= maxRev) return [];
    const { keys, values } = this.backend.readTx.range(Bucket.Key, revToBytes(minRev, 0), revToBytes(maxRev, 0));
    const evs: Event[] = [];
    for (let i = 0; i < keys.length; i++) {
      const kv = decodeKeyValue(values[i]);
      if (!group.contains(keyString(kv.key))) continue;
      if (isTombstone(keys[i])) {
        kv.modRevision = bytesToMain(keys[i]);
        evs.push({ type: EventType.DELETE, kv });
      } else evs.push({ type: EventType.PUT, kv });
    }
    return evs;
  }

  // ---- victims ----

  kickVictims(): void {
    if (this.victims.length === 0 || this.victimKick !== null || this.closed) return;
    this.victimKick = setImmediate(() => {
      this.victimKick = null;
      this.runVictims();
    });
  }

  private scheduleVictims(delay: number): void {
    if (this.victimTimer !== null || this.closed) return;
    this.victimTimer = setTimeout(() => {
      this.victimTimer = null;
      this.runVictims();
    }, delay);
    this.victimTimer.unref();
  }

  private runVictims(): void {
    while (this.moveVictims() !== 0) {
      // keep going while responses get through
    }
    if (this.victims.length > 0) this.scheduleVictims(this.victimInterval);
  }

  /** Retries the responses parked with victims; returns how many went out. */
  moveVictims(): number {
    const victims = this.victims;
    this.victims = [];
    let moved = 0;
    let stillBlocked: WatcherBatch | null = null;
    for (const wb of victims) {
      for (const [w, eb] of wb) {
        // the watcher has seen the store up to, but not including, minRev
        if (w.send(eb.evs, w.minRev - 1, this)) moved++;
        else {
          stillBlocked ??= new Map();
          stillBlocked.set(w, eb);
        }
      }
      const curRev = this.currentRev;
      for (const [w, eb] of wb) {
        if (stillBlocked?.has(w)) continue;
        w.victim = false;
        if (eb.moreRev !== 0) w.minRev = eb.moreRev;
        if (w.minRev <= curRev) {
          this.unsynced.add(w);
          this.scheduleSync(0);
        } else this.synced.add(w);
      }
    }
    if (stillBlocked !== null) this.victims.push(stillBlocked);
    return moved;
  }

  // ---- progress ----

  progress(w: Watcher): void {
    if (this.synced.has(w)) w.send([], this.currentRev, this);
  }

  progressAll(watchers: Iterable<Watcher>): boolean {
    let stream: WatchStream | null = null;
    for (const w of watchers) {
      if (!this.synced.has(w)) return false;
      stream ??= w.stream;
    }
    stream?.trySend({ watchId: INVALID_WATCH_ID, events: [], revision: this.currentRev, compactRevision: 0 });
    return true;
  }

  withPrevKv(ev: Event): Event {
    if (isCreate(ev)) return ev;
    const cached = this.prevKvCache.get(ev);
    if (cached !== undefined) return cached;
    let prevKv: KeyValue | undefined;
    try {
      prevKv = this.read().range(ev.kv.key, null, { rev: ev.kv.modRevision - 1 }).kvs[0];
    } catch {
      prevKv = undefined; // compacted meanwhile: no previous value to offer
    }
    const out: Event = prevKv === undefined ? ev : { type: ev.type, kv: ev.kv, prevKv };
    this.prevKvCache.set(ev, out);
    return out;
  }

  // ---- lifecycle ----

  /** After a snapshot restore every synced watcher must catch up again. */
  override restoreFrom(backend: Backend): void {
    super.restoreFrom(backend);
    for (const w of this.synced.watchers) {
      w.restore = true;
      this.unsynced.add(w);
    }
    this.synced = new WatcherGroup();
    this.scheduleSync(0);
  }

  override close(): void {
    this.closed = true;
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    if (this.victimTimer !== null) clearTimeout(this.victimTimer);
    if (this.victimKick !== null) clearImmediate(this.victimKick);
    this.syncTimer = this.victimTimer = null;
    this.victimKick = null;
    super.close();
  }
}
