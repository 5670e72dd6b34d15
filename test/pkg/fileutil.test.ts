// Tests of the file helpers: the directory lock (in-process, against a live child process, stale
// locks of dead or reused pids, foreign hosts), purging with held files, preallocation and durable
// writes.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  DirLock,
  LockedError,
  holdFile,
  isFileHeld,
  preallocate,
  purgeFiles,
  readDirNames,
  releaseFile,
  startPurger,
  writeAndSyncFile,
  zeroRange,
} from '../../src/pkg/fileutil.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fileutil-test-'));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function startTime(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

const hasProc = fs.existsSync('/proc/self/stat');

test('a directory lock excludes a second holder in this process until released', () =>
  withDir(async (dir) => {
    const a = await DirLock.acquire(dir);
    const content = fs.readFileSync(path.join(dir, '.lock'), 'utf8');
    assert.match(content, new RegExp(`^pid ${process.pid}\\n`));
    await assert.rejects(DirLock.acquire(dir), LockedError);
    await assert.rejects(DirLock.acquire(path.join(dir, '.')), /already locked by this process/);
    await a.release();
    assert.equal(fs.existsSync(path.join(dir, '.lock')), false);
    await a.release(); // idempotent
    const b = await DirLock.acquire(dir);
    await b.release();
  }));

test('concurrent acquires in one process: exactly one wins', () =>
  withDir(async (dir) => {
    const results = await Promise.allSettled([DirLock.acquire(dir), DirLock.acquire(dir), DirLock.acquire(dir)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    await (won[0] as PromiseFulfilledResult<DirLock>).value.release();
  }));

test('a lock held by another live process is refused; once it dies the stale lock is taken over', () =>
  withDir(async (dir) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./lockChild.js', import.meta.url)), dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (c) => reject(new Error(`child exited early: ${c}`)));
        child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
      });
      await assert.rejects(DirLock.acquire(dir), (e) => e instanceof LockedError && e.message.includes(`pid ${child.pid}`));
    } finally {
      child.removeAllListeners('exit');
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    const lock = await DirLock.acquire(dir);
    assert.match(fs.readFileSync(path.join(dir, '.lock'), 'utf8'), new RegExp(`^pid ${process.pid}\\n`));
    await lock.release();
  }));

test('stale locks: a dead pid, our own pid from an earlier run, a reused pid are taken over', () =>
  withDir(async (dir) => {
    const lockFile = path.join(dir, '.lock');
    const host = os.hostname();
    // A pid that is not running (pid_max is at most 2^22).
    fs.writeFileSync(lockFile, `pid 4194999\nstart 1\nhost ${host}\n`);
    await (await DirLock.acquire(dir)).release();
    // Our pid, but this process does not hold it: left by an earlier incarnation (e.g. container pid 1).
    fs.writeFileSync(lockFile, `pid ${process.pid}\nstart 1\nhost ${host}\n`);
    await (await DirLock.acquire(dir)).release();
    if (hasProc) {
      // A live pid whose start time differs: the pid was reused by an unrelated process.
      fs.writeFileSync(lockFile, `pid ${process.ppid}\nstart 1\nhost ${host}\n`);
      await (await DirLock.acquire(dir)).release();
      // The same live process (start time matches): still held.
      fs.writeFileSync(lockFile, `pid ${process.ppid}\nstart ${startTime(process.ppid)}\nhost ${host}\n`);
      await assert.rejects(DirLock.acquire(dir), LockedError);
    }
  }));

test('locks from another host or with unreadable content are never broken automatically', () =>
  withDir(async (dir) => {
    const lockFile = path.join(dir, '.lock');
    fs.writeFileSync(lockFile, `pid 4194999\nstart 1\nhost some-other-host\n`);
    await assert.rejects(DirLock.acquire(dir), /host some-other-host/);
    fs.writeFileSync(lockFile, 'garbage');
    await assert.rejects(DirLock.acquire(dir), /unknown owner.*remove the lock file/);
    assert.equal(fs.readFileSync(lockFile, 'utf8'), 'garbage');
  }));

test('a moved lock follows its directory', () =>
  withDir(async (dir) => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    fs.mkdirSync(a);
    const lock = await DirLock.acquire(a);
    fs.renameSync(a, b);
    lock.moved(b);
    await assert.rejects(DirLock.acquire(b), /already locked/);
    await lock.release();
    assert.equal(fs.existsSync(path.join(b, '.lock')), false);
  }));

test('purgeFiles keeps the newest max files with the suffix and stops at a held file', () =>
  withDir(async (dir) => {
    for (let i = 1; i <= 6; i++) fs.writeFileSync(path.join(dir, `${String(i).padStart(4, '0')}.snap`), 'x');
    fs.writeFileSync(path.join(dir, '0000.snap.db'), 'db');
    assert.deepEqual(await purgeFiles(dir, '.snap', 4), ['0001.snap', '0002.snap']);
    holdFile(path.join(dir, '0004.snap'));
    assert.ok(isFileHeld(path.join(dir, '0004.snap')));
    assert.deepEqual(await purgeFiles(dir, '.snap', 1), ['0003.snap']);
    releaseFile(path.join(dir, '0004.snap'));
    assert.deepEqual(await purgeFiles(dir, '.snap', 1), ['0004.snap', '0005.snap']);
    assert.deepEqual(await readDirNames(dir), ['0000.snap.db', '0006.snap']);
  }));

test('startPurger purges on start and stops cleanly', () =>
  withDir(async (dir) => {
    for (let i = 1; i <= 3; i++) fs.writeFileSync(path.join(dir, `${i}.wal`), 'x');
    const errors: unknown[] = [];
    const p = startPurger(dir, '.wal', 1, 10, (e) => errors.push(e));
    await new Promise((r) => setTimeout(r, 30));
    await p.stop();
    assert.deepEqual(await readDirNames(dir, '.wal'), ['3.wal']);
    assert.deepEqual(errors, []);
  }));

test('preallocate grows files (sparse or zero-filled) and never shrinks them; zeroRange clears', () =>
  withDir(async (dir) => {
    for (const mode of ['sparse', 'zero'] as const) {
      const f = path.join(dir, mode);
      const fh = await fsp.open(f, 'w+');
      await fh.write(Buffer.from('hello'), 0, 5, 0);
      await preallocate(fh, 3 * 1024 * 1024 + 7, mode);
      assert.equal((await fh.stat()).size, 3 * 1024 * 1024 + 7);
      await preallocate(fh, 10, mode);
      assert.equal((await fh.stat()).size, 3 * 1024 * 1024 + 7);
      await zeroRange(fh, 1, 3);
      await fh.close();
      const b = fs.readFileSync(f);
      assert.equal(b.subarray(0, 5).toString('latin1'), 'h\0\0lo');
      assert.ok(b.subarray(5).every((x) => x === 0));
    }
  }));

test('writeAndSyncFile replaces the content', () =>
  withDir(async (dir) => {
    const f = path.join(dir, 'f');
    await writeAndSyncFile(f, Buffer.from('a long first version'));
    await writeAndSyncFile(f, Buffer.from('short'));
    assert.equal(fs.readFileSync(f, 'utf8'), 'short');
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
  }));
