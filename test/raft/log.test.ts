// Tests of the raft log (port of etcd-raft log_test.go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftLog, newLog, newLogWithSize } from '../../src/raft/log.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { LogSlice } from '../../src/raft/logTypes.js';
import type { EntryID } from '../../src/raft/logTypes.js';
import { ErrCompacted, ErrSnapshotTemporarilyUnavailable, ErrUnavailable } from '../../src/raft/errors.js';
import { RaftPanic, discardLogger } from '../../src/raft/logger.js';
import { entsSize } from '../../src/raft/util.js';
import { entrySize } from '../../src/raft/raftpb/codec.js';
import { EntryType, EMPTY_BYTES } from '../../src/raft/raftpb/types.js';
import type { Entry, Snapshot } from '../../src/raft/raftpb/types.js';
import { emptySnap as snap, indexTerms as ents, recordingLogger as recorder } from './raftTestUtil.js';

// Entries at consecutive indexes from `first`, with consecutive terms in [from, to).
function termRange(first: number, from: number, to: number): Entry[] {
  const out: Entry[] = [];
  for (let t = from; t < to; t++) out.push({ term: t, index: first + out.length, type: EntryType.EntryNormal, data: EMPTY_BYTES });
  return out;
}

function mustTerm([t, err]: [number, Error | null]): number {
  if (err !== null) throw err;
  return t;
}

const id = (term: number, index: number): EntryID => ({ term, index });

test('findConflict', () => {
  const cases: [Entry[], number][] = [
    // No conflict, empty entries.
    [[], 0],
    // No conflict.
    [ents(1, 1, 2, 3), 0],
    [ents(2, 2, 3), 0],
    [ents(3, 3), 0],
    // No conflict, but new entries.
    [ents(1, 1, 2, 3, 4, 4), 4],
    [ents(2, 2, 3, 4, 5), 4],
    [ents(3, 3, 4, 4), 4],
    [ents(4, 4, 4), 4],
    // Conflicts with existing entries.
    [ents(1, 4, 4), 1],
    [ents(2, 1, 4, 4), 2],
    [ents(3, 1, 2, 4, 4), 3],
  ];
  for (const [es, want] of cases) {
    const l = newLog(new MemoryStorage(), discardLogger);
    l.append(...ents(1, 1, 2, 3));
    assert.equal(l.findConflict(es), want);
  }
});

test('findConflict logs conflicts with existing entries only', () => {
  const lg = recorder();
  const l = newLog(new MemoryStorage(), lg);
  l.append(ents(1, 1, 2, 3));
  assert.equal(l.findConflict(ents(2, 2, 4)), 3);
  assert.equal(l.findConflict(ents(3, 3, 4)), 4);
  assert.deepEqual(lg.lines, ['INFO found conflict at index 3 [existing term: 3, conflicting term: 4]']);
});

test('findConflictByTerm', () => {
  // ents[0] is the (index, term) of the snapshot.
  const cases: [Entry[], number, number, number][] = [
    // Log starts from index 1.
    [ents(0, 0, 2, 2, 5, 5, 5), 100, 2, 100], // ErrUnavailable
    [ents(0, 0, 2, 2, 5, 5, 5), 5, 6, 5],
    [ents(0, 0, 2, 2, 5, 5, 5), 5, 5, 5],
    [ents(0, 0, 2, 2, 5, 5, 5), 5, 4, 2],
    [ents(0, 0, 2, 2, 5, 5, 5), 5, 2, 2],
    [ents(0, 0, 2, 2, 5, 5, 5), 5, 1, 0],
    [ents(0, 0, 2, 2, 5, 5, 5), 1, 2, 1],
    [ents(0, 0, 2, 2, 5, 5, 5), 1, 1, 0],
    [ents(0, 0, 2, 2, 5, 5, 5), 0, 0, 0],
    // Log with compacted entries.
    [ents(10, 3, 3, 3, 4, 4, 4), 30, 3, 30], // ErrUnavailable
    [ents(10, 3, 3, 3, 4, 4, 4), 14, 9, 14],
    [ents(10, 3, 3, 3, 4, 4, 4), 14, 4, 14],
    [ents(10, 3, 3, 3, 4, 4, 4), 14, 3, 12],
    [ents(10, 3, 3, 3, 4, 4, 4), 14, 2, 9],
    [ents(10, 3, 3, 3, 4, 4, 4), 11, 5, 11],
    [ents(10, 3, 3, 3, 4, 4, 4), 10, 5, 10],
    [ents(10, 3, 3, 3, 4, 4, 4), 10, 3, 10],
    [ents(10, 3, 3, 3, 4, 4, 4), 10, 2, 9],
    [ents(10, 3, 3, 3, 4, 4, 4), 9, 2, 9], // ErrCompacted
    [ents(10, 3, 3, 3, 4, 4, 4), 4, 2, 4], // ErrCompacted
    [ents(10, 3, 3, 3, 4, 4, 4), 0, 0, 0], // ErrCompacted
  ];
  cases.forEach(([es, index, term, want], k) => {
    const st = new MemoryStorage();
    st.applySnapshot(snap(es[0].index, es[0].term));
    const l = newLog(st, discardLogger);
    l.append(...es.slice(1));
    const [gotIndex, gotTerm] = l.findConflictByTerm(index, term);
    assert.equal(gotIndex, want, `case ${k}`);
    assert.equal(gotTerm, l.zeroTermOnOutOfBounds(l.term(gotIndex)), `case ${k}`);
  });
});

