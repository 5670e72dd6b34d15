// Tests of the WAL's normal life: create, save, read back, the on-disk format (framing, padding,
// CRC chain, segment names), segment cuts, opening at a snapshot, sync decisions, releasing and
// purging segments, locking, and the read-only verify / validSnapshotEntries.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { crc32c } from '../../src/pkg/crc32c.js';
import { LockedError, purgeFiles } from '../../src/pkg/fileutil.js';
import { decodeEntry, decodeHardState } from '../../src/raft/raftpb/codec.js';
import type { ConfState, Entry } from '../../src/raft/raftpb/types.js';
import { WAL, isWalError, parseWalName, walName } from '../../src/wal/index.js';
import { decodeWalSnapshot } from '../../src/wal/walpb.js';
import { makeEntries, parseSegment, rmDir, tempDir, walFiles } from './helpers.js';

const META = Buffer.from('metadata: node 1, cluster 7');
const CS: ConfState = { voters: [1n, 2n, 3n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const SMALL = { segmentSize: 4096 };

function assertEntries(got: Entry[], want: Entry[]): void {
  assert.equal(got.length, want.length, 'entry count');
  for (let i = 0; i < want.length; i++) {
    assert.equal(got[i]!.index, want[i]!.index);
    assert.equal(got[i]!.term, want[i]!.term);
    assert.deepEqual(Buffer.from(got[i]!.data), Buffer.from(want[i]!.data), `data of entry ${want[i]!.index}`);
  }
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const root = tempDir('wal-test-');
  try {
    await fn(path.join(root, 'member', 'wal'));
  } finally {
    rmDir(root);
  }
}

test('create writes crc, metadata and an empty snapshot marker in a preallocated first segment', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META, SMALL);
    await w.close();
    assert.deepEqual(walFiles(dir), ['0000000000000000-0000000000000000.wal']);
    const file = path.join(dir, walFiles(dir)[0]!);
    assert.equal(fs.statSync(file).size, 4096, 'preallocated to the segment size');
    assert.equal(fs.existsSync(`${dir}.tmp`), false, 'temporary directory removed');
    const recs = parseSegment(file);
    assert.deepEqual(
      recs.map((r) => r.type),
      [4, 1, 5],
    );
    assert.equal(recs[0]!.crc, 0, 'first crc record starts the chain at 0');
    assert.deepEqual(recs[1]!.data, META);
    assert.equal(recs[1]!.crc, crc32c(META));
    assert.deepEqual(decodeWalSnapshot(recs[2]!.data), { index: 0, term: 0 });
    assert.equal(recs[2]!.crc, crc32c(recs[2]!.data, recs[1]!.crc), 'crc chained over record data');
  }));

test('framing: little-endian length word, 8-byte padding marked in the top byte', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META, SMALL);
    await w.save({ term: 1, vote: 2n, commit: 0 }, makeEntries(1, 7, 1, 13));
    await w.close();
    const file = path.join(dir, walFiles(dir)[0]!);
    const raw = fs.readFileSync(file);
    let chain = 0;
    for (const r of parseSegment(file)) {
      assert.equal(r.offset % 8, 0, 'records start 8-byte aligned');
      assert.equal(r.pad, (8 - (r.recBytes % 8)) % 8);
      const hi = raw.readUInt32LE(r.offset + 4);
      assert.equal(hi, r.pad === 0 ? 0 : ((0x80 | r.pad) << 24) >>> 0);
      for (let i = 0; i < r.pad; i++) assert.equal(raw[r.offset + 8 + r.recBytes + i], 0, 'padding is zero');
      if (r.type === 4) chain = r.crc;
      else {
        chain = crc32c(r.data, chain);
        assert.equal(r.crc, chain);
      }
    }
    const recs = parseSegment(file);
    const ents = recs.filter((r) => r.type === 2).map((r) => decodeEntry(r.data));
    assert.deepEqual(
      ents.map((e) => e.index),
      [1, 2, 3, 4, 5, 6, 7],
    );
    const st = recs.filter((r) => r.type === 3).map((r) => decodeHardState(r.data));
    assert.deepEqual(st, [{ term: 1, vote: 2n, commit: 0 }]);
  }));

