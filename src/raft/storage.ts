// The Storage interface raft reads its stable log through, and MemoryStorage, an in-memory
// implementation (etcd-raft storage.go). Storage methods throw the storage error singletons
// (ErrCompacted, ErrUnavailable, ...); the raft log catches them by identity.
import {
  ConfState,
  Entry,
  EntryType,
  EMPTY_BYTES,
  HardState,
  Snapshot,
  emptyHardState,
  emptySnapshot,
} from './raftpb/types.js';
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable } from './errors.js';
import { RaftPanic } from './logger.js';
import { limitSizeEnd } from './util.js';

export interface Storage {
  /** The saved HardState (all-zero if none) and the ConfState of the latest snapshot. */
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Consecutive entries in [lo, hi), at most maxSize encoded bytes (Infinity = no limit) but at
   * least one entry if any. The caller owns the returned array; entries must not be mutated.
   * Throws ErrCompacted if lo is compacted, ErrUnavailable if some entry is missing.
   */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /** Term of entry i, for i in [firstIndex()-1, lastIndex()]. */
  term(i: number): number;
  lastIndex(): number;
  /** Index of the first entry possibly available via entries(); older ones are in the snapshot. */
  firstIndex(): number;
  /** The most recent snapshot; throws ErrSnapshotTemporarilyUnavailable if it is being built. */
  snapshot(): Snapshot;
}

/** How often each Storage method was called (tests assert on access patterns). */
export interface StorageCallStats {
  initialState: number;
  firstIndex: number;
  lastIndex: number;
  entries: number;
  term: number;
  snapshot: number;
}

function dummyEntry(term: number, index: number): Entry {
  return { term, index, type: EntryType.EntryNormal, data: EMPTY_BYTES };
}

function cloneConfState(cs: ConfState): ConfState {
  return {
    voters: cs.voters.slice(),
    learners: cs.learners.slice(),
    votersOutgoing: cs.votersOutgoing.slice(),
    learnersNext: cs.learnersNext.slice(),
    autoLeave: cs.autoLeave,
  };
}

function cloneSnapshot(s: Snapshot): Snapshot {
  const m = s.metadata;
  return { data: s.data, metadata: { index: m.index, term: m.term, confState: cloneConfState(m.confState) } };
}

/**
 * Storage backed by an array. `ents[0]` is a dummy entry at the snapshot position (its index and
 * term are the snapshot's), so firstIndex = ents[0].index+1 and lastIndex = ents[0].index+len-1.
 * Arrays handed out are always copies, so the internal array may be edited in place.
 */
export class MemoryStorage implements Storage {
  hardState: HardState = emptyHardState();
  // Named snap (not snapshot) because snapshot() is the Storage method.
  protected snap: Snapshot = emptySnapshot();
  /** ents[i] has log index ents[0].index+i; ents[0] is the dummy. Exposed for tests and subclasses. */
  ents: Entry[] = [dummyEntry(0, 0)];
  callStats: StorageCallStats = { initialState: 0, firstIndex: 0, lastIndex: 0, entries: 0, term: 0, snapshot: 0 };

  initialState(): { hardState: HardState; confState: ConfState } {
    this.callStats.initialState++;
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  setHardState(st: HardState): Error | null {
    this.hardState = st;
    return null;
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    this.callStats.entries++;
    const offset = this.ents[0].index;
    if (lo <= offset) throw ErrCompacted;
    if (hi > this.lastIndexInternal() + 1) {
      throw new RaftPanic(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndexInternal()})`);
    }
    // Only the dummy entry: nothing is stored.
    if (this.ents.length === 1) throw ErrUnavailable;
    const from = lo - offset;
    return this.ents.slice(from, limitSizeEnd(this.ents, from, hi - offset, maxSize));
  }

  term(i: number): number {
    this.callStats.term++;
    const offset = this.ents[0].index;
    if (i < offset) throw ErrCompacted;
    if (i - offset >= this.ents.length) throw ErrUnavailable;
    return this.ents[i - offset].term;
  }

  lastIndex(): number {
    this.callStats.lastIndex++;
    return this.lastIndexInternal();
  }

  firstIndex(): number {
    this.callStats.firstIndex++;
    return this.ents[0].index + 1;
  }

  snapshot(): Snapshot {
    this.callStats.snapshot++;
    return cloneSnapshot(this.snap);
  }

  protected lastIndexInternal(): number {
    return this.ents[0].index + this.ents.length - 1;
  }

  /** Replaces the whole contents with the snapshot. Fails with ErrSnapOutOfDate if it is older. */
  applySnapshot(snap: Snapshot): Error | null {
    const msIndex = this.snap.metadata.index;
    const snapIndex = snap.metadata.index;
    // A bootstrap snapshot may carry only a ConfState (index and term 0) and is always accepted.
    if (msIndex !== 0 && msIndex >= snapIndex) return ErrSnapOutOfDate;
    this.snap = cloneSnapshot(snap);
    this.ents = [dummyEntry(snap.metadata.term, snapIndex)];
    return null;
  }

  /**
   * Makes a snapshot at index i (retrievable with snapshot()) holding `data`; `cs`, if given,
   * replaces the ConfState (pass the result of the last applyConfChange).
   */
  createSnapshot(i: number, cs: ConfState | null, data: Uint8Array): [Snapshot, Error | null] {
    if (i <= this.snap.metadata.index) return [emptySnapshot(), ErrSnapOutOfDate];
    const offset = this.ents[0].index;
    if (i > this.lastIndexInternal()) {
      throw new RaftPanic(`snapshot ${i} is out of bound lastindex(${this.lastIndexInternal()})`);
    }
    const m = this.snap.metadata;
    this.snap = {
      data,
      metadata: {
        index: i,
        term: this.ents[i - offset].term,
        confState: cs ? cloneConfState(cs) : m.confState,
      },
    };
    return [cloneSnapshot(this.snap), null];
  }

  /**
   * Discards entries before compactIndex; entry compactIndex becomes the new dummy, so afterwards
   * firstIndex() is compactIndex+1. The caller must not compact beyond what it has applied.
   */
  compact(compactIndex: number): Error | null {
    const offset = this.ents[0].index;
    if (compactIndex <= offset) return ErrCompacted;
    if (compactIndex > this.lastIndexInternal()) {
      throw new RaftPanic(`compact ${compactIndex} is out of bound lastindex(${this.lastIndexInternal()})`);
    }
    const i = compactIndex - offset;
    const keep = this.ents[i];
    this.ents.splice(0, i);
    this.ents[0] = dummyEntry(keep.term, keep.index);
    return null;
  }

  /**
   * Appends entries, dropping any prefix already covered by the snapshot and replacing the stored
   * log from the first new entry's index on (no term check). A gap after lastIndex() panics.
   */
  append(entries: readonly Entry[]): Error | null {
    if (entries.length === 0) return null;
    const first = this.ents[0].index + 1;
    const last = entries[0].index + entries.length - 1;
    // Nothing new.
    if (last < first) return null;
    // Skip the compacted prefix.
    const start = first > entries[0].index ? first - entries[0].index : 0;
    const offset = entries[start].index - this.ents[0].index;
    if (this.ents.length > offset) {
      this.ents.length = offset;
    } else if (this.ents.length < offset) {
      throw new RaftPanic(`missing log entry [last: ${this.lastIndexInternal()}, append at: ${entries[start].index}]`);
    }
    for (let k = start; k < entries.length; k++) this.ents.push(entries[k]);
    return null;
  }
}
