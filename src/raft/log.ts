// The raft log (etcd-raft log.go): stable entries in Storage plus the Unstable tail, with the
// commit / applying / applied cursors and the size-bounded hand-out of committed entries.
//
// Go multi-value returns become tuples: term() -> [term, err], slice()/entries() -> [ents, err],
// maybeAppend() -> [lastnewi, ok], findConflictByTerm() -> [index, term], snapshot() -> [snap, err].
// Methods that Go changed from (index, term) arguments to an entryID (matchTerm, isUpToDate,
// maybeCommit, stableTo) and maybeAppend (logSlice vs. index/logTerm/entries) accept both forms.
import { emptySnapshot } from './raftpb/types.js';
import type { Entry, Snapshot } from './raftpb/types.js';
import type { Logger } from './logger.js';
import type { Storage } from './storage.js';
import type { EntryID } from './logTypes.js';
import { ErrCompacted, ErrUnavailable, RaftError } from './errors.js';
import { Unstable } from './logUnstable.js';
import { entsSize, limitSizeEnd, noLimit } from './util.js';
import { entrySize } from './raftpb/codec.js';

// Internal term lookups return these instead of allocating an [term, err] pair.
const TERM_COMPACTED = -1;
const TERM_UNAVAILABLE = -2;

/** What maybeAppend needs of a log slice (a LogSlice or a plain object). */
export interface AppendSlice {
  prev: EntryID;
  entries: Entry[];
}

export class RaftLog {
  /** All stable entries since the last snapshot. */
  storage: Storage;
  /** Entries and snapshot not yet persisted. */
  unstable: Unstable;
  /** Highest index known to be in stable storage on a quorum. */
  committed: number;
  /** Highest index handed to the application for applying. applied <= applying <= committed. */
  applying: number;
  /** Highest index the application has applied. */
  applied: number;
  logger: Logger;
  /** Bound on the bytes of entries handed out by nextCommittedEnts and not yet acknowledged. */
  maxApplyingEntsSize: number;
  applyingEntsSize = 0;
  /** Entry application is paused until enough is acknowledged through appliedTo. */
  applyingEntsPaused = false;

  constructor(storage: Storage, logger: Logger, maxApplyingEntsSize: number = noLimit) {
    if (!storage) throw new Error('storage must not be nil');
    this.storage = storage;
    this.logger = logger;
    this.maxApplyingEntsSize = maxApplyingEntsSize;
    const firstIndex = storage.firstIndex();
    const lastIndex = storage.lastIndex();
    this.unstable = new Unstable(logger);
    this.unstable.offset = lastIndex + 1;
    this.unstable.offsetInProgress = lastIndex + 1;
    // Start at the last compaction point: the snapshot is committed and applied.
    this.committed = firstIndex - 1;
    this.applying = firstIndex - 1;
    this.applied = firstIndex - 1;
  }

  toString(): string {
    const u = this.unstable;
    return (
      `committed=${this.committed}, applied=${this.applied}, applying=${this.applying}, ` +
      `unstable.offset=${u.offset}, unstable.offsetInProgress=${u.offsetInProgress}, len(unstable.Entries)=${u.entries.length}`
    );
  }