test('isUpToDate', () => {
  const l = newLog(new MemoryStorage(), discardLogger);
  l.append(ents(1, 1, 2, 3));
  const li = l.lastIndex();
  const cases: [number, number, boolean][] = [
    // Greater term: index ignored.
    [li - 1, 4, true],
    [li, 4, true],
    [li + 1, 4, true],
    // Smaller term: index ignored.
    [li - 1, 2, false],
    [li, 2, false],
    [li + 1, 2, false],
    // Equal term: an equal or larger index wins.
    [li - 1, 3, false],
    [li, 3, true],
    [li + 1, 3, true],
  ];
  for (const [index, term, want] of cases) {
    assert.equal(l.isUpToDate(id(term, index)), want);
    assert.equal(l.isUpToDate(index, term), want);
  }
});

test('append', () => {
  const cases: [Entry[], number, Entry[], number][] = [
    [[], 2, ents(1, 1, 2), 3],
    [ents(3, 2), 3, ents(1, 1, 2, 2), 3],
    // Conflicts with index 1.
    [ents(1, 2), 1, ents(1, 2), 1],
    // Conflicts with index 2.
    [ents(2, 3, 3), 3, ents(1, 1, 3, 3), 2],
  ];
  for (const [toAppend, windex, wents, wunstable] of cases) {
    const storage = new MemoryStorage();
    storage.append(ents(1, 1, 2));
    const l = newLog(storage, discardLogger);
    assert.equal(l.append(...toAppend), windex);
    const [g, err] = l.entries(1, Infinity);
    assert.equal(err, null);
    assert.deepEqual(g, wents);
    assert.equal(l.unstable.offset, wunstable);
  }
});

test('append below the commit index panics', () => {
  const l = newLog(new MemoryStorage(), discardLogger);
  l.append(ents(1, 1, 2, 3));
  l.commitTo(2);
  assert.throws(() => l.append(ents(2, 4)), /after\(1\) is out of range \[committed\(2\)\]/);
});