test('save then reopen reads back metadata, the last HardState and all entries', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META);
    const all = makeEntries(1, 50, 3, 200);
    for (let i = 0; i < 50; i += 10) await w.save({ term: 3, vote: 1n, commit: i }, all.slice(i, i + 10));
    assert.equal(w.lastIndex, 50);
    await w.close();
    const r = await WAL.open(dir, { index: 0, term: 0 });
    const got = await r.readAll();
    assert.deepEqual(Buffer.from(got.metadata), META);
    assert.deepEqual(got.hardState, { term: 3, vote: 1n, commit: 40 });
    assertEntries(got.entries, all);
    // Appending continues the chain: a third open sees old and new records.
    await r.save({ term: 4, vote: 2n, commit: 50 }, makeEntries(51, 52, 4));
    await r.close();
    const r2 = await WAL.open(dir, { index: 0, term: 0 });
    const got2 = await r2.readAll();
    assert.equal(got2.entries.length, 52);
    assert.deepEqual(got2.hardState, { term: 4, vote: 2n, commit: 50 });
    await r2.close();
  }));

test('create refuses a directory that already holds a WAL', () =>
  withDir(async (dir) => {
    await (await WAL.create(dir, META, SMALL)).close();
    assert.equal(await WAL.exists(dir), true);
    await assert.rejects(WAL.create(dir, META, SMALL), (e) => isWalError(e, 'ErrExist'));
    assert.equal(await WAL.exists(path.join(dir, 'nope')), false);
  }));

test('segments are cut when full, named (seq, first index), sealed ones truncated, all read back', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META, SMALL);
    const all = makeEntries(1, 300, 1, 100);
    for (let i = 0; i < 300; i += 5) await w.save({ term: 1, vote: 1n, commit: i }, all.slice(i, i + 5));
    await w.close();
    const names = walFiles(dir);
    assert.ok(names.length >= 5, `expected several segments, got ${names.length}`);
    let prevLast = 0;
    names.forEach((n, i) => {
      const [seq, first] = parseWalName(n)!;
      assert.equal(seq, i, 'sequence numbers increase by one');
      assert.equal(n, walName(seq, first));
      const recs = parseSegment(path.join(dir, n));
      assert.equal(recs[0]!.type, 4, 'each segment opens with a crc record');
      assert.equal(recs[1]!.type, 1, 'then the metadata');
      const idx = recs.filter((r) => r.type === 2).map((r) => decodeEntry(r.data).index);
      if (i > 0) {
        assert.equal(first, prevLast + 1, 'first index follows the previous segment');
        assert.equal(recs[2]!.type, 3, 'then the HardState');
      }
      if (idx.length > 0) prevLast = idx[idx.length - 1]!;
      const size = fs.statSync(path.join(dir, n)).size;
      if (i < names.length - 1) {
        const last = recs[recs.length - 1]!;
        assert.equal(size, last.offset + 8 + last.recBytes + last.pad, 'sealed segment truncated to its records');
      } else assert.equal(size, 4096, 'tail preallocated');
    });
    const r = await WAL.open(dir, { index: 0, term: 0 }, SMALL);
    const got = await r.readAll();
    assertEntries(got.entries, all);
    await r.close();
  }));

