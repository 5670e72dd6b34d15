// Tests of the unstable log (port of etcd-raft log_unstable_test.go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Unstable } from '../../src/raft/logUnstable.js';
import type { Logger } from '../../src/raft/logger.js';
import type { Entry, Snapshot } from '../../src/raft/raftpb/types.js';
import { emptySnap as snap, indexTerms as ents, recordingLogger as recorder } from './raftTestUtil.js';

interface Init {
  entries?: Entry[];
  offset?: number;
  offsetInProgress?: number;
  snapshot?: Snapshot | null;
  snapshotInProgress?: boolean;
}

function unstable(init: Init, logger: Logger = recorder()): Unstable {
  const u = new Unstable(logger);
  u.entries = (init.entries ?? []).slice();
  u.offset = init.offset ?? 0;
  u.offsetInProgress = init.offsetInProgress ?? 0;
  u.snapshot = init.snapshot ?? null;
  u.snapshotInProgress = init.snapshotInProgress ?? false;
  return u;
}

test('maybeFirstIndex', () => {
  const cases: [Init, boolean, number][] = [
    // No snapshot.
    [{ entries: ents(5, 1), offset: 5 }, false, 0],
    [{}, false, 0],
    // Has a snapshot.
    [{ entries: ents(5, 1), offset: 5, snapshot: snap(4, 1) }, true, 5],
    [{ offset: 5, snapshot: snap(4, 1) }, true, 5],
  ];
  for (const [init, wok, windex] of cases) {
    assert.deepEqual(unstable(init).maybeFirstIndex(), [windex, wok]);
  }
});

test('maybeLastIndex', () => {
  const cases: [Init, boolean, number][] = [
    // Last in entries.
    [{ entries: ents(5, 1), offset: 5 }, true, 5],
    [{ entries: ents(5, 1), offset: 5, snapshot: snap(4, 1) }, true, 5],
    // Last in the snapshot.
    [{ offset: 5, snapshot: snap(4, 1) }, true, 4],
    // Empty.
    [{}, false, 0],
  ];
  for (const [init, wok, windex] of cases) {
    assert.deepEqual(unstable(init).maybeLastIndex(), [windex, wok]);
  }
});

test('maybeTerm', () => {
  const cases: [Init, number, boolean, number][] = [
    // Term from entries.
    [{ entries: ents(5, 1), offset: 5 }, 5, true, 1],
    [{ entries: ents(5, 1), offset: 5 }, 6, false, 0],
    [{ entries: ents(5, 1), offset: 5 }, 4, false, 0],
    [{ entries: ents(5, 1), offset: 5, snapshot: snap(4, 1) }, 5, true, 1],
    [{ entries: ents(5, 1), offset: 5, snapshot: snap(4, 1) }, 6, false, 0],
    // Term from the snapshot.
    [{ entries: ents(5, 1), offset: 5, snapshot: snap(4, 1) }, 4, true, 1],
    [{ entries: ents(5, 1), offset: 5, snapshot: snap(4, 1) }, 3, false, 0],
    [{ offset: 5, snapshot: snap(4, 1) }, 5, false, 0],
    [{ offset: 5, snapshot: snap(4, 1) }, 4, true, 1],
    [{}, 5, false, 0],
  ];
  cases.forEach(([init, i, wok, wterm], k) => {
    assert.deepEqual(unstable(init).maybeTerm(i), [wterm, wok], `case ${k}`);
  });
});

test('restore', () => {
  const u = unstable({ entries: ents(5, 1), offset: 5, offsetInProgress: 6, snapshot: snap(4, 1), snapshotInProgress: true });
  const s = snap(6, 2);
  u.restore(s);
  assert.equal(u.offset, 7);
  assert.equal(u.offsetInProgress, 7);
  assert.equal(u.entries.length, 0);
  assert.deepEqual(u.snapshot, s);
  assert.equal(u.snapshotInProgress, false);
});

test('nextEntries', () => {
  const cases: [number, number, Entry[]][] = [
    // Nothing in progress.
    [5, 5, ents(5, 1, 1)],
    // Partially in progress.
    [5, 6, ents(6, 1)],
    // Everything in progress.
    [5, 7, []],
  ];
  for (const [offset, offsetInProgress, want] of cases) {
    const u = unstable({ entries: ents(5, 1, 1), offset, offsetInProgress });
    assert.deepEqual(u.nextEntries(), want);
    assert.equal(u.hasNextEntries(), want.length > 0);
  }
});

test('nextEntries is not affected by later appends', () => {
  const u = unstable({ entries: ents(5, 1, 1), offset: 5, offsetInProgress: 5 });
  const got = u.nextEntries();
  u.truncateAndAppend(ents(7, 1));
  u.truncateAndAppend(ents(6, 2));
  assert.deepEqual(got, ents(5, 1, 1));
});