  /**
   * Appends the entries following `prev` if prev matches the log, truncating a conflicting suffix,
   * and commits up to min(committed, last new index). Returns [lastnewi, true], or [0, false] when
   * prev does not match.
   */
  maybeAppend(a: AppendSlice, committed: number): [number, boolean];
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): [number, boolean];
  maybeAppend(a: AppendSlice | number, b: number, c?: number, d?: Entry[]): [number, boolean] {
    let prevIndex: number;
    let prevTerm: number;
    let committed: number;
    let ents: Entry[];
    if (typeof a === 'number') {
      prevIndex = a;
      prevTerm = b;
      committed = c!;
      ents = d ?? [];
    } else {
      prevIndex = a.prev.index;
      prevTerm = a.prev.term;
      committed = b;
      ents = a.entries;
    }
    if (this.termOrNeg(prevIndex) !== prevTerm) return [0, false];
    const lastnewi = prevIndex + ents.length;
    const ci = this.findConflict(ents);
    if (ci === 0) {
      // Everything is already in the log.
    } else if (ci <= this.committed) {
      this.logger.panic(`entry ${ci} conflict with committed entry [committed(${this.committed})]`);
    } else {
      const offset = prevIndex + 1;
      if (ci - offset > ents.length) {
        this.logger.panic(`index, ${ci - offset}, is out of range [${ents.length}]`);
      }
      this.appendEntries(ci - offset === 0 ? ents : ents.slice(ci - offset));
    }
    this.commitTo(Math.min(committed, lastnewi));
    return [lastnewi, true];
  }

  /** Appends entries (cutting the log at the first one's index); returns the new last index. */
  append(...ents: Entry[] | [Entry[]]): number {
    const list: Entry[] = ents.length === 1 && Array.isArray(ents[0]) ? ents[0] : (ents as Entry[]);
    return this.appendEntries(list);
  }

  /** append() taking an array (no spread for long runs). */
  appendEntries(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0].index - 1;
    if (after < this.committed) {
      this.logger.panic(`after(${after}) is out of range [committed(${this.committed})]`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * Index of the first entry whose term differs from ours (a conflict, or the first new entry),
   * or 0 if all the entries are already in the log. Indexes must be contiguous.
   */
  findConflict(ents: readonly Entry[]): number {
    for (let k = 0; k < ents.length; k++) {
      const ne = ents[k];
      const t = this.termOrNeg(ne.index);
      if (t !== ne.term) {
        if (ne.index <= this.lastIndex()) {
          this.logger.info(
            `found conflict at index ${ne.index} [existing term: ${t < 0 ? 0 : t}, conflicting term: ${ne.term}]`,
          );
        }
        return ne.index;
      }
    }
    return 0;
  }

  /**
   * Best guess at where our log stops matching a log known only by one entry (index, term): the
   * largest guessIndex <= index with term(guessIndex) <= term or unknown. Returns [guessIndex,
   * term(guessIndex)], the term being 0 when unknown (compacted or not stored).
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (; index > 0; index--) {
      const ourTerm = this.termOrNeg(index);
      if (ourTerm < 0) return [index, 0];
      if (ourTerm <= term) return [index, ourTerm];
    }
    return [0, 0];
  }

  /** Unstable entries not already being persisted (a fresh array). */
  nextUnstableEnts(): Entry[] {
    return this.unstable.nextEntries();
  }

  hasNextUnstableEnts(): boolean {
    return this.unstable.hasNextEntries();
  }

  /** Whether entries are waiting to be persisted or being persisted. */
  hasNextOrInProgressUnstableEnts(): boolean {
    return this.unstable.entries.length > 0;
  }

  /**
   * Committed entries ready to apply, bounded by the applying size budget. With allowUnstable,
   * committed entries not yet persisted locally may be included.
   */
  nextCommittedEnts(allowUnstable: boolean): Entry[] {
    if (this.applyingEntsPaused) return [];
    // Apply a pending snapshot before any entries.
    if (this.hasNextOrInProgressSnapshot()) return [];
    const lo = this.applying + 1;
    const hi = this.maxAppliableIndex(allowUnstable) + 1; // [lo, hi)
    if (lo >= hi) return [];
    const maxSize = this.maxApplyingEntsSize - this.applyingEntsSize;
    if (maxSize <= 0) {
      this.logger.panic(
        `applying entry size (${this.maxApplyingEntsSize}-${this.applyingEntsSize})=${maxSize} not positive`,
      );
    }
    const [ents, err] = this.slice(lo, hi, maxSize);
    if (err !== null) this.logger.panic(`unexpected error when getting unapplied entries (${err.message})`);
    return ents;
  }

  /** Cheap check of whether nextCommittedEnts would return anything. */
  hasNextCommittedEnts(allowUnstable: boolean): boolean {
    if (this.applyingEntsPaused) return false;
    if (this.hasNextOrInProgressSnapshot()) return false;
    return this.applying + 1 < this.maxAppliableIndex(allowUnstable) + 1;
  }

  /** The highest committed index that may be applied (only persisted ones unless allowUnstable). */
  maxAppliableIndex(allowUnstable: boolean): number {
    let hi = this.committed;
    if (!allowUnstable) hi = Math.min(hi, this.unstable.offset - 1);
    return hi;
  }

  /** The unstable snapshot if it is not already being persisted. */
  nextUnstableSnapshot(): Snapshot | null {
    return this.unstable.nextSnapshot();
  }

  hasNextUnstableSnapshot(): boolean {
    return this.unstable.nextSnapshot() !== null;
  }

  /** Whether a snapshot is waiting to be persisted/applied or being persisted. */
  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== null;
  }

  snapshot(): [Snapshot, Error | null] {
    if (this.unstable.snapshot !== null) return [this.unstable.snapshot, null];
    try {
      return [this.storage.snapshot(), null];
    } catch (e) {
      // Storage reports (e.g. ErrSnapshotTemporarilyUnavailable) become the returned error.
      if (e instanceof RaftError) return [emptySnapshot(), e];
      throw e;
    }
  }

  firstIndex(): number {
    const s = this.unstable.snapshot;
    if (s !== null) return s.metadata.index + 1;
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    const u = this.unstable;
    if (u.entries.length !== 0) return u.offset + u.entries.length - 1;
    if (u.snapshot !== null) return u.snapshot.metadata.index;
    return this.storage.lastIndex();
  }

  /** Raises the commit index (never lowers it); panics beyond the last index. */
  commitTo(tocommit: number): void {
    if (this.committed < tocommit) {
      if (this.lastIndex() < tocommit) {
        this.logger.panic(
          `tocommit(${tocommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
        );
      }
      this.committed = tocommit;
    }
  }

  /** The application applied up to i; `size` bytes of handed-out entries are released. */
  appliedTo(i: number, size: number): void {
    if (this.committed < i || i < this.applied) {
      this.logger.panic(`applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = i;
    this.applying = Math.max(this.applying, i);
    this.applyingEntsSize = this.applyingEntsSize > size ? this.applyingEntsSize - size : 0;
    this.applyingEntsPaused = this.applyingEntsSize >= this.maxApplyingEntsSize;
  }

  /** Entries up to i (of `size` bytes) were handed to the application for applying. */
  acceptApplying(i: number, size: number, allowUnstable: boolean): void {
    if (this.committed < i) {
      this.logger.panic(`applying(${i}) is out of range [prevApplying(${this.applying}), committed(${this.committed})]`);
    }
    this.applying = i;
    this.applyingEntsSize += size;
    // Pause when the budget is used up, or when the hand-out was cut short by the size limit
    // (i below what could have been applied), meaning the next entry would exceed it.
    this.applyingEntsPaused =
      this.applyingEntsSize >= this.maxApplyingEntsSize || i < this.maxAppliableIndex(allowUnstable);
  }

  stableTo(id: EntryID): void;
  stableTo(i: number, t: number): void;
  stableTo(a: EntryID | number, t?: number): void {
    if (typeof a === 'number') this.unstable.stableTo(a, t!);
    else this.unstable.stableTo(a);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  /** The application started persisting the current unstable entries/snapshot. */
  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  lastTerm(): number {
    const i = this.lastIndex();
    const t = this.termOrNeg(i);
    if (t < 0) this.logger.panic(`unexpected error when getting the last term (${termErr(t).message})`);
    return t;
  }

  lastEntryID(): EntryID {
    const index = this.lastIndex();
    const t = this.termOrNeg(index);
    if (t < 0) {
      this.logger.panic(`unexpected error when getting the last term at ${index}: ${termErr(t).message}`);
    }
    return { term: t, index };
  }

  /** [term of entry i, null], or [0, ErrCompacted | ErrUnavailable]. */
  term(i: number): [number, Error | null] {
    const t = this.termOrNeg(i);
    return t >= 0 ? [t, null] : [0, termErr(t)];
  }

  /**
   * term() without the pair: the term, or TERM_COMPACTED / TERM_UNAVAILABLE (negative). The valid
   * range is [firstIndex-1, lastIndex]: the entry before firstIndex keeps its term for matching.
   */
  termOrNeg(i: number): number {
    // The unstable log first: a hit there is in range without asking storage for bounds.
    const ut = this.unstable.termOrNeg(i);
    if (ut >= 0) return ut;
    if (i + 1 < this.firstIndex()) return TERM_COMPACTED;
    if (i > this.lastIndex()) return TERM_UNAVAILABLE;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e === ErrCompacted) return TERM_COMPACTED;
      if (e === ErrUnavailable) return TERM_UNAVAILABLE;
      throw e;
    }
  }

  /** Entries from i to the end, up to maxSize bytes. */
  entries(i: number, maxSize: number): [Entry[], Error | null] {
    if (i > this.lastIndex()) return [[], null];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  allEntries(): Entry[] {
    for (;;) {
      const [ents, err] = this.entries(this.firstIndex(), noLimit);
      if (err === null) return ents;
      // A racing compaction: try again.
      if (err !== ErrCompacted) throw err;
    }
  }

  /**
   * Whether a log ending at `their` (last index, last term) is at least as up to date as ours:
   * a later last term wins; with equal terms the longer log wins.
   */
  isUpToDate(their: EntryID): boolean;
  isUpToDate(lasti: number, term: number): boolean;
  isUpToDate(a: EntryID | number, b?: number): boolean {
    const index = typeof a === 'number' ? a : a.index;
    const term = typeof a === 'number' ? b! : a.term;
    const our = this.lastEntryID();
    return term > our.term || (term === our.term && index >= our.index);
  }

  matchTerm(id: EntryID): boolean;
  matchTerm(i: number, term: number): boolean;
  matchTerm(a: EntryID | number, b?: number): boolean {
    const t = typeof a === 'number' ? this.termOrNeg(a) : this.termOrNeg(a.index);
    return t >= 0 && t === (typeof a === 'number' ? b : a.term);
  }

  /** Commits up to `at` if that entry is in our log with the given (non-zero) term. */
  maybeCommit(at: EntryID): boolean;
  maybeCommit(maxIndex: number, term: number): boolean;
  maybeCommit(a: EntryID | number, b?: number): boolean {
    const index = typeof a === 'number' ? a : a.index;
    const term = typeof a === 'number' ? b! : a.term;
    // A term of 0 never counts as a match (no leader commits at term 0).
    if (term !== 0 && index > this.committed && this.termOrNeg(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.logger.info(
      `log [${this.toString()}] starts to restore snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`,
    );
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /**
   * Visits the entries in [lo, hi) in consecutive pages of up to pageSize bytes (a page holds at
   * least one entry). Stops at, and returns, the first error from the visitor or from reading.
   */
  scan(lo: number, hi: number, pageSize: number, v: (ents: Entry[]) => Error | null): Error | null {
    while (lo < hi) {
      const [ents, err] = this.slice(lo, hi, pageSize);
      if (err !== null) return err;
      if (ents.length === 0) return new Error(`got 0 entries in [${lo}, ${hi})`);
      const verr = v(ents);
      if (verr !== null) return verr;
      lo += ents.length;
    }
    return null;
  }

  /** Entries in [lo, hi) up to maxSize bytes (at least one), from storage and/or unstable. */
  slice(lo: number, hi: number, maxSize: number): [Entry[], Error | null] {
    const err = this.mustCheckOutOfBounds(lo, hi);
    if (err !== null) return [[], err];
    if (lo === hi) return [[], null];
    const u = this.unstable;
    if (lo >= u.offset) {
      u.mustCheckOutOfBounds(lo, hi);
      const from = lo - u.offset;
      return [u.entries.slice(from, limitSizeEnd(u.entries, from, hi - u.offset, maxSize)), null];
    }

    const cut = Math.min(hi, u.offset);
    let ents: Entry[];
    try {
      ents = this.storage.entries(lo, cut, maxSize);
    } catch (e) {
      if (e === ErrCompacted) return [[], ErrCompacted];
      if (e === ErrUnavailable) this.logger.panic(`entries[${lo}:${cut}) is unavailable from storage`);
      throw e;
    }
    if (hi <= u.offset) return [ents, null];
    // Storage cut the range short: the size limit was reached.
    if (ents.length < cut - lo) return [ents, null];

    let size = 0;
    if (maxSize !== Infinity) {
      size = entsSize(ents);
      if (size >= maxSize) return [ents, null];
    }
    u.mustCheckOutOfBounds(u.offset, hi);
    const end = limitSizeEnd(u.entries, 0, hi - u.offset, maxSize - size);
    // limitSizeEnd always yields one entry; drop it if it alone breaks the remaining budget.
    if (end === 1 && maxSize !== Infinity && size + entrySize(u.entries[0]) > maxSize) return [ents, null];
    for (let k = 0; k < end; k++) ents.push(u.entries[k]);
    return [ents, null];
  }

  /** Requires firstIndex <= lo <= hi <= lastIndex+1: ErrCompacted below, panics above. */
  mustCheckOutOfBounds(lo: number, hi: number): Error | null {
    if (lo > hi) this.logger.panic(`invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) return ErrCompacted;
    const li = this.lastIndex();
    if (hi > li + 1) this.logger.panic(`slice[${lo},${hi}) out of bound [${fi},${li}]`);
    return null;
  }

  /**
   * The term, or 0 if the lookup failed with ErrCompacted/ErrUnavailable; panics on other errors.
   * Takes term()'s pair directly: zeroTermOnOutOfBounds(log.term(i)).
   */
  zeroTermOnOutOfBounds(res: [number, Error | null]): number;
  zeroTermOnOutOfBounds(t: number, err: Error | null): number;
  zeroTermOnOutOfBounds(a: [number, Error | null] | number, b?: Error | null): number {
    const [t, err] = typeof a === 'number' ? [a, b ?? null] : a;
    if (err === null) return t;
    if (err === ErrCompacted || err === ErrUnavailable) return 0;
    this.logger.panic(`unexpected error (${err.message})`);
  }
}

function termErr(t: number): Error {
  return t === TERM_COMPACTED ? ErrCompacted : ErrUnavailable;
}

export function newLog(storage: Storage, logger: Logger): RaftLog {
  return new RaftLog(storage, logger, noLimit);
}

export function newLogWithSize(storage: Storage, logger: Logger, maxApplyingEntsSize: number): RaftLog {
  return new RaftLog(storage, logger, maxApplyingEntsSize);
}