test('open at a snapshot returns only later entries; unknown or mismatched snapshots are errors', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META, SMALL);
    const all = makeEntries(1, 120, 2, 100);
    await w.save({ term: 2, vote: 1n, commit: 60 }, all.slice(0, 60));
    await w.saveSnapshot({ index: 60, term: 2, confState: CS });
    await w.save({ term: 2, vote: 1n, commit: 120 }, all.slice(60));
    await w.close();
    const r = await WAL.open(dir, { index: 60, term: 2 }, SMALL);
    const got = await r.readAll();
    assertEntries(got.entries, all.slice(60));
    await r.close();

    const bad = await WAL.open(dir, { index: 60, term: 3 }, SMALL);
    await assert.rejects(bad.readAll(), (e) => isWalError(e, 'ErrSnapshotMismatch'));
    await bad.close();
    const missing = await WAL.open(dir, { index: 70, term: 2 }, SMALL);
    await assert.rejects(missing.readAll(), (e) => isWalError(e, 'ErrSnapshotNotFound'));
    await missing.close();
  }));

test('saveSnapshot requires a ConfState past the initial marker', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META, SMALL);
    await assert.rejects(w.saveSnapshot({ index: 5, term: 1 }), /missing ConfState/);
    await w.saveSnapshot({ index: 5, term: 1, confState: CS });
    assert.equal(w.lastIndex, 5);
    await w.close();
  }));

test('later entries override earlier ones at the same index; a gap is an error', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META, SMALL);
    await w.save({ term: 1, vote: 1n, commit: 1 }, makeEntries(1, 5, 1));
    await w.save({ term: 2, vote: 2n, commit: 1 }, makeEntries(3, 4, 2));
    await w.close();
    const r = await WAL.open(dir, { index: 0, term: 0 }, SMALL);
    const got = await r.readAll();
    assert.deepEqual(
      got.entries.map((e) => [e.index, e.term]),
      [
        [1, 1],
        [2, 1],
        [3, 2],
        [4, 2],
      ],
    );
    await r.save({ term: 2, vote: 2n, commit: 1 }, makeEntries(7, 7, 2));
    await r.close();
    const g = await WAL.open(dir, { index: 0, term: 0 }, SMALL);
    await assert.rejects(g.readAll(), (e) => isWalError(e, 'ErrSliceOutOfRange'));
    await g.close();
  }));

test('save syncs once per call, and only when entries, term or vote change', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META);
    const base = w.stats.fsyncs;
    await w.save({ term: 1, vote: 1n, commit: 0 }, makeEntries(1, 100, 1, 256));
    assert.equal(w.stats.fsyncs, base + 1, 'a batch of 100 entries is one fdatasync');
    await w.save({ term: 1, vote: 1n, commit: 50 }, []);
    assert.equal(w.stats.fsyncs, base + 1, 'a commit-only HardState change is not synced');
    await w.save({ term: 2, vote: 1n, commit: 50 }, []);
    assert.equal(w.stats.fsyncs, base + 2, 'a term change is synced');
    await w.save({ term: 2, vote: 3n, commit: 50 }, []);
    assert.equal(w.stats.fsyncs, base + 3, 'a vote change is synced');
    const bytes = w.stats.bytesWritten;
    await w.save({ term: 0, vote: 0n, commit: 0 }, []);
    assert.equal(w.stats.bytesWritten, bytes, 'an empty save writes nothing');
    await w.close();
    const r = await WAL.open(dir, { index: 0, term: 0 });
    assert.deepEqual((await r.readAll()).hardState, { term: 2, vote: 3n, commit: 50 });
    await r.close();
  }));

test('concurrent saves are serialized and all land', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META, SMALL);
    const all = makeEntries(1, 200, 1, 50);
    const ps: Promise<void>[] = [];
    for (let i = 0; i < 200; i += 4) ps.push(w.save({ term: 1, vote: 1n, commit: i }, all.slice(i, i + 4)));
    await Promise.all(ps);
    await w.close();
    const r = await WAL.open(dir, { index: 0, term: 0 }, SMALL);
    assertEntries((await r.readAll()).entries, all);
    await r.close();
  }));