test('nextSnapshot', () => {
  const s = snap(4, 1);
  const cases: [Snapshot | null, boolean, Snapshot | null][] = [
    [null, false, null],
    [s, false, s],
    [s, true, null],
  ];
  for (const [snapshot, snapshotInProgress, want] of cases) {
    assert.equal(unstable({ snapshot, snapshotInProgress }).nextSnapshot(), want);
  }
});

test('acceptInProgress', () => {
  const s = snap(4, 1);
  const cases: [Entry[], Snapshot | null, number, boolean, number, boolean][] = [
    [[], null, 5, false, 5, false],
    [ents(5, 1), null, 5, false, 6, false],
    [ents(5, 1, 1), null, 5, false, 7, false],
    [ents(5, 1, 1), null, 6, false, 7, false],
    [ents(5, 1, 1), null, 7, false, 7, false],
    // With a snapshot.
    [[], s, 5, false, 5, true],
    [ents(5, 1), s, 5, false, 6, true],
    [ents(5, 1, 1), s, 5, false, 7, true],
    [ents(5, 1, 1), s, 6, false, 7, true],
    [ents(5, 1, 1), s, 7, false, 7, true],
    [[], s, 5, true, 5, true],
    [ents(5, 1), s, 5, true, 6, true],
    [ents(5, 1, 1), s, 5, true, 7, true],
    [ents(5, 1, 1), s, 6, true, 7, true],
    [ents(5, 1, 1), s, 7, true, 7, true],
  ];
  cases.forEach(([entries, snapshot, offsetInProgress, snapshotInProgress, woip, wsip], k) => {
    const u = unstable({ entries, snapshot, offsetInProgress, snapshotInProgress, offset: 5 });
    u.acceptInProgress();
    assert.equal(u.offsetInProgress, woip, `case ${k}`);
    assert.equal(u.snapshotInProgress, wsip, `case ${k}`);
    // Accepted entries are no longer handed out.
    assert.deepEqual(u.nextEntries(), []);
    assert.equal(u.nextSnapshot(), null);
  });
});

test('stableTo', () => {
  const cases: [Init, number, number, number, number, number][] = [
    [{}, 5, 1, 0, 0, 0],
    // Stable to the first entry.
    [{ entries: ents(5, 1), offset: 5, offsetInProgress: 6 }, 5, 1, 6, 6, 0],
    [{ entries: ents(5, 1, 1), offset: 5, offsetInProgress: 6 }, 5, 1, 6, 6, 1],
    // Stable to the first entry with in-progress ahead.
    [{ entries: ents(5, 1, 1), offset: 5, offsetInProgress: 7 }, 5, 1, 6, 7, 1],
    // Term mismatch.
    [{ entries: ents(6, 2), offset: 6, offsetInProgress: 7 }, 6, 1, 6, 7, 1],
    // Old entries.
    [{ entries: ents(5, 1), offset: 5, offsetInProgress: 6 }, 4, 1, 5, 6, 1],
    [{ entries: ents(5, 1), offset: 5, offsetInProgress: 6 }, 4, 2, 5, 6, 1],
    // With a snapshot.
    [{ entries: ents(5, 1), offset: 5, offsetInProgress: 6, snapshot: snap(4, 1) }, 5, 1, 6, 6, 0],
    [{ entries: ents(5, 1, 1), offset: 5, offsetInProgress: 6, snapshot: snap(4, 1) }, 5, 1, 6, 6, 1],
    [{ entries: ents(5, 1, 1), offset: 5, offsetInProgress: 7, snapshot: snap(4, 1) }, 5, 1, 6, 7, 1],
    [{ entries: ents(6, 2), offset: 6, offsetInProgress: 7, snapshot: snap(5, 1) }, 6, 1, 6, 7, 1],
    // Stable to the snapshot: ignored.
    [{ entries: ents(5, 1), offset: 5, offsetInProgress: 6, snapshot: snap(4, 1) }, 4, 1, 5, 6, 1],
    [{ entries: ents(5, 2), offset: 5, offsetInProgress: 6, snapshot: snap(4, 2) }, 4, 1, 5, 6, 1],
  ];
  cases.forEach(([init, index, term, woffset, woip, wlen], k) => {
    const u = unstable(init);
    u.stableTo({ term, index });
    assert.equal(u.offset, woffset, `case ${k}`);
    assert.equal(u.offsetInProgress, woip, `case ${k}`);
    assert.equal(u.entries.length, wlen, `case ${k}`);
    // The legacy (index, term) form behaves the same.
    const v = unstable(init);
    v.stableTo(index, term);
    assert.deepEqual([v.offset, v.offsetInProgress, v.entries.length], [woffset, woip, wlen]);
  });
});

