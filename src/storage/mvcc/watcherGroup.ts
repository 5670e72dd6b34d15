// Groups of watchers indexed for matching events to them (etcd's watcher_group.go): single-key
// watchers by key, range watchers by interval; and the per-watcher batches of matched events.

import type { Event } from './kv.js';
import { IntervalMap } from './intervalMap.js';
import { keyString } from './treeIndex.js';
import type { Watcher } from './watcher.js';

/** Maximum revisions in one response; more are sent in the next round (etcd's watchBatchMaxRevs). */
export const WATCH_BATCH_MAX_REVS = 1000;

/** Events for one watcher, whole revisions only; moreRev is the first revision left for later. */
export class EventBatch {
  evs: Event[] = [];
  revs = 0;
  moreRev = 0;

  add(ev: Event, maxRevs: number): void {
    if (this.revs > maxRevs) return;
    if (this.evs.length === 0) {
      this.revs = 1;
      this.evs.push(ev);
      return;
    }
    const evRev = ev.kv.modRevision;
    if (evRev > this.evs[this.evs.length - 1].kv.modRevision) {
      this.revs++;
      if (this.revs > maxRevs) {
        this.moreRev = evRev;
        return;
      }
    }
    this.evs.push(ev);
  }
}

export type WatcherBatch = Map<Watcher, EventBatch>;

export class WatcherGroup {
  readonly keyWatchers = new Map<string, Set<Watcher>>();
  readonly ranges = new IntervalMap<Set<Watcher>>();
  readonly watchers = new Set<Watcher>();

  get size(): number {
    return this.watchers.size;
  }

  has(w: Watcher): boolean {
    return this.watchers.has(w);
  }

  add(w: Watcher): void {
    this.watchers.add(w);
    if (w.sEnd === null) {
      let set = this.keyWatchers.get(w.skey);
      if (set === undefined) {
        set = new Set();
        this.keyWatchers.set(w.skey, set);
      }
      set.add(w);
      return;
    }
    let set = this.ranges.get(w.skey, w.sEnd);
    if (set === undefined) {
      set = new Set();
      this.ranges.set(w.skey, w.sEnd, set);
    }
    set.add(w);
  }

  delete(w: Watcher): boolean {
    if (!this.watchers.delete(w)) return false;
    if (w.sEnd === null) {
      const set = this.keyWatchers.get(w.skey);
      if (set !== undefined && set.delete(w) && set.size === 0) this.keyWatchers.delete(w.skey);
      return true;
    }
    const set = this.ranges.get(w.skey, w.sEnd);
    if (set !== undefined && set.delete(w) && set.size === 0) this.ranges.delete(w.skey, w.sEnd);
    return true;
  }

  /** Whether some watcher of the group watches the key. */
  contains(skey: string): boolean {
    return this.keyWatchers.has(skey) || this.ranges.intersects(skey);
  }

  /** Calls fn for each watcher watching the key (each once). */
  forEachWatching(skey: string, fn: (w: Watcher) => void): void {
    const set = this.keyWatchers.get(skey);
    if (set !== undefined) for (const w of set) fn(w);
    if (this.ranges.size === 0) return;
    const sets: Set<Watcher>[] = [];
    this.ranges.stab(skey, sets);
    for (const s of sets) for (const w of s) fn(w);
  }

  /** The events each watcher should get: those at or after its minRev. */
  batch(evs: Event[], maxRevs: number): WatcherBatch {
    const wb: WatcherBatch = new Map();
    if (this.watchers.size === 0) return wb;
    for (const ev of evs) {
      this.forEachWatching(keyString(ev.kv.key), (w) => {
        if (ev.kv.modRevision < w.minRev) return; // already seen
        let eb = wb.get(w);
        if (eb === undefined) {
          eb = new EventBatch();
          wb.set(w, eb);
        }
        eb.add(ev, maxRevs);
      });
    }
    return wb;
  }
}