test('readAll twice, or appending before reading, is refused', () =>
  withDir(async (dir) => {
    await (await WAL.create(dir, META, SMALL)).close();
    const r = await WAL.open(dir, { index: 0, term: 0 }, SMALL);
    await assert.rejects(r.save({ term: 1, vote: 0n, commit: 0 }, makeEntries(1, 1)), /read out/);
    await r.readAll();
    await assert.rejects(r.readAll(), (e) => isWalError(e, 'ErrDecoderNotFound'));
    await r.close();
    await assert.rejects(r.sync(), (e) => isWalError(e, 'ErrClosed'));
  }));

test('a second opener of the same directory is refused until the first closes', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META, SMALL);
    await assert.rejects(WAL.open(dir, { index: 0, term: 0 }, SMALL), LockedError);
    await w.close();
    const r = await WAL.open(dir, { index: 0, term: 0 }, SMALL);
    await assert.rejects(WAL.open(dir, { index: 0, term: 0 }, SMALL), /already locked/);
    await r.close();
    assert.equal(fs.existsSync(path.join(dir, '.lock')), false, 'lock file removed on close');
  }));

test('releaseLockTo lets purge remove segments before a snapshot, never the ones still needed', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META, SMALL);
    const all = makeEntries(1, 400, 1, 100);
    for (let i = 0; i < 400; i += 5) await w.save({ term: 1, vote: 1n, commit: i }, all.slice(i, i + 5));
    const names = walFiles(dir);
    assert.ok(names.length >= 6);
    // Nothing released: purge keeps everything.
    assert.deepEqual(await purgeFiles(dir, '.wal', 1), []);
    const firstOf = (i: number) => parseWalName(names[i]!)![1];
    // Release up to an index inside segment 3: segments 0..2 may go (3 may hold the index).
    const idx = firstOf(3) + 1;
    w.releaseLockTo(idx);
    assert.deepEqual(
      w.heldSegments().map((p) => path.basename(p)),
      names.slice(3),
    );
    const removed = await purgeFiles(dir, '.wal', 1);
    assert.deepEqual(removed, names.slice(0, 3));
    assert.deepEqual(walFiles(dir), names.slice(3));
    // Releasing past the end keeps the tail.
    w.releaseLockTo(1e9);
    assert.equal(w.heldSegments().length, 1);
    await w.close();
  }));

test('after purging, the WAL opens at a snapshot held by a remaining segment', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META, SMALL);
    const all = makeEntries(1, 300, 1, 100);
    for (let i = 0; i < 200; i += 5) await w.save({ term: 1, vote: 1n, commit: i }, all.slice(i, i + 5));
    await w.saveSnapshot({ index: 200, term: 1, confState: CS });
    for (let i = 200; i < 300; i += 5) await w.save({ term: 1, vote: 1n, commit: i }, all.slice(i, i + 5));
    w.releaseLockTo(200);
    await purgeFiles(dir, '.wal', 0);
    await w.close();
    const r = await WAL.open(dir, { index: 200, term: 1 }, SMALL);
    const got = await r.readAll();
    assertEntries(got.entries, all.slice(200));
    await r.close();
    // Opening before the first remaining segment is impossible.
    await assert.rejects(WAL.open(dir, { index: 0, term: 0 }, SMALL), (e) => isWalError(e, 'ErrFileNotFound'));
  }));

test('verify checks a WAL read-only; validSnapshotEntries keeps committed markers only', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META, SMALL);
    await w.save({ term: 1, vote: 1n, commit: 10 }, makeEntries(1, 20, 1, 100));
    await w.saveSnapshot({ index: 5, term: 1, confState: CS });
    await w.saveSnapshot({ index: 10, term: 1, confState: CS });
    await w.saveSnapshot({ index: 15, term: 1, confState: CS });
    await w.save({ term: 1, vote: 1n, commit: 12 }, makeEntries(21, 80, 1, 100));
    // verify does not need the lock, so it works next to the open writer.
    assert.deepEqual(await WAL.verify(dir, { index: 10, term: 1 }), { term: 1, vote: 1n, commit: 12 });
    await assert.rejects(WAL.verify(dir, { index: 10, term: 2 }), (e) => isWalError(e, 'ErrSnapshotMismatch'));
    await assert.rejects(WAL.verify(dir, { index: 11, term: 1 }), (e) => isWalError(e, 'ErrSnapshotNotFound'));
    const snaps = await WAL.validSnapshotEntries(dir);
    assert.deepEqual(
      snaps.map((s) => [s.index, s.term]),
      [
        [0, 0],
        [5, 1],
        [10, 1],
      ],
    );
    assert.deepEqual(snaps[1]!.confState?.voters, [1n, 2n, 3n]);
    await w.close();
  }));

