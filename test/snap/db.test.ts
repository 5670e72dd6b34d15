// Tests of database snapshots: durable save under `<index>.snap.db`, and the transfer form (bytes +
// SHA-256 trailer) verified on receipt however the stream is chunked, rejected when damaged.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { Snapshotter, checkTrailingHash, dbTransferChunks, dbTransferStream, isSnapError } from '../../src/snap/index.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapdb-test-'));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** Re-chunks `b` into pieces of pseudo-random sizes between 1 and `max` bytes. */
function* rechunk(b: Buffer, max: number, seed = 7): Generator<Buffer> {
  let x = seed;
  let off = 0;
  while (off < b.length) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const n = 1 + (x % max);
    yield b.subarray(off, off + n);
    off += n;
  }
}

const noTemps = (dir: string) => fs.readdirSync(dir).filter((n) => n.startsWith('tmp'));

test('saveDBFrom stores the stream durably as <index>.snap.db; dbFilePath finds it', () =>
  withDir(async (dir) => {
    const s = new Snapshotter(dir);
    const db = randomBytes(300_000);
    const n = await s.saveDBFrom(Readable.from(rechunk(db, 70_000)), 0x42);
    assert.equal(n, db.length);
    const file = await s.dbFilePath(0x42);
    assert.equal(path.basename(file), '0000000000000042.snap.db');
    assert.deepEqual(fs.readFileSync(file), db);
    assert.deepEqual(noTemps(dir), []);
    await assert.rejects(s.dbFilePath(0x43), (e) => isSnapError(e, 'ErrNoDBSnapshot'));
    // A second save for the same index keeps the existing file.
    await s.saveDBFrom(Readable.from([Buffer.from('other')]), 0x42);
    assert.deepEqual(fs.readFileSync(file), db);
    assert.deepEqual(noTemps(dir), []);
  }));

test('the transfer form is the database followed by its SHA-256', () =>
  withDir(async (dir) => {
    const src = path.join(dir, 'db');
    const db = randomBytes(2_500_000);
    fs.writeFileSync(src, db);
    const wire = await collect(dbTransferChunks(src));
    assert.equal(wire.length, db.length + 32);
    assert.deepEqual(wire.subarray(0, db.length), db);
    assert.deepEqual(wire.subarray(db.length), createHash('sha256').update(db).digest());
    assert.deepEqual(await collect(dbTransferStream(src)), wire);
  }));

test('a transfer is verified on receipt however it is chunked, and stored without the trailer', () =>
  withDir(async (dir) => {
    const src = path.join(dir, 'db');
    const db = randomBytes(100_000);
    fs.writeFileSync(src, db);
    const wire = await collect(dbTransferChunks(src));
    const s = new Snapshotter(dir);
    for (const [i, max] of [1000, 33, 31, 5].entries()) {
      const n = await s.saveDBFromTransfer(Readable.from(rechunk(wire, max, i + 1)), i + 1);
      assert.equal(n, db.length);
      assert.deepEqual(fs.readFileSync(await s.dbFilePath(i + 1)), db);
    }
    // An empty database is 32 bytes on the wire.
    const empty = createHash('sha256').digest();
    assert.equal(await s.saveDBFromTransfer(Readable.from([empty]), 99), 0);
  }));

test('a damaged or truncated transfer is rejected and nothing is kept', () =>
  withDir(async (dir) => {
    const src = path.join(dir, 'db');
    fs.writeFileSync(src, randomBytes(50_000));
    const wire = await collect(dbTransferChunks(src));
    const s = new Snapshotter(dir);
    const bad = Buffer.from(wire);
    bad[12_345] ^= 1;
    await assert.rejects(s.saveDBFromTransfer(Readable.from(rechunk(bad, 4096)), 5), (e) =>
      isSnapError(e, 'ErrSnapshotHashMismatch'),
    );
    await assert.rejects(s.saveDBFromTransfer(Readable.from([wire.subarray(0, wire.length - 1)]), 5), (e) =>
      isSnapError(e, 'ErrSnapshotHashMismatch'),
    );
    await assert.rejects(s.saveDBFromTransfer(Readable.from([wire.subarray(0, 10)]), 5), /too short/);
    await assert.rejects(s.dbFilePath(5), (e) => isSnapError(e, 'ErrNoDBSnapshot'));
    assert.deepEqual(noTemps(dir), []);
  }));

test('checkTrailingHash validates a file in transfer form', () =>
  withDir(async (dir) => {
    const src = path.join(dir, 'db');
    const db = randomBytes(70_000);
    fs.writeFileSync(src, db);
    const saved = path.join(dir, 'snapshot.db');
    fs.writeFileSync(saved, await collect(dbTransferChunks(src)));
    assert.equal(await checkTrailingHash(saved), db.length);
    const b = fs.readFileSync(saved);
    b[0] ^= 1;
    fs.writeFileSync(saved, b);
    await assert.rejects(checkTrailingHash(saved), (e) => isSnapError(e, 'ErrSnapshotHashMismatch'));
  }));
