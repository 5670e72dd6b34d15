// Crash and corruption cases: a torn last record (cut short, a sector never written, or unsynced
// bytes after a lost sector) is repaired and every earlier record is read back, with appends
// continuing the chain; damage anywhere else (a flipped byte in the middle, in a sealed segment, in
// a length word, a broken chain between segments) is refused with an error naming file and offset.
// A process killed mid-append loses no acknowledged entry.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeEntry } from '../../src/raft/raftpb/codec.js';
import { WAL, WalCorruptionError } from '../../src/wal/index.js';
import { RawRecord, makeEntries, parseSegment, rmDir, tempDir, walFiles } from './helpers.js';

const META = Buffer.from('meta');
const SEG = 64 * 1024;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const root = tempDir('wal-repair-');
  try {
    await fn(path.join(root, 'wal'));
  } finally {
    rmDir(root);
  }
}

/** A WAL of `batches` synced batches of 10 entries (`size` bytes of data each), closed. */
async function writeWal(dir: string, batches: number, size = 256, segmentSize = SEG): Promise<void> {
  const w = await WAL.create(dir, META, { segmentSize });
  for (let b = 0; b < batches; b++) {
    await w.save({ term: 1, vote: 1n, commit: b * 10 }, makeEntries(b * 10 + 1, b * 10 + 10, 1, size));
  }
  await w.close();
}

function entryRecords(file: string): { rec: RawRecord; index: number }[] {
  return parseSegment(file)
    .filter((r) => r.type === 2)
    .map((rec) => ({ rec, index: decodeEntry(rec.data).index }));
}

function tailFile(dir: string): string {
  const names = walFiles(dir);
  return path.join(dir, names[names.length - 1]!);
}

async function readIndexes(dir: string, segmentSize = SEG): Promise<number[]> {
  const w = await WAL.open(dir, { index: 0, term: 0 }, { segmentSize });
  try {
    const { entries } = await w.readAll();
    return entries.map((e) => e.index);
  } finally {
    await w.close();
  }
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

function patch(file: string, offset: number, bytes: Buffer): void {
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, bytes, 0, bytes.length, offset);
  fs.closeSync(fd);
}

function flipByte(file: string, offset: number): void {
  const b = fs.readFileSync(file);
  patch(file, offset, Buffer.from([b[offset]! ^ 0x5a]));
}

/** After a repair: appending works and a further reopen reads old and new entries. */
async function appendAndCheck(dir: string, have: number[]): Promise<void> {
  const w = await WAL.open(dir, { index: 0, term: 0 }, { segmentSize: SEG });
  const { entries } = await w.readAll();
  assert.deepEqual(
    entries.map((e) => e.index),
    have,
  );
  const next = have.length === 0 ? 1 : have[have.length - 1]! + 1;
  await w.save({ term: 1, vote: 1n, commit: next }, makeEntries(next, next + 4, 1, 256));
  await w.close();
  assert.deepEqual(await readIndexes(dir), [...have, ...range(next, next + 4)]);
}

test('a last record cut short by the end of the file is truncated away; all else is read back', () =>
  withDir(async (dir) => {
    await writeWal(dir, 6);
    const tail = tailFile(dir);
    const last = entryRecords(tail).at(-1)!;
    assert.equal(last.index, 60);
    fs.truncateSync(tail, last.rec.offset + 8 + 40);
    const before = fs.readFileSync(tail);
    assert.deepEqual(await readIndexes(dir), range(1, 59));
    assert.deepEqual(fs.readFileSync(`${tail}.broken`), before, 'original kept as .broken');
    assert.equal(fs.statSync(tail).size, SEG, 'preallocation restored');
    await appendAndCheck(dir, range(1, 59));
  }));

test('a last record with a sector never written (all zeros) is torn: repaired', () =>
  withDir(async (dir) => {
    await writeWal(dir, 4, 1500);
    const tail = tailFile(dir);
    const last = entryRecords(tail).at(-1)!;
    const dataStart = last.rec.offset + 8 + 16;
    const sector = Math.ceil(dataStart / 512) * 512;
    assert.ok(sector + 512 <= last.rec.offset + 8 + last.rec.recBytes, 'sector inside the record');
    patch(tail, sector, Buffer.alloc(512));
    assert.deepEqual(await readIndexes(dir), range(1, 39));
    const b = fs.readFileSync(tail);
    assert.ok(b.subarray(last.rec.offset).every((x) => x === 0), 'everything after the last good record zeroed');
    assert.ok(fs.existsSync(`${tail}.broken`));
    await appendAndCheck(dir, range(1, 39));
  }));

test('bytes after a lost length word (out-of-order writeback) are discarded before appending', () =>
  withDir(async (dir) => {
    await writeWal(dir, 3);
    const tail = tailFile(dir);
    const recs = entryRecords(tail);
    const lost = recs.find((r) => r.index === 28)!;
    patch(tail, lost.rec.offset, Buffer.alloc(8));
    assert.deepEqual(await readIndexes(dir), range(1, 27));
    const b = fs.readFileSync(tail);
    assert.ok(b.subarray(lost.rec.offset).every((x) => x === 0), 'stale records after the end cleared');
    assert.equal(fs.existsSync(`${tail}.broken`), false, 'not a torn record: nothing to keep');
    await appendAndCheck(dir, range(1, 27));
  }));

function assertCorruption(e: unknown, file: string, offset: number, code: string): boolean {
  assert.ok(e instanceof WalCorruptionError, `expected WalCorruptionError, got ${String(e)}`);
  assert.equal(e.code, code);
  assert.equal(e.file, file);
  assert.equal(e.offset, offset);
  assert.ok(e.message.includes(`'${file}'`) && e.message.includes(`offset ${offset}`), e.message);
  return true;
}