test('maybeAppend', () => {
  const lastindex = 3;
  const lastterm = 3;
  const commit = 1;
  // prev, committed, ents, wlasti, wappend, wcommit, wpanic
  const cases: [EntryID, number, Entry[], number, boolean, number, boolean][] = [
    // Not a match: different term.
    [id(lastterm - 1, lastindex), lastindex, ents(lastindex + 1, 4), 0, false, commit, false],
    // Not a match: index out of bounds.
    [id(lastterm, lastindex + 1), lastindex, ents(lastindex + 2, 4), 0, false, commit, false],
    // Match with the last existing entry.
    [id(lastterm, lastindex), lastindex, [], lastindex, true, lastindex, false],
    // Do not commit beyond lastnewi.
    [id(lastterm, lastindex), lastindex + 1, [], lastindex, true, lastindex, false],
    // Commit up to the message's commit.
    [id(lastterm, lastindex), lastindex - 1, [], lastindex, true, lastindex - 1, false],
    // Commit never decreases.
    [id(lastterm, lastindex), 0, [], lastindex, true, commit, false],
    [id(0, 0), lastindex, [], 0, true, commit, false],
    [id(lastterm, lastindex), lastindex, ents(lastindex + 1, 4), lastindex + 1, true, lastindex, false],
    [id(lastterm, lastindex), lastindex + 1, ents(lastindex + 1, 4), lastindex + 1, true, lastindex + 1, false],
    [id(lastterm, lastindex), lastindex + 2, ents(lastindex + 1, 4), lastindex + 1, true, lastindex + 1, false],
    [id(lastterm, lastindex), lastindex + 2, ents(lastindex + 1, 4, 4), lastindex + 2, true, lastindex + 2, false],
    // Match with an entry in the middle.
    [id(lastterm - 1, lastindex - 1), lastindex, ents(lastindex, 4), lastindex, true, lastindex, false],
    [id(lastterm - 2, lastindex - 2), lastindex, ents(lastindex - 1, 4), lastindex - 1, true, lastindex - 1, false],
    // Conflict with a committed entry.
    [id(lastterm - 3, lastindex - 3), lastindex, ents(lastindex - 2, 4), lastindex - 2, true, lastindex - 2, true],
    [id(lastterm - 2, lastindex - 2), lastindex, ents(lastindex - 1, 4, 4), lastindex, true, lastindex, false],
  ];
  cases.forEach(([prev, committed, es, wlasti, wappend, wcommit, wpanic], k) => {
    const app = new LogSlice(100, prev, es);
    assert.equal(app.valid(), null);
    for (const legacy of [false, true]) {
      const l = newLog(new MemoryStorage(), discardLogger);
      l.append(...ents(1, 1, 2, 3));
      l.committed = commit;
      const run = () =>
        legacy ? l.maybeAppend(prev.index, prev.term, committed, es) : l.maybeAppend(app, committed);
      if (wpanic) {
        assert.throws(run, RaftPanic, `case ${k}`);
        continue;
      }
      const [glasti, gappend] = run();
      assert.equal(glasti, wlasti, `case ${k}`);
      assert.equal(gappend, wappend, `case ${k}`);
      assert.equal(l.committed, wcommit, `case ${k}`);
      if (gappend && es.length !== 0) {
        const [g, err] = l.slice(l.lastIndex() - es.length + 1, l.lastIndex() + 1, Infinity);
        assert.equal(err, null);
        assert.deepEqual(g, es, `case ${k}`);
      }
    }
  });
});

test('compaction side effects', () => {
  // 750 entries in stable storage, 250 unstable.
  const lastIndex = 1000;
  const unstableIndex = 750;
  const storage = new MemoryStorage();
  assert.equal(storage.append(termRange(1, 1, unstableIndex + 1)), null);
  const l = newLog(storage, discardLogger);
  l.append(termRange(unstableIndex + 1, unstableIndex + 1, lastIndex + 1));

  assert.ok(l.maybeCommit(l.lastEntryID()));
  l.appliedTo(l.committed, 0);

  const offset = 500;
  assert.equal(storage.compact(offset), null);
  assert.equal(l.lastIndex(), lastIndex);
  for (let j = offset; j <= l.lastIndex(); j++) assert.equal(mustTerm(l.term(j)), j);
  for (let j = offset; j <= l.lastIndex(); j++) assert.ok(l.matchTerm(id(j, j)));

  const unstableEnts = l.nextUnstableEnts();
  assert.equal(unstableEnts.length, 250);
  assert.equal(unstableEnts[0].index, 751);

  const prev = l.lastIndex();
  l.append({ index: l.lastIndex() + 1, term: l.lastIndex() + 1, type: EntryType.EntryNormal, data: EMPTY_BYTES });
  assert.equal(l.lastIndex(), prev + 1);

  const [es, err] = l.entries(l.lastIndex(), Infinity);
  assert.equal(err, null);
  assert.equal(es.length, 1);
});

// A log over storage holding snapshot (3, 1) and entry 4, with unstable entries 4..6 where 4 is
// stable; committed through 5.
function appliedLog(maxSize = Infinity): RaftLog {
  const e = ents(4, 1, 1, 1);
  const storage = new MemoryStorage();
  assert.equal(storage.applySnapshot(snap(3, 1)), null);
  assert.equal(storage.append(e.slice(0, 1)), null);
  const l = newLogWithSize(storage, discardLogger, maxSize);
  l.append(...e);
  l.stableTo(id(1, 4));
  l.maybeCommit(id(1, 5));
  return l;
}

const committedCases: [number, number, boolean, boolean, boolean, Entry[]][] = [
  // applied, applying, allowUnstable, paused, snap, wents
  [3, 3, true, false, false, ents(4, 1, 1)],
  [3, 4, true, false, false, ents(5, 1)],
  [3, 5, true, false, false, []],
  [4, 4, true, false, false, ents(5, 1)],
  [4, 5, true, false, false, []],
  [5, 5, true, false, false, []],
  // Unstable entries not allowed.
  [3, 3, false, false, false, ents(4, 1)],
  [3, 4, false, false, false, []],
  [3, 5, false, false, false, []],
  [4, 4, false, false, false, []],
  [4, 5, false, false, false, []],
  [5, 5, false, false, false, []],
  // Paused.
  [3, 3, true, true, false, []],
  // With a pending snapshot.
  [3, 3, true, false, true, []],
];

