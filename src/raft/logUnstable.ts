// The unstable part of the raft log: entries and an optional snapshot not yet known to be in
// Storage. It holds them until a Ready hands them out for persistence, then keeps serving them (as
// "in progress") until the write is acknowledged via stableTo / stableSnapTo (etcd-raft
// log_unstable.go). entries[i] has log index offset+i.
import type { Entry, Snapshot } from './raftpb/types.js';
import type { Logger } from './logger.js';
import type { EntryID } from './logTypes.js';

export class Unstable {
  /** The incoming snapshot, if any. */
  snapshot: Snapshot | null = null;
  /** Entries not yet written to storage. Owned: never handed out, only copies are. */
  entries: Entry[] = [];
  /** Log index of entries[0]. */
  offset = 0;
  /** Whether the snapshot is being written to storage. */
  snapshotInProgress = false;
  /** entries below this index (exclusive, like offset) are being written. offset <= offsetInProgress. */
  offsetInProgress = 0;

  constructor(public logger: Logger) {}

  /** The index of the first possible entry if there is a snapshot. */
  maybeFirstIndex(): [number, boolean] {
    if (this.snapshot !== null) return [this.snapshot.metadata.index + 1, true];
    return [0, false];
  }

  /** The last index if there is at least one unstable entry or a snapshot. */
  maybeLastIndex(): [number, boolean] {
    const l = this.entries.length;
    if (l !== 0) return [this.offset + l - 1, true];
    if (this.snapshot !== null) return [this.snapshot.metadata.index, true];
    return [0, false];
  }

  /** The term of entry i, if it is here (an entry, or the snapshot's own index). */
  maybeTerm(i: number): [number, boolean] {
    const t = this.termOrNeg(i);
    return t < 0 ? [0, false] : [t, true];
  }

  /** maybeTerm without the tuple, for hot paths: -1 when unknown. */
  termOrNeg(i: number): number {
    if (i < this.offset) {
      const s = this.snapshot;
      return s !== null && s.metadata.index === i ? s.metadata.term : -1;
    }
    const k = i - this.offset;
    return k < this.entries.length ? this.entries[k].term : -1;
  }

  /** Entries not yet being written to storage (a fresh array). */
  nextEntries(): Entry[] {
    const inProgress = this.offsetInProgress - this.offset;
    if (this.entries.length === inProgress) return [];
    return this.entries.slice(inProgress);
  }

  hasNextEntries(): boolean {
    return this.entries.length > this.offsetInProgress - this.offset;
  }

  /** The snapshot if one exists that is not already being written to storage. */
  nextSnapshot(): Snapshot | null {
    if (this.snapshot === null || this.snapshotInProgress) return null;
    return this.snapshot;
  }

  /**
   * Marks all current entries and the snapshot as being written; they stop coming back from
   * nextEntries/nextSnapshot, while entries added later still do.
   */
  acceptInProgress(): void {
    const n = this.entries.length;
    if (n > 0) this.offsetInProgress = this.entries[n - 1].index + 1;
    if (this.snapshot !== null) this.snapshotInProgress = true;
  }

  /**
   * Marks entries up to (index, term) as written to stable storage. Accepts an EntryID or Go's older
   * (index, term) pair. Only call this when no in-progress append can overwrite those entries.
   */
  stableTo(id: EntryID): void;
  stableTo(i: number, t: number): void;
  stableTo(a: EntryID | number, b?: number): void {
    const i = typeof a === 'number' ? a : a.index;
    const t = typeof a === 'number' ? b! : a.term;
    const gt = this.termOrNeg(i);
    if (gt < 0) {
      this.logger.info(`entry at index ${i} missing from unstable log; ignoring`);
      return;
    }
    if (i < this.offset) {
      this.logger.info(`entry at index ${i} matched unstable snapshot; ignoring`);
      return;
    }
    if (gt !== t) {
      // Part of the unstable log was replaced between the start and the end of the write.
      this.logger.info(`entry at (index,term)=(${i},${t}) mismatched with entry at (${i},${gt}) in unstable log; ignoring`);
      return;
    }
    const num = i + 1 - this.offset;
    this.entries.splice(0, num);
    this.offset = i + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  stableSnapTo(i: number): void {
    if (this.snapshot !== null && this.snapshot.metadata.index === i) {
      this.snapshot = null;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  /** Appends ents, first cutting off any unstable entries at or after ents[0].index. */
  truncateAndAppend(ents: readonly Entry[]): void {
    const fromIndex = ents[0].index;
    const es = this.entries;
    if (fromIndex === this.offset + es.length) {
      // Contiguous: append directly.
      for (let k = 0; k < ents.length; k++) es.push(ents[k]);
    } else if (fromIndex <= this.offset) {
      this.logger.info(`replace the unstable entries from index ${fromIndex}`);
      // The log is truncated to before our offset: replace everything.
      this.entries = ents.slice();
      this.offset = fromIndex;
      this.offsetInProgress = this.offset;
    } else {
      this.logger.info(`truncate the unstable entries before index ${fromIndex}`);
      this.mustCheckOutOfBounds(this.offset, fromIndex);
      es.length = fromIndex - this.offset;
      for (let k = 0; k < ents.length; k++) es.push(ents[k]);
      // Only in-progress entries before fromIndex are still in progress.
      this.offsetInProgress = Math.min(this.offsetInProgress, fromIndex);
    }
  }

  /** Entries with indexes in [lo, hi), which must all be here (else panic). A fresh array. */
  slice(lo: number, hi: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }

  /** Requires offset <= lo <= hi <= offset+len(entries). */
  mustCheckOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) this.logger.panic(`invalid unstable.slice ${lo} > ${hi}`);
    const upper = this.offset + this.entries.length;
    if (lo < this.offset || hi > upper) {
      this.logger.panic(`unstable.slice[${lo},${hi}) out of bound [${this.offset},${upper}]`);
    }
  }
}