test('a flipped byte in the middle of the WAL is refused, naming file and offset, and nothing is changed', () =>
  withDir(async (dir) => {
    await writeWal(dir, 10);
    assert.equal(walFiles(dir).length, 1);
    const tail = tailFile(dir);
    const victim = entryRecords(tail).find((r) => r.index === 45)!;
    flipByte(tail, victim.rec.offset + 8 + 30);
    const before = fs.readFileSync(tail);
    const w = await WAL.open(dir, { index: 0, term: 0 }, { segmentSize: SEG });
    await assert.rejects(w.readAll(), (e) => assertCorruption(e, tail, victim.rec.offset, 'ErrCRCMismatch'));
    await w.close();
    assert.deepEqual(fs.readFileSync(tail), before, 'the WAL is left as found');
    assert.equal(fs.existsSync(`${tail}.broken`), false);
    await assert.rejects(WAL.verify(dir, { index: 0, term: 0 }), WalCorruptionError);
  }));

test('a flipped byte in the last record (every sector written) is corruption, not a torn write', () =>
  withDir(async (dir) => {
    await writeWal(dir, 2);
    const tail = tailFile(dir);
    const last = entryRecords(tail).at(-1)!;
    flipByte(tail, last.rec.offset + 8 + 100);
    const w = await WAL.open(dir, { index: 0, term: 0 }, { segmentSize: SEG });
    await assert.rejects(w.readAll(), (e) => assertCorruption(e, tail, last.rec.offset, 'ErrCRCMismatch'));
    await w.close();
  }));

test('a flipped byte in a sealed segment is refused even though the tail is fine', () =>
  withDir(async (dir) => {
    await writeWal(dir, 20, 256, 8192);
    const names = walFiles(dir);
    assert.ok(names.length >= 3);
    const sealed = path.join(dir, names[1]!);
    const victim = entryRecords(sealed)[2]!;
    flipByte(sealed, victim.rec.offset + 8 + 50);
    const w = await WAL.open(dir, { index: 0, term: 0 }, { segmentSize: 8192 });
    await assert.rejects(w.readAll(), (e) => assertCorruption(e, sealed, victim.rec.offset, 'ErrCRCMismatch'));
    await w.close();
  }));

test('a sealed segment cut short is refused, not repaired', () =>
  withDir(async (dir) => {
    await writeWal(dir, 20, 256, 8192);
    const names = walFiles(dir);
    const sealed = path.join(dir, names[0]!);
    const last = entryRecords(sealed).at(-1)!;
    fs.truncateSync(sealed, last.rec.offset + 20);
    const w = await WAL.open(dir, { index: 0, term: 0 }, { segmentSize: 8192 });
    await assert.rejects(w.readAll(), (e) => assertCorruption(e, sealed, last.rec.offset, 'ErrCorrupt'));
    await w.close();
  }));

test('a broken chain between segments (altered crc record) is refused', () =>
  withDir(async (dir) => {
    await writeWal(dir, 20, 256, 8192);
    const second = path.join(dir, walFiles(dir)[1]!);
    const crcRec = parseSegment(second)[0]!;
    assert.equal(crcRec.type, 4);
    // Record bytes: 08 04 10 <crc varint...>: flip the lowest bit of the crc's first byte.
    const at = crcRec.offset + 8 + 3;
    const b = fs.readFileSync(second);
    patch(second, at, Buffer.from([b[at]! ^ 1]));
    const w = await WAL.open(dir, { index: 0, term: 0 }, { segmentSize: 8192 });
    await assert.rejects(w.readAll(), (e) => assertCorruption(e, second, 0, 'ErrCRCMismatch') && /chain/.test(String(e)));
    await w.close();
  }));

test('a damaged length word is refused (our writer never produces it; torn ones are zero)', () =>
  withDir(async (dir) => {
    await writeWal(dir, 3);
    const tail = tailFile(dir);
    const victim = entryRecords(tail).find((r) => r.index === 12)!;
    flipByte(tail, victim.rec.offset + 7);
    const w = await WAL.open(dir, { index: 0, term: 0 }, { segmentSize: SEG });
    await assert.rejects(w.readAll(), (e) => assertCorruption(e, tail, victim.rec.offset, 'ErrCorrupt'));
    await w.close();
  }));

test('verify tolerates a torn tail (a writer may be mid-record) and changes nothing', () =>
  withDir(async (dir) => {
    await writeWal(dir, 3);
    const tail = tailFile(dir);
    const last = entryRecords(tail).at(-1)!;
    fs.truncateSync(tail, last.rec.offset + 30);
    // The torn entry was followed by its batch's HardState (commit 20): that is gone too.
    assert.deepEqual(await WAL.verify(dir, { index: 0, term: 0 }), { term: 1, vote: 1n, commit: 10 });
    assert.equal(fs.statSync(tail).size, last.rec.offset + 30);
  }));

test('a process killed while appending loses no acknowledged entry; its stale lock is taken over', () =>
  withDir(async (dir) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./crashChild.js', import.meta.url)), dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let acked = 0;
    let buf = '';
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, sig) => (sig === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}`))));
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) acked = Math.max(acked, Number(l));
        // Kill mid-stream, well after a few segment cuts (64 KiB segments hold ~200 entries).
        if (acked >= 1500) child.kill('SIGKILL');
      });
    });
    assert.ok(acked >= 1500);
    assert.ok(fs.existsSync(path.join(dir, '.lock')), 'the killed writer left its lock behind');
    const got = await readIndexes(dir);
    assert.ok(got.length >= acked, `read ${got.length} entries, ${acked} were acknowledged`);
    assert.deepEqual(got, range(1, got.length), 'contiguous from 1');
  }));