test('hasNextCommittedEnts / nextCommittedEnts', () => {
  committedCases.forEach(([applied, applying, allowUnstable, paused, withSnap, wents], k) => {
    const l = appliedLog();
    l.appliedTo(applied, 0);
    l.acceptApplying(applying, 0, allowUnstable);
    l.applyingEntsPaused = paused;
    if (withSnap) l.restore(snap(4, 1));
    assert.equal(l.hasNextCommittedEnts(allowUnstable), wents.length > 0, `case ${k}`);
    assert.deepEqual(l.nextCommittedEnts(allowUnstable), wents, `case ${k}`);
  });
});

test('nextCommittedEnts respects the applying size budget', () => {
  const one = entrySize(ents(4, 1)[0]);
  const l = appliedLog(one + 1);
  l.appliedTo(3, 0);
  // Room for one entry only.
  const got = l.nextCommittedEnts(true);
  assert.deepEqual(got, ents(4, 1));
  l.acceptApplying(4, entsSize(got), true);
  // Cut short: paused until acknowledged.
  assert.equal(l.applyingEntsPaused, true);
  assert.deepEqual(l.nextCommittedEnts(true), []);
  l.appliedTo(4, entsSize(got));
  assert.equal(l.applyingEntsPaused, false);
  assert.deepEqual(l.nextCommittedEnts(true), ents(5, 1));
});

test('acceptApplying', () => {
  const maxSize = 100;
  const cases: [number, boolean, number, boolean][] = [
    [3, true, maxSize - 1, true],
    [3, true, maxSize, true],
    [3, true, maxSize + 1, true],
    [4, true, maxSize - 1, true],
    [4, true, maxSize, true],
    [4, true, maxSize + 1, true],
    [5, true, maxSize - 1, false],
    [5, true, maxSize, true],
    [5, true, maxSize + 1, true],
    // Unstable entries not allowed.
    [3, false, maxSize - 1, true],
    [3, false, maxSize, true],
    [3, false, maxSize + 1, true],
    [4, false, maxSize - 1, false],
    [4, false, maxSize, true],
    [4, false, maxSize + 1, true],
    [5, false, maxSize - 1, false],
    [5, false, maxSize, true],
    [5, false, maxSize + 1, true],
  ];
  cases.forEach(([index, allowUnstable, size, wpaused], k) => {
    const l = appliedLog(maxSize);
    l.appliedTo(3, 0);
    l.acceptApplying(index, size, allowUnstable);
    assert.equal(l.applyingEntsPaused, wpaused, `case ${k}`);
  });
  const l = appliedLog(maxSize);
  assert.throws(() => l.acceptApplying(6, 0, true), /applying\(6\) is out of range \[prevApplying\(3\), committed\(5\)\]/);
});

test('appliedTo', () => {
  const maxSize = 100;
  const overshoot = 5;
  const cases: [number, number, number, boolean][] = [
    // Apply some of the in-progress entries (applying = 5).
    [4, overshoot - 1, maxSize + 1, true],
    [4, overshoot, maxSize, true],
    [4, overshoot + 1, maxSize - 1, false],
    // Apply all of them.
    [5, overshoot - 1, maxSize + 1, true],
    [5, overshoot, maxSize, true],
    [5, overshoot + 1, maxSize - 1, false],
    // Release all outstanding bytes.
    [4, maxSize + overshoot, 0, false],
    // Releasing more than outstanding does not underflow.
    [4, maxSize + overshoot + 1, 0, false],
  ];
  cases.forEach(([index, size, wsize, wpaused], k) => {
    const l = appliedLog(maxSize);
    l.appliedTo(3, 0);
    l.acceptApplying(5, maxSize + overshoot, false);
    l.appliedTo(index, size);
    assert.equal(l.applied, index, `case ${k}`);
    assert.equal(l.applying, 5, `case ${k}`);
    assert.equal(l.applyingEntsSize, wsize, `case ${k}`);
    assert.equal(l.applyingEntsPaused, wpaused, `case ${k}`);
  });
  const l = appliedLog(maxSize);
  assert.throws(() => l.appliedTo(6, 0), /applied\(6\) is out of range \[prevApplied\(3\), committed\(5\)\]/);
  l.appliedTo(4, 0);
  assert.throws(() => l.appliedTo(3, 0), RaftPanic);
});

