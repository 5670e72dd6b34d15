// Tests of MemoryStorage (port of etcd-raft storage_test.go plus the harness-relied semantics of
// the conformance README §2.4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../src/raft/storage.js';
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable } from '../../src/raft/errors.js';
import { RaftPanic } from '../../src/raft/logger.js';
import { entrySize } from '../../src/raft/raftpb/codec.js';
import { EntryType, EMPTY_BYTES, emptyConfState } from '../../src/raft/raftpb/types.js';
import type { ConfState, Entry, Snapshot } from '../../src/raft/raftpb/types.js';

// Entries at consecutive indexes from `first` with the given terms (Go's index(first).terms(...)).
function ents(first: number, ...terms: number[]): Entry[] {
  return terms.map((term, k) => ({ term, index: first + k, type: EntryType.EntryNormal, data: EMPTY_BYTES }));
}

function storageWith(es: Entry[]): MemoryStorage {
  const s = new MemoryStorage();
  s.ents = es.slice();
  return s;
}

function snap(index: number, term: number, cs: ConfState = emptyConfState(), data = EMPTY_BYTES): Snapshot {
  return { data, metadata: { index, term, confState: cs } };
}

function catchErr(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return null;
}

test('term', () => {
  const cases: [number, Error | null, number][] = [
    [2, ErrCompacted, 0],
    [3, null, 3],
    [4, null, 4],
    [5, null, 5],
    [6, ErrUnavailable, 0],
  ];
  for (const [i, werr, wterm] of cases) {
    const s = storageWith(ents(3, 3, 4, 5));
    if (werr) assert.equal(catchErr(() => s.term(i)), werr, `i=${i}`);
    else assert.equal(s.term(i), wterm);
  }
});

test('entries', () => {
  const es = ents(3, 3, 4, 5, 6);
  const sz = (k: number) => entrySize(es[k]);
  const cases: [number, number, number, Error | null, Entry[]][] = [
    [2, 6, Infinity, ErrCompacted, []],
    [3, 4, Infinity, ErrCompacted, []],
    [4, 5, Infinity, null, ents(4, 4)],
    [4, 6, Infinity, null, ents(4, 4, 5)],
    [4, 7, Infinity, null, ents(4, 4, 5, 6)],
    // Even with maxSize 0 the first entry is returned.
    [4, 7, 0, null, ents(4, 4)],
    [4, 7, sz(1) + sz(2), null, ents(4, 4, 5)],
    [4, 7, sz(1) + sz(2) + sz(3) / 2, null, ents(4, 4, 5)],
    [4, 7, sz(1) + sz(2) + sz(3) - 1, null, ents(4, 4, 5)],
    [4, 7, sz(1) + sz(2) + sz(3), null, ents(4, 4, 5, 6)],
  ];
  for (const [lo, hi, max, werr, want] of cases) {
    const s = storageWith(es);
    if (werr) assert.equal(catchErr(() => s.entries(lo, hi, max)), werr);
    else assert.deepEqual(s.entries(lo, hi, max), want, `[${lo},${hi}) max=${max}`);
  }
  // hi beyond lastIndex+1 panics; only the dummy means unavailable.
  assert.ok(catchErr(() => storageWith(es).entries(4, 8, Infinity)) instanceof RaftPanic);
  assert.equal(catchErr(() => new MemoryStorage().entries(1, 1, Infinity)), ErrUnavailable);
});

test('entries returns a copy the caller may modify', () => {
  const s = storageWith(ents(3, 3, 4, 5, 6));
  const got = s.entries(4, 7, Infinity);
  got.push(...ents(7, 7));
  got[0] = ents(4, 9)[0];
  assert.deepEqual(s.entries(4, 7, Infinity), ents(4, 4, 5, 6));
});

test('lastIndex', () => {
  const s = storageWith(ents(3, 3, 4, 5));
  assert.equal(s.lastIndex(), 5);
  assert.equal(s.append(ents(6, 5)), null);
  assert.equal(s.lastIndex(), 6);
});

test('firstIndex', () => {
  const s = storageWith(ents(3, 3, 4, 5));
  assert.equal(s.firstIndex(), 4);
  assert.equal(s.compact(4), null);
  assert.equal(s.firstIndex(), 5);
});

test('compact', () => {
  const cases: [number, Error | null, number, number, number][] = [
    [2, ErrCompacted, 3, 3, 3],
    [3, ErrCompacted, 3, 3, 3],
    [4, null, 4, 4, 2],
    [5, null, 5, 5, 1],
  ];
  for (const [i, werr, windex, wterm, wlen] of cases) {
    const s = storageWith(ents(3, 3, 4, 5));
    assert.equal(s.compact(i), werr);
    assert.equal(s.ents[0].index, windex);
    assert.equal(s.ents[0].term, wterm);
    assert.equal(s.ents.length, wlen);
  }
  // Beyond the last index panics.
  assert.ok(catchErr(() => storageWith(ents(3, 3, 4, 5)).compact(6)) instanceof RaftPanic);
});

test('compact keeps previously returned entries intact', () => {
  const s = storageWith(ents(3, 3, 4, 5, 6));
  const before = s.entries(4, 7, Infinity);
  assert.equal(s.compact(5), null);
  assert.deepEqual(before, ents(4, 4, 5, 6));
  assert.deepEqual(s.entries(6, 7, Infinity), ents(6, 6));
  // The compacted entry keeps its term for matching.
  assert.equal(s.term(5), 5);
  assert.equal(catchErr(() => s.term(4)), ErrCompacted);
});