test('a file that is not a segment is ignored; a gap in sequence numbers is refused', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META, SMALL);
    for (let i = 0; i < 100; i += 5) await w.save({ term: 1, vote: 1n, commit: i }, makeEntries(i + 1, i + 5, 1, 100));
    await w.close();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'x');
    const names = walFiles(dir);
    assert.ok(names.length >= 3);
    fs.renameSync(path.join(dir, names[1]!), path.join(dir, walName(7, parseWalName(names[1]!)![1])));
    await assert.rejects(WAL.open(dir, { index: 0, term: 0 }, SMALL), (e) => isWalError(e, 'ErrBadSequence'));
    assert.equal(fs.existsSync(path.join(dir, '.lock')), false, 'a failed open releases the lock');
  }));

test('an entry larger than a segment is written whole and the WAL cuts after it', () =>
  withDir(async (dir) => {
    const w = await WAL.create(dir, META, SMALL);
    const big = makeEntries(1, 1, 1, 10_000);
    await w.save({ term: 1, vote: 1n, commit: 0 }, big);
    await w.save({ term: 1, vote: 1n, commit: 1 }, makeEntries(2, 3, 1, 10));
    await w.close();
    const names = walFiles(dir);
    assert.equal(names.length, 2);
    assert.equal(parseWalName(names[1]!)![1], 2, 'next segment starts after the big entry');
    assert.ok(fs.statSync(path.join(dir, names[0]!)).size > 10_000);
    const r = await WAL.open(dir, { index: 0, term: 0 }, SMALL);
    const got = await r.readAll();
    assertEntries(got.entries, [...big, ...makeEntries(2, 3, 1, 10)]);
    await r.close();
  }));

test('onFsync reports each fdatasync; unsafeNoFsync skips them', () =>
  withDir(async (dir) => {
    const seen: number[] = [];
    const w = await WAL.create(dir, META, { ...SMALL, onFsync: (s) => seen.push(s) });
    const n = seen.length;
    await w.save({ term: 1, vote: 1n, commit: 0 }, makeEntries(1, 3));
    assert.equal(seen.length, n + 1);
    assert.ok(seen.every((s) => s >= 0));
    await w.close();
    const r = await WAL.open(dir, { index: 0, term: 0 }, { ...SMALL, unsafeNoFsync: true });
    await r.readAll();
    await r.save({ term: 1, vote: 1n, commit: 0 }, makeEntries(4, 6));
    assert.equal(r.stats.fsyncs, 0);
    await r.close();
    const again = await WAL.open(dir, { index: 0, term: 0 }, SMALL);
    assert.equal((await again.readAll()).entries.length, 6);
    await again.close();
  }));

test('opening a missing WAL reports ErrFileNotFound', () =>
  withDir(async (dir) => {
    await assert.rejects(WAL.open(dir, { index: 0, term: 0 }), (e) => isWalError(e, 'ErrFileNotFound'));
    fs.mkdirSync(dir, { recursive: true });
    await assert.rejects(WAL.open(dir, { index: 0, term: 0 }), (e) => isWalError(e, 'ErrFileNotFound'));
    assert.deepEqual(fs.readdirSync(dir), [], 'no lock left behind');
  }));