test('nextUnstableEnts', () => {
  const prev = ents(1, 1, 2);
  for (const [unstable, wents] of [
    [3, []],
    [1, prev],
  ] as [number, Entry[]][]) {
    const storage = new MemoryStorage();
    assert.equal(storage.append(prev.slice(0, unstable - 1)), null);
    const l = newLog(storage, discardLogger);
    l.append(...prev.slice(unstable - 1));
    const es = l.nextUnstableEnts();
    assert.equal(l.hasNextUnstableEnts(), es.length > 0);
    if (es.length > 0) l.stableTo(id(es[es.length - 1].term, es[es.length - 1].index));
    assert.deepEqual(es, wents);
    assert.equal(l.unstable.offset, prev[prev.length - 1].index + 1);
    assert.equal(l.hasNextOrInProgressUnstableEnts(), false);
  }
});

test('acceptUnstable hides in-progress entries until stable', () => {
  const l = newLog(new MemoryStorage(), discardLogger);
  l.append(ents(1, 1, 1));
  l.acceptUnstable();
  assert.equal(l.hasNextUnstableEnts(), false);
  assert.equal(l.hasNextOrInProgressUnstableEnts(), true);
  l.append(ents(3, 1));
  assert.deepEqual(l.nextUnstableEnts(), ents(3, 1));
  l.stableTo(id(1, 2));
  assert.equal(l.unstable.offset, 3);
  assert.deepEqual(l.nextUnstableEnts(), ents(3, 1));
});

test('commitTo', () => {
  for (const [commit, wcommit, wpanic] of [
    [3, 3, false],
    [1, 2, false], // never decreases
    [4, 0, true], // beyond the last index
  ] as [number, number, boolean][]) {
    const l = newLog(new MemoryStorage(), discardLogger);
    l.append(...ents(1, 1, 2, 3));
    l.committed = 2;
    if (wpanic) {
      assert.throws(() => l.commitTo(commit), /tocommit\(4\) is out of range \[lastIndex\(3\)\]/);
      continue;
    }
    l.commitTo(commit);
    assert.equal(l.committed, wcommit);
  }
});

test('maybeCommit', () => {
  const l = newLog(new MemoryStorage(), discardLogger);
  l.append(ents(1, 1, 2, 2));
  assert.equal(l.maybeCommit(id(1, 2)), false); // term mismatch
  assert.equal(l.maybeCommit(id(0, 3)), false); // term 0 never matches
  assert.equal(l.maybeCommit(id(2, 2)), true);
  assert.equal(l.committed, 2);
  assert.equal(l.maybeCommit(id(2, 2)), false); // not beyond committed
  assert.equal(l.maybeCommit(3, 2), true); // legacy (index, term) form
  assert.equal(l.committed, 3);
});

test('stableTo', () => {
  for (const [stablei, stablet, wunstable] of [
    [1, 1, 2],
    [2, 2, 3],
    [2, 1, 1], // bad term
    [3, 1, 1], // bad index
  ]) {
    const l = newLog(new MemoryStorage(), discardLogger);
    l.append(...ents(1, 1, 2));
    l.stableTo(id(stablet, stablei));
    assert.equal(l.unstable.offset, wunstable);
  }
});

test('stableTo with a snapshot', () => {
  const snapi = 5;
  const snapt = 2;
  const cases: [number, number, Entry[], number][] = [
    [snapi + 1, snapt, [], snapi + 1],
    [snapi, snapt, [], snapi + 1],
    [snapi - 1, snapt, [], snapi + 1],
    [snapi + 1, snapt + 1, [], snapi + 1],
    [snapi, snapt + 1, [], snapi + 1],
    [snapi - 1, snapt + 1, [], snapi + 1],
    [snapi + 1, snapt, ents(snapi + 1, snapt), snapi + 2],
    [snapi, snapt, ents(snapi + 1, snapt), snapi + 1],
    [snapi - 1, snapt, ents(snapi + 1, snapt), snapi + 1],
    [snapi + 1, snapt + 1, ents(snapi + 1, snapt), snapi + 1],
    [snapi, snapt + 1, ents(snapi + 1, snapt), snapi + 1],
    [snapi - 1, snapt + 1, ents(snapi + 1, snapt), snapi + 1],
  ];
  cases.forEach(([stablei, stablet, newEnts, wunstable], k) => {
    const s = new MemoryStorage();
    assert.equal(s.applySnapshot(snap(snapi, snapt)), null);
    const l = newLog(s, discardLogger);
    l.append(...newEnts);
    l.stableTo(id(stablet, stablei));
    assert.equal(l.unstable.offset, wunstable, `case ${k}`);
  });
});