test('createSnapshot', () => {
  const cs: ConfState = { ...emptyConfState(), voters: [1n, 2n, 3n] };
  const data = new TextEncoder().encode('data');
  for (const [i, wterm] of [
    [4, 4],
    [5, 5],
  ]) {
    const s = storageWith(ents(3, 3, 4, 5));
    const [sn, err] = s.createSnapshot(i, cs, data);
    assert.equal(err, null);
    assert.deepEqual(sn, snap(i, wterm, cs, data));
    assert.deepEqual(s.snapshot(), snap(i, wterm, cs, data));
  }
  // Not newer than the current snapshot.
  const s = storageWith(ents(3, 3, 4, 5));
  assert.equal(s.createSnapshot(4, cs, data)[1], null);
  assert.equal(s.createSnapshot(4, cs, data)[1], ErrSnapOutOfDate);
  assert.equal(s.createSnapshot(3, null, data)[1], ErrSnapOutOfDate);
  assert.ok(catchErr(() => s.createSnapshot(6, null, data)) instanceof RaftPanic);
  // Without a ConfState, the previous one is kept.
  const [s5] = s.createSnapshot(5, null, EMPTY_BYTES);
  assert.deepEqual(s5.metadata.confState.voters, [1n, 2n, 3n]);
});

test('append', () => {
  const cases: [Entry[], Entry[]][] = [
    [ents(1, 1, 2), ents(3, 3, 4, 5)],
    [ents(3, 3, 4, 5), ents(3, 3, 4, 5)],
    [ents(3, 3, 6, 6), ents(3, 3, 6, 6)],
    [ents(3, 3, 4, 5, 5), ents(3, 3, 4, 5, 5)],
    // Truncate the incoming entries, truncate the existing entries and append.
    [ents(2, 3, 3, 5), ents(3, 3, 5)],
    // Truncate the existing entries and append.
    [ents(4, 5), ents(3, 3, 5)],
    // Direct append.
    [ents(6, 5), ents(3, 3, 4, 5, 5)],
  ];
  for (const [toAppend, want] of cases) {
    const s = storageWith(ents(3, 3, 4, 5));
    assert.equal(s.append(toAppend), null);
    assert.deepEqual(s.ents, want);
  }
  // A gap panics.
  assert.ok(catchErr(() => storageWith(ents(3, 3, 4, 5)).append(ents(7, 5))) instanceof RaftPanic);
  // Nothing to do for an empty slice.
  const s = storageWith(ents(3, 3, 4, 5));
  assert.equal(s.append([]), null);
  assert.deepEqual(s.ents, ents(3, 3, 4, 5));
});

test('append does not alias the caller array', () => {
  const s = new MemoryStorage();
  const input = ents(1, 1, 1);
  s.append(input);
  s.append(ents(3, 2));
  assert.equal(input.length, 2);
  assert.deepEqual(s.entries(1, 4, Infinity), ents(1, 1, 1, 2));
});

test('applySnapshot', () => {
  const cs: ConfState = { ...emptyConfState(), voters: [1n, 2n, 3n] };
  const data = new TextEncoder().encode('data');
  // Normal case.
  let s = new MemoryStorage();
  assert.equal(s.applySnapshot(snap(4, 4, cs, data)), null);
  assert.equal(s.firstIndex(), 5);
  assert.equal(s.lastIndex(), 4);
  assert.equal(s.term(4), 4);
  assert.deepEqual(s.initialState().confState, cs);
  // Out of date.
  s = new MemoryStorage();
  assert.equal(s.applySnapshot(snap(4, 4, cs, data)), null);
  assert.equal(s.applySnapshot(snap(3, 3, cs, data)), ErrSnapOutOfDate);
  assert.equal(s.applySnapshot(snap(4, 4, cs, data)), ErrSnapOutOfDate);
  // Bootstrap with only a ConfState (index and term 0) is accepted.
  s = new MemoryStorage();
  assert.equal(s.applySnapshot(snap(0, 0, cs, data)), null);
  assert.equal(s.applySnapshot(snap(0, 0, cs, data)), null);
  // Applying replaces the stored log.
  s = storageWith(ents(3, 3, 4, 5));
  assert.equal(s.applySnapshot(snap(10, 7)), null);
  assert.deepEqual(s.ents, ents(10, 7));
  assert.equal(s.firstIndex(), 11);
  assert.equal(s.lastIndex(), 10);
});

test('fresh storage and hard state', () => {
  const s = new MemoryStorage();
  assert.equal(s.firstIndex(), 1);
  assert.equal(s.lastIndex(), 0);
  assert.equal(s.term(0), 0);
  const { hardState, confState } = s.initialState();
  assert.deepEqual(hardState, { term: 0, vote: 0n, commit: 0 });
  assert.deepEqual(confState, emptyConfState());
  assert.equal(s.setHardState({ term: 3, vote: 2n, commit: 1 }), null);
  assert.deepEqual(s.initialState().hardState, { term: 3, vote: 2n, commit: 1 });
  assert.equal(s.callStats.initialState, 2);
});

test('snapshot returns an independent copy', () => {
  const s = new MemoryStorage();
  s.applySnapshot(snap(4, 4, { ...emptyConfState(), voters: [1n] }));
  const got = s.snapshot();
  got.metadata.confState.voters.push(2n);
  got.metadata.index = 99;
  assert.deepEqual(s.snapshot(), snap(4, 4, { ...emptyConfState(), voters: [1n] }));
});
