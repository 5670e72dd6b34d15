// Tests of the snapshotter: the `.snap` file format (snappb envelope with CRC-32C over an encoded
// raftpb.Snapshot), loading the newest valid snapshot while setting broken ones aside, matching WAL
// snapshot markers, purging, and cleanup of leftovers.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { crc32c } from '../../src/pkg/crc32c.js';
import { decodeSnapshot } from '../../src/raft/raftpb/codec.js';
import type { Snapshot } from '../../src/raft/raftpb/types.js';
import { Snapshotter, isSnapError, readSnap, snapName } from '../../src/snap/index.js';
import { decodeSnapEnvelope, encodeSnapEnvelope } from '../../src/snap/snappb.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snap-test-'));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function snap(term: number, index: number, data = `state at ${index}`): Snapshot {
  return {
    data: Buffer.from(data),
    metadata: {
      term,
      index,
      confState: { voters: [1n, 2n], learners: [3n], votersOutgoing: [], learnersNext: [], autoLeave: false },
    },
  };
}

function assertSnap(got: Snapshot, want: Snapshot): void {
  assert.equal(got.metadata.term, want.metadata.term);
  assert.equal(got.metadata.index, want.metadata.index);
  assert.deepEqual(got.metadata.confState, want.metadata.confState);
  assert.deepEqual(Buffer.from(got.data), Buffer.from(want.data));
}

test('saveSnap writes %016x-%016x.snap holding a CRC-checked raftpb.Snapshot', () =>
  withDir(async (dir) => {
    const s = new Snapshotter(dir);
    await s.saveSnap(snap(0x1f, 0x2345));
    assert.deepEqual(fs.readdirSync(dir), ['000000000000001f-0000000000002345.snap']);
    assert.equal(snapName(0x1f, 0x2345), '000000000000001f-0000000000002345.snap');
    const raw = fs.readFileSync(path.join(dir, snapName(0x1f, 0x2345)));
    const env = decodeSnapEnvelope(raw);
    assert.equal(env.crc, crc32c(env.data));
    assertSnap(decodeSnapshot(env.data), snap(0x1f, 0x2345));
    assertSnap(await s.load(), snap(0x1f, 0x2345));
  }));

test('an empty snapshot is not saved; an empty directory has no snapshot', () =>
  withDir(async (dir) => {
    const s = new Snapshotter(dir);
    await s.saveSnap({ data: Buffer.alloc(0), metadata: { term: 0, index: 0, confState: snap(0, 0).metadata.confState } });
    assert.deepEqual(fs.readdirSync(dir), []);
    await assert.rejects(s.load(), (e) => isSnapError(e, 'ErrNoSnapshot'));
  }));

test('load returns the newest; broken ones are renamed .broken and skipped', () =>
  withDir(async (dir) => {
    const s = new Snapshotter(dir);
    await s.saveSnap(snap(1, 10));
    await s.saveSnap(snap(1, 20));
    await s.saveSnap(snap(2, 30));
    assertSnap(await s.load(), snap(2, 30));
    // Corrupt the newest: one flipped byte in the data.
    const newest = path.join(dir, snapName(2, 30));
    const b = fs.readFileSync(newest);
    b[b.length - 3] ^= 0xff;
    fs.writeFileSync(newest, b);
    await assert.rejects(readSnap(newest), (e) => isSnapError(e, 'ErrCRCMismatch'));
    // And make the next one empty.
    fs.writeFileSync(path.join(dir, snapName(1, 20)), '');
    assertSnap(await s.load(), snap(1, 10));
    assert.deepEqual(fs.readdirSync(dir).sort(), [
      snapName(1, 10),
      `${snapName(1, 20)}.broken`,
      `${snapName(2, 30)}.broken`,
    ]);
  }));

test('loadNewestAvailable picks the newest snapshot the WAL knows about', () =>
  withDir(async (dir) => {
    const s = new Snapshotter(dir);
    for (const i of [10, 20, 30]) await s.saveSnap(snap(1, i));
    // 30 was saved but its WAL marker never made it: not usable.
    assertSnap(
      await s.loadNewestAvailable([
        { index: 0, term: 0 },
        { index: 10, term: 1 },
        { index: 20, term: 1 },
      ]),
      snap(1, 20),
    );
    await assert.rejects(s.loadNewestAvailable([{ index: 20, term: 2 }]), (e) => isSnapError(e, 'ErrNoSnapshot'));
    assert.equal(fs.readdirSync(dir).filter((n) => n.endsWith('.broken')).length, 0, 'non-matching is not broken');
  }));

test('purge keeps the newest max snapshots and leaves database snapshots alone', () =>
  withDir(async (dir) => {
    const s = new Snapshotter(dir);
    for (const i of [1, 2, 3, 4, 5]) await s.saveSnap(snap(1, i));
    fs.writeFileSync(path.join(dir, '0000000000000001.snap.db'), 'db');
    assert.deepEqual(await s.purge(2), [snapName(1, 1), snapName(1, 2), snapName(1, 3)]);
    assert.deepEqual(fs.readdirSync(dir).sort(), [snapName(1, 4), snapName(1, 5), '0000000000000001.snap.db'].sort());
  }));

test('releaseSnapDBs removes database snapshots older than the given snapshot', () =>
  withDir(async (dir) => {
    const s = new Snapshotter(dir);
    for (const i of [5, 9, 12]) fs.writeFileSync(path.join(dir, `${i.toString(16).padStart(16, '0')}.snap.db`), 'db');
    await s.releaseSnapDBs(snap(1, 9));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['0000000000000009.snap.db', '000000000000000c.snap.db']);
  }));

test('leftovers: old broken snapshots beyond one and orphaned db.tmp files are removed', () =>
  withDir(async (dir) => {
    const now = Date.now() / 1000;
    ['a', 'b', 'c'].forEach((n, i) => {
      const f = path.join(dir, `${n}.snap.broken`);
      fs.writeFileSync(f, 'x');
      fs.utimesSync(f, now - 100 + i, now - 100 + i);
    });
    fs.writeFileSync(path.join(dir, 'db.tmp.123'), 'x');
    const s = new Snapshotter(dir);
    await s.saveSnap(snap(1, 1));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['0000000000000001-0000000000000001.snap', 'c.snap.broken', 'db.tmp.123']);
    await s.load();
    assert.equal(fs.existsSync(path.join(dir, 'db.tmp.123')), false);
  }));

test('the .snap envelope keeps its exact bytes', () => {
  const env = encodeSnapEnvelope(0xfedcba98, Buffer.alloc(130, 1));
  assert.equal(env.subarray(0, 15).toString('hex'), '0898f5f2f60f128201010101010101');
  assert.equal(env.length, 1 + 5 + 1 + 2 + 130);
  const back = decodeSnapEnvelope(env);
  assert.equal(back.crc, 0xfedcba98);
  assert.equal(back.data.length, 130);
});