test('compaction', () => {
  const cases: [number, number[], number[], boolean][] = [
    // Beyond the upper bound.
    [1000, [1001], [-1], false],
    [1000, [300, 500, 800, 900], [700, 500, 200, 100], true],
    // Below the lower bound.
    [1000, [300, 299], [700, -1], false],
  ];
  for (const [lastIndex, compact, wleft, wallow] of cases) {
    const storage = new MemoryStorage();
    assert.equal(storage.append(termRange(1, 1, lastIndex + 1)), null);
    const l = newLog(storage, discardLogger);
    l.maybeCommit(id(0, lastIndex)); // a no-op: term 0 never commits
    l.appliedTo(l.committed, 0);
    for (let j = 0; j < compact.length; j++) {
      let err: Error | null;
      try {
        err = storage.compact(compact[j]);
      } catch (e) {
        assert.ok(e instanceof RaftPanic);
        assert.equal(wallow, false);
        break;
      }
      if (err !== null) {
        assert.equal(wallow, false);
        continue;
      }
      assert.equal(l.allEntries().length, wleft[j]);
    }
  }
});

test('restore on creation from a snapshot', () => {
  const index = 1000;
  const term = 1000;
  const storage = new MemoryStorage();
  storage.applySnapshot(snap(index, term));
  const l = newLog(storage, discardLogger);
  assert.equal(l.allEntries().length, 0);
  assert.equal(l.firstIndex(), index + 1);
  assert.equal(l.committed, index);
  assert.equal(l.applied, index);
  assert.equal(l.unstable.offset, index + 1);
  assert.equal(mustTerm(l.term(index)), term);
});

test('restore of an unstable snapshot', () => {
  const lg = recorder();
  const l = newLog(new MemoryStorage(), lg);
  l.append(ents(1, 1, 1));
  const s = snap(10, 2);
  l.restore(s);
  assert.deepEqual(lg.lines, [
    'INFO log [committed=0, applied=0, applying=0, unstable.offset=1, unstable.offsetInProgress=1, len(unstable.Entries)=2] starts to restore snapshot [index: 10, term: 2]',
  ]);
  assert.equal(l.committed, 10);
  assert.equal(l.firstIndex(), 11);
  assert.equal(l.lastIndex(), 10);
  assert.deepEqual(l.lastEntryID(), id(2, 10));
  assert.equal(l.hasNextUnstableSnapshot(), true);
  assert.equal(l.nextUnstableSnapshot(), s);
  assert.deepEqual(l.snapshot(), [s, null]);
  // The snapshot blocks committed entries until persisted.
  assert.equal(l.hasNextCommittedEnts(true), false);
  l.acceptUnstable();
  assert.equal(l.hasNextUnstableSnapshot(), false);
  assert.equal(l.hasNextOrInProgressSnapshot(), true);
  l.stableSnapTo(10);
  assert.equal(l.hasNextOrInProgressSnapshot(), false);
});

test('snapshot from storage, and its errors', () => {
  const st = new MemoryStorage();
  st.applySnapshot(snap(5, 3));
  const l = newLog(st, discardLogger);
  assert.deepEqual(l.snapshot(), [snap(5, 3), null]);

  class Unavailable extends MemoryStorage {
    override snapshot(): Snapshot {
      throw ErrSnapshotTemporarilyUnavailable;
    }
  }
  const u = newLog(new Unavailable(), discardLogger);
  assert.equal(u.snapshot()[1], ErrSnapshotTemporarilyUnavailable);
});

test('mustCheckOutOfBounds', () => {
  const offset = 100;
  const num = 100;
  const storage = new MemoryStorage();
  storage.applySnapshot(snap(offset, 0));
  const l = newLog(storage, discardLogger);
  l.append(termRange(offset + 1, offset + 1, offset + num + 1));
  const first = offset + 1;
  const cases: [number, number, boolean, boolean][] = [
    [first - 2, first + 1, false, true],
    [first - 1, first + 1, false, true],
    [first, first, false, false],
    [first + num / 2, first + num / 2, false, false],
    [first + num - 1, first + num - 1, false, false],
    [first + num, first + num, false, false],
    [first + num, first + num + 1, true, false],
    [first + num + 1, first + num + 1, true, false],
  ];
  for (const [lo, hi, wpanic, wErrCompacted] of cases) {
    if (wpanic) {
      assert.throws(() => l.mustCheckOutOfBounds(lo, hi), RaftPanic);
      continue;
    }
    assert.equal(l.mustCheckOutOfBounds(lo, hi), wErrCompacted ? ErrCompacted : null);
  }
});

