// Value types describing positions and slices of a raft log: EntryID (an entry's (term, index)) and
// LogSlice (a leader's contiguous run of entries after a known predecessor), as etcd-raft's types.go.
import type { Entry, Message } from './raftpb/types.js';

/** Uniquely identifies a log entry: a leader never issues two entries with the same index. */
export interface EntryID {
  term: number;
  index: number;
}

export function pbEntryID(e: Entry): EntryID {
  return { term: e.term, index: e.index };
}

/**
 * A contiguous run of a leader's log. `term` is the leader term whose log holds the entries (not
 * necessarily the entries' own terms); `prev` is the entry right before `entries`. Well-formed
 * slices satisfy: entries[i].index === prev.index+1+i, terms never decrease from prev through the
 * entries, and no entry term exceeds `term`. Code that builds a slice from untrusted input (a
 * message, storage, tests) checks this with `valid()`.
 */
export class LogSlice {
  constructor(
    public term: number,
    public prev: EntryID,
    public entries: Entry[],
  ) {}

  /** Index of the last entry, or prev.index when empty. */
  lastIndex(): number {
    return this.prev.index + this.entries.length;
  }

  /** ID of the last entry, or prev when empty. */
  lastEntryID(): EntryID {
    const n = this.entries.length;
    return n !== 0 ? pbEntryID(this.entries[n - 1]) : this.prev;
  }

  /** null iff the slice is well formed (see the class comment). */
  valid(): Error | null {
    let prev = this.prev;
    for (const e of this.entries) {
      if (e.term < prev.term || e.index !== prev.index + 1) {
        return new Error(
          `leader term ${this.term}: entries ${fmtID(prev)} and ${fmtID(pbEntryID(e))} not consistent`,
        );
      }
      prev = pbEntryID(e);
    }
    if (this.term < prev.term) {
      return new Error(`leader term ${this.term}: entry ${fmtID(prev)} has a newer term`);
    }
    return null;
  }
}

/** The log slice a MsgApp carries: entries after (logTerm, index), in the sender's term. */
export function logSliceFromMsgApp(m: Message): LogSlice {
  return new LogSlice(m.term, { term: m.logTerm, index: m.index }, m.entries);
}

// Go's %+v of an entryID, used in error texts.
function fmtID(id: EntryID): string {
  return `{term:${id.term} index:${id.index}}`;
}