test('stableTo log lines', () => {
  const lg = recorder();
  unstable({}, lg).stableTo({ term: 1, index: 5 });
  unstable({ entries: ents(5, 1), offset: 5, offsetInProgress: 6, snapshot: snap(4, 1) }, lg).stableTo({ term: 1, index: 4 });
  unstable({ entries: ents(6, 2), offset: 6, offsetInProgress: 7 }, lg).stableTo({ term: 1, index: 6 });
  assert.deepEqual(lg.lines, [
    'INFO entry at index 5 missing from unstable log; ignoring',
    'INFO entry at index 4 matched unstable snapshot; ignoring',
    'INFO entry at (index,term)=(6,1) mismatched with entry at (6,2) in unstable log; ignoring',
  ]);
});

test('stableSnapTo', () => {
  const u = unstable({ offset: 5, snapshot: snap(4, 1), snapshotInProgress: true });
  u.stableSnapTo(3);
  assert.notEqual(u.snapshot, null);
  u.stableSnapTo(4);
  assert.equal(u.snapshot, null);
  assert.equal(u.snapshotInProgress, false);
});

test('truncateAndAppend', () => {
  const cases: [Entry[], number, number, Entry[], number, number, Entry[], string[]][] = [
    // Append to the end.
    [ents(5, 1), 5, 5, ents(6, 1, 1), 5, 5, ents(5, 1, 1, 1), []],
    [ents(5, 1), 5, 6, ents(6, 1, 1), 5, 6, ents(5, 1, 1, 1), []],
    // Replace the unstable entries.
    [ents(5, 1), 5, 5, ents(5, 2, 2), 5, 5, ents(5, 2, 2), ['INFO replace the unstable entries from index 5']],
    [ents(5, 1), 5, 5, ents(4, 2, 2, 2), 4, 4, ents(4, 2, 2, 2), ['INFO replace the unstable entries from index 4']],
    [ents(5, 1), 5, 6, ents(5, 2, 2), 5, 5, ents(5, 2, 2), ['INFO replace the unstable entries from index 5']],
    // Truncate the existing entries and append.
    [ents(5, 1, 1, 1), 5, 5, ents(6, 2), 5, 5, ents(5, 1, 2), ['INFO truncate the unstable entries before index 6']],
    [ents(5, 1, 1, 1), 5, 5, ents(7, 2, 2), 5, 5, ents(5, 1, 1, 2, 2), ['INFO truncate the unstable entries before index 7']],
    [ents(5, 1, 1, 1), 5, 6, ents(6, 2), 5, 6, ents(5, 1, 2), ['INFO truncate the unstable entries before index 6']],
    [ents(5, 1, 1, 1), 5, 7, ents(6, 2), 5, 6, ents(5, 1, 2), ['INFO truncate the unstable entries before index 6']],
  ];
  cases.forEach(([entries, offset, offsetInProgress, toAppend, woffset, woip, wentries, wlines], k) => {
    const lg = recorder();
    const u = unstable({ entries, offset, offsetInProgress }, lg);
    u.truncateAndAppend(toAppend);
    assert.equal(u.offset, woffset, `case ${k}`);
    assert.equal(u.offsetInProgress, woip, `case ${k}`);
    assert.deepEqual(u.entries, wentries, `case ${k}`);
    assert.deepEqual(lg.lines, wlines, `case ${k}`);
  });
});

test('truncateAndAppend does not alias or mutate the input', () => {
  const u = unstable({ entries: ents(5, 1), offset: 5, offsetInProgress: 5 });
  const input = ents(5, 2, 2);
  u.truncateAndAppend(input);
  u.truncateAndAppend(ents(7, 2));
  assert.deepEqual(input, ents(5, 2, 2));
  assert.deepEqual(u.entries, ents(5, 2, 2, 2));
});

test('slice bounds', () => {
  const u = unstable({ entries: ents(5, 1, 1, 2), offset: 5, offsetInProgress: 5 });
  assert.deepEqual(u.slice(6, 8), ents(6, 1, 2));
  assert.deepEqual(u.slice(5, 5), []);
  assert.throws(() => u.slice(7, 6), /invalid unstable.slice 7 > 6/);
  assert.throws(() => u.slice(4, 6), /unstable.slice\[4,6\) out of bound \[5,8\]/);
  assert.throws(() => u.slice(5, 9), /unstable.slice\[5,9\) out of bound \[5,8\]/);
});