test('term', () => {
  const offset = 100;
  const num = 100;
  const storage = new MemoryStorage();
  storage.applySnapshot(snap(offset, 1));
  const l = newLog(storage, discardLogger);
  l.append(termRange(offset + 1, 1, num));
  const cases: [number, number, Error | null][] = [
    [offset - 1, 0, ErrCompacted],
    [offset, 1, null],
    [offset + num / 2, num / 2, null],
    [offset + num - 1, num - 1, null],
    [offset + num, 0, ErrUnavailable],
  ];
  for (const [idx, term, err] of cases) {
    assert.deepEqual(l.term(idx), [term, err]);
    assert.equal(l.zeroTermOnOutOfBounds(l.term(idx)), term);
  }
});

test('term with an unstable snapshot', () => {
  const storagesnapi = 100;
  const unstablesnapi = storagesnapi + 5;
  const storage = new MemoryStorage();
  storage.applySnapshot(snap(storagesnapi, 1));
  const l = newLog(storage, discardLogger);
  l.restore(snap(unstablesnapi, 1));
  const cases: [number, number, Error | null][] = [
    // Not available from storage any more.
    [storagesnapi, 0, ErrCompacted],
    // The gap between storage and the unstable snapshot.
    [storagesnapi + 1, 0, ErrCompacted],
    [unstablesnapi - 1, 0, ErrCompacted],
    // The unstable snapshot's own index.
    [unstablesnapi, 1, null],
    // Nothing beyond it.
    [unstablesnapi + 1, 0, ErrUnavailable],
  ];
  for (const [idx, term, err] of cases) assert.deepEqual(l.term(idx), [term, err], `idx ${idx}`);
});

test('slice', () => {
  const offset = 100;
  const num = 100;
  const last = offset + num;
  const half = offset + num / 2;
  const hsize = entrySize({ index: half, term: half, type: EntryType.EntryNormal, data: EMPTY_BYTES });
  const entries = (from: number, to: number) => termRange(from, from, to);

  const storage = new MemoryStorage();
  assert.equal(storage.applySnapshot(snap(offset, 0)), null);
  assert.equal(storage.append(entries(offset + 1, half)), null);
  const l = newLog(storage, discardLogger);
  l.append(entries(half, last));

  const cases: [number, number, number, Entry[], boolean][] = [
    // ErrCompacted.
    [offset - 1, offset + 1, Infinity, [], false],
    [offset, offset + 1, Infinity, [], false],
    // Panics: lo > hi, hi out of bounds.
    [half, half - 1, Infinity, [], true],
    [last, last + 1, Infinity, [], true],
    // No limit.
    [offset + 1, offset + 1, Infinity, [], false],
    [offset + 1, half - 1, Infinity, entries(offset + 1, half - 1), false],
    [offset + 1, half, Infinity, entries(offset + 1, half), false],
    [offset + 1, half + 1, Infinity, entries(offset + 1, half + 1), false],
    [offset + 1, last, Infinity, entries(offset + 1, last), false],
    [half - 1, half, Infinity, entries(half - 1, half), false],
    [half - 1, half + 1, Infinity, entries(half - 1, half + 1), false],
    [half - 1, last, Infinity, entries(half - 1, last), false],
    [half, half + 1, Infinity, entries(half, half + 1), false],
    [half, last, Infinity, entries(half, last), false],
    [last - 1, last, Infinity, entries(last - 1, last), false],
    // At least one entry is always returned.
    [offset + 1, last, 0, entries(offset + 1, offset + 2), false],
    [half - 1, half + 1, 0, entries(half - 1, half), false],
    [half, last, 0, entries(half, half + 1), false],
    [half + 1, last, 0, entries(half + 1, half + 2), false],
    // Low limit.
    [offset + 1, last, hsize - 1, entries(offset + 1, offset + 2), false],
    [half - 1, half + 1, hsize - 1, entries(half - 1, half), false],
    [half, last, hsize - 1, entries(half, half + 1), false],
    // Just enough for one.
    [offset + 1, last, hsize, entries(offset + 1, offset + 2), false],
    [half - 1, half + 1, hsize, entries(half - 1, half), false],
    [half, last, hsize, entries(half, half + 1), false],
    // Not enough for two.
    [offset + 1, last, hsize + 1, entries(offset + 1, offset + 2), false],
    [half - 1, half + 1, hsize + 1, entries(half - 1, half), false],
    [half, last, hsize + 1, entries(half, half + 1), false],
    // Enough for two.
    [half - 2, half + 1, hsize * 2, entries(half - 2, half), false],
    [half - 1, half + 1, hsize * 2, entries(half - 1, half + 1), false],
    [half, last, hsize * 2, entries(half, half + 2), false],
    // Not enough for three.
    [half - 2, half + 1, hsize * 3 - 1, entries(half - 2, half), false],
    // Enough for three.
    [half - 1, half + 2, hsize * 3, entries(half - 1, half + 2), false],
  ];
  cases.forEach(([lo, hi, lim, w, wpanic], k) => {
    if (wpanic) {
      assert.throws(() => l.slice(lo, hi, lim), RaftPanic, `case ${k}`);
      return;
    }
    const [g, err] = l.slice(lo, hi, lim);
    assert.equal(err, lo <= offset ? ErrCompacted : null, `case ${k}`);
    assert.deepEqual(g, w, `case ${k}`);
  });
});

test('slice results are independent of the log', () => {
  const storage = new MemoryStorage();
  storage.append(ents(1, 1, 1));
  const l = newLog(storage, discardLogger);
  l.append(ents(3, 1, 1));
  const [mixed] = l.slice(1, 5, Infinity);
  const [unst] = l.slice(3, 5, Infinity);
  mixed.push(...ents(5, 9));
  unst.push(...ents(5, 9));
  assert.equal(l.lastIndex(), 4);
  assert.deepEqual(l.slice(1, 5, Infinity)[0], ents(1, 1, 1, 1, 1));
});

test('scan', () => {
  const offset = 47;
  const num = 20;
  const last = offset + num;
  const half = offset + num / 2;
  const entries = (from: number, to: number) => termRange(from, from, to);
  const esize = entsSize(entries(half, half + 1));

  const storage = new MemoryStorage();
  assert.equal(storage.applySnapshot(snap(offset, 0)), null);
  assert.equal(storage.append(entries(offset + 1, half)), null);
  const l = newLog(storage, discardLogger);
  l.append(entries(half, last));

  // scan() returns the same entries as slice() on all inputs.
  for (const pageSize of [0, 1, 10, 100, esize, esize + 1]) {
    for (let lo = offset + 1; lo < last; lo++) {
      for (let hi = lo; hi <= last; hi++) {
        const got: Entry[] = [];
        const err = l.scan(lo, hi, pageSize, (e) => {
          got.push(...e);
          assert.ok(e.length === 1 || entsSize(e) <= pageSize);
          return null;
        });
        assert.equal(err, null);
        const [want, werr] = l.slice(lo, hi, Infinity);
        assert.equal(werr, null);
        assert.deepEqual(got, want, `scan/slice mismatch on [${lo}, ${hi}) @ ${pageSize}`);
      }
    }
  }

  // The visitor's error stops the scan and is returned.
  const errBreak = new Error('break');
  let iters = 0;
  const err = l.scan(offset + 1, half, 0, () => {
    iters++;
    return iters === 2 ? errBreak : null;
  });
  assert.equal(err, errBreak);
  assert.equal(iters, 2);

  // Pages are filled up to the limit, not one entry at a time.
  assert.equal(
    l.scan(offset + 1, offset + 11, esize * 2, (e) => {
      assert.equal(e.length, 2);
      assert.equal(entsSize(e), esize * 2);
      return null;
    }),
    null,
  );
});

test('toString', () => {
  const storage = new MemoryStorage();
  storage.append(ents(1, 1, 1));
  const l = newLog(storage, discardLogger);
  l.append(ents(3, 2));
  l.commitTo(2);
  assert.equal(
    l.toString(),
    'committed=2, applied=0, applying=0, unstable.offset=3, unstable.offsetInProgress=3, len(unstable.Entries)=1',
  );
});

test('LogSlice', () => {
  const s = new LogSlice(5, id(1, 3), ents(4, 1, 2, 5));
  assert.equal(s.valid(), null);
  assert.equal(s.lastIndex(), 6);
  assert.deepEqual(s.lastEntryID(), id(5, 6));
  const empty = new LogSlice(2, id(1, 3), []);
  assert.equal(empty.valid(), null);
  assert.equal(empty.lastIndex(), 3);
  assert.deepEqual(empty.lastEntryID(), id(1, 3));
  // A gap, a term regression, and an entry newer than the leader term are invalid.
  assert.match(String(new LogSlice(5, id(1, 3), ents(5, 1)).valid()), /entries \{term:1 index:3\} and \{term:1 index:5\} not consistent/);
  assert.match(String(new LogSlice(5, id(2, 3), ents(4, 1)).valid()), /not consistent/);
  assert.match(String(new LogSlice(1, id(1, 3), ents(4, 2)).valid()), /leader term 1: entry \{term:2 index:4\} has a newer term/);
});
