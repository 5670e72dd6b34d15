// Tests of the LMDB backend: buffered reads, batch commits, consistent index, crash recovery,
// defrag and snapshots.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Backend } from '../../../src/storage/backend/backend.js';
import { Bucket } from '../../../src/storage/backend/buckets.js';

const b = (s: string) => Buffer.from(s);

function tmpdir(): string {
  return fs.mkdtempSync(os.tmpdir() + '/tsetcd-backend-');
}

async function withBackend(
  fn: (be: Backend, file: string) => Promise<void>,
  opts = { batchInterval: 10_000, batchLimit: 10_000 },
): Promise<void> {
  const dir = tmpdir();
  const file = path.join(dir, 'db');
  const be = Backend.open(file, opts);
  try {
    await fn(be, file);
  } finally {
    await be.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function strs(r: { keys: Buffer[]; values: Buffer[] }): string[] {
  return r.keys.map((k, i) => `${k}=${r.values[i]}`);
}

test('pending writes are visible to reads before and after the commit', async () => {
  await withBackend(async (be) => {
    be.batchTx.put(Bucket.Key, b('a'), b('1'));
    be.batchTx.put(Bucket.Key, b('c'), b('3'));
    assert.equal(be.readTx.get(Bucket.Key, b('a'))?.toString(), '1');
    assert.equal(be.commits, 0);
    await be.forceCommit();
    assert.equal(be.commits, 1);
    be.batchTx.put(Bucket.Key, b('b'), b('2'));
    be.batchTx.delete(Bucket.Key, b('c'));
    be.batchTx.put(Bucket.Key, b('a'), b('1*'));
    // committed a,c merged with pending b, delete c, overwrite a
    assert.deepEqual(strs(be.readTx.range(Bucket.Key, b('a'), null)), ['a=1*', 'b=2']);
    assert.equal(be.readTx.get(Bucket.Key, b('c')), undefined);
    await be.forceCommit();
    assert.deepEqual(strs(be.readTx.range(Bucket.Key, b('a'), null)), ['a=1*', 'b=2']);
    // buckets are separate
    assert.deepEqual(strs(be.readTx.range(Bucket.Lease, b('a'), null)), []);
  });
});

test('range honours start, end (exclusive) and limit across committed and pending data', async () => {
  await withBackend(async (be) => {
    for (const k of ['a', 'c', 'e', 'g']) be.batchTx.put(Bucket.Auth, b(k), b(k));
    await be.forceCommit();
    for (const k of ['b', 'd', 'f']) be.batchTx.put(Bucket.Auth, b(k), b(k));
    be.batchTx.delete(Bucket.Auth, b('c'));
    assert.deepEqual(be.readTx.range(Bucket.Auth, b('b'), b('f')).keys.map(String), ['b', 'd', 'e']);
    assert.deepEqual(be.readTx.range(Bucket.Auth, b('a'), null, 3).keys.map(String), ['a', 'b', 'd']);
    assert.deepEqual(be.readTx.range(Bucket.Auth, b('f'), null, 0).keys.map(String), ['f', 'g']);
    const seen: string[] = [];
    be.readTx.forEach(Bucket.Auth, (k) => seen.push(k.toString()));
    assert.deepEqual(seen, ['a', 'b', 'd', 'e', 'f', 'g']);
  });
});

test('reads see a batch while LMDB is still committing it', async () => {
  await withBackend(async (be) => {
    be.batchTx.put(Bucket.Members, b('m1'), b('x'));
    const p = be.forceCommit();
    be.batchTx.put(Bucket.Members, b('m2'), b('y')); // a newer pending layer over the committing one
    be.batchTx.delete(Bucket.Members, b('m1'));
    assert.deepEqual(be.readTx.range(Bucket.Members, b('m'), null).keys.map(String), ['m2']);
    await p;
    await be.forceCommit();
    assert.deepEqual(be.readTx.range(Bucket.Members, b('m'), null).keys.map(String), ['m2']);
  });
});

test('the batch interval commits pending writes', async () => {
  await withBackend(
    async (be) => {
      be.batchTx.put(Bucket.Alarm, b('a'), b('1'));
      await new Promise((r) => setTimeout(r, 60));
      assert.ok(be.commits >= 1);
    },
    { batchInterval: 5, batchLimit: 10_000 },
  );
});

test('the batch limit commits once the synchronous run is over, never in the middle', async () => {
  await withBackend(
    async (be) => {
      for (let i = 0; i < 25; i++) be.batchTx.put(Bucket.Lease, b('k' + i), b('v'));
      assert.equal(be.commits, 0); // nothing happens inside synchronous code
      await Promise.resolve();
      assert.equal(be.commits, 1);
    },
    { batchInterval: 10_000, batchLimit: 10 },
  );
});

test('consistent index and data persist across reopen; pre-commit hooks run in the commit', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'db');
  try {
    let be = Backend.open(file);
    assert.deepEqual(be.consistentIndex(), { index: 0, term: 0 });
    let hookRuns = 0;
    be.onPreCommit((tx) => {
      hookRuns++;
      tx.put(Bucket.Cluster, b('hook'), b(String(hookRuns)));
    });
    be.batchTx.put(Bucket.Key, b('k'), b('v'));
    be.setConsistentIndex(2 ** 40 + 7, 3);
    await be.close();
    assert.equal(hookRuns, 1);
    be = Backend.open(file);
    assert.deepEqual(be.consistentIndex(), { index: 2 ** 40 + 7, term: 3 });
    assert.equal(be.readTx.get(Bucket.Key, b('k'))?.toString(), 'v');
    assert.equal(be.readTx.get(Bucket.Cluster, b('hook'))?.toString(), '1');
    await be.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('rejects empty keys', async () => {
  await withBackend(async (be) => {
    assert.throws(() => be.batchTx.put(Bucket.Key, Buffer.alloc(0), b('x')), /empty key/);
  });
});

test('defrag shrinks the file and keeps data; writes during defrag survive', async () => {
  await withBackend(async (be, file) => {
    const val = Buffer.alloc(512, 1);
    for (let i = 0; i < 2000; i++) be.batchTx.put(Bucket.Key, b('k' + String(i).padStart(5, '0')), val);
    await be.forceCommit();
    for (let i = 0; i < 1990; i++) be.batchTx.delete(Bucket.Key, b('k' + String(i).padStart(5, '0')));
    await be.forceCommit();
    const before = be.size();
    assert.ok(be.sizeInUse() < before / 2, `in use ${be.sizeInUse()} of ${before}`);
    const d = be.defrag();
    be.batchTx.put(Bucket.Key, b('during'), b('x'));
    assert.equal(be.readTx.range(Bucket.Key, b('k'), b('l')).keys.length, 10);
    await d;
    assert.ok(be.size() < before / 4, `size ${be.size()} before ${before}`);
    assert.equal(be.readTx.get(Bucket.Key, b('during'))?.toString(), 'x');
    assert.equal(be.readTx.range(Bucket.Key, b('k'), b('l')).keys.length, 10);
    await be.forceCommit();
    assert.ok(fs.existsSync(file));
    assert.deepEqual(fs.readdirSync(path.dirname(file)).sort(), ['db', 'db-lock']);
  });
});

test('snapshot streams a database file that opens as a backend', async () => {
  await withBackend(async (be, file) => {
    be.batchTx.put(Bucket.Meta, b('x'), b('y'));
    be.setConsistentIndex(42, 5);
    const snap = await be.snapshot();
    const copy = path.join(path.dirname(file), 'copy');
    await new Promise<void>((resolve, reject) => {
      const out = fs.createWriteStream(copy);
      snap.stream.pipe(out).on('finish', resolve).on('error', reject);
    });
    assert.equal(fs.statSync(copy).size, snap.size);
    const be2 = Backend.open(copy);
    assert.deepEqual(be2.consistentIndex(), { index: 42, term: 5 });
    assert.equal(be2.readTx.get(Bucket.Meta, b('x'))?.toString(), 'y');
    await be2.close();
  });
});

// A child process applies "entries" (writes plus the consistent index, one synchronous run each)
// with frequent commits and is SIGKILLed at a random moment. After reopening, the data must be
// exactly what the entries up to the recovered consistent index produced: nothing more, nothing less.
const KEYS = 37;
const childCode = (modUrl: string, bucketsUrl: string, file: string) => `
const { Backend } = await import(${JSON.stringify(modUrl)});
const { Bucket } = await import(${JSON.stringify(bucketsUrl)});
const be = Backend.open(${JSON.stringify(file)}, { batchInterval: 2, batchLimit: 300 });
let i = 0;
let told = false;
function applySome() {
  const n = 1 + Math.floor(Math.random() * 200);
  for (let j = 0; j < n; j++) {
    i++;
    be.batchTx.put(Bucket.Key, Buffer.from('k' + (i % ${KEYS})), Buffer.from(String(i)));
    be.batchTx.put(Bucket.Lease, Buffer.from('last'), Buffer.from(String(i)));
    be.setConsistentIndex(i, 1);
  }
  if (!told && be.commits >= 5) { told = true; process.stdout.write('ready\\n'); }
  setImmediate(applySome);
}
applySome();
`;

test('a backend killed between batches recovers to its consistent index', async () => {
  const modUrl = new URL('../../../src/storage/backend/backend.js', import.meta.url).href;
  const bucketsUrl = new URL('../../../src/storage/backend/buckets.js', import.meta.url).href;
  for (let round = 0; round < 3; round++) {
    const dir = tmpdir();
    const file = path.join(dir, 'db');
    try {
      const child = spawn(process.execPath, ['--input-type=module', '-e', childCode(modUrl, bucketsUrl, file)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', () => resolve());
        child.on('exit', (code) => reject(new Error(`child exited early: ${code}`)));
      });
      await new Promise((r) => setTimeout(r, Math.random() * 40));
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGKILL');
      await exited;

      const be = Backend.open(file);
      const { index } = be.consistentIndex();
      assert.ok(index > 0, 'some batches were committed');
      assert.equal(be.readTx.get(Bucket.Lease, b('last'))?.toString(), String(index));
      for (let k = 0; k < KEYS; k++) {
        // the newest entry i <= index with i % KEYS === k
        const want = index - ((((index - k) % KEYS) + KEYS) % KEYS);
        const got = be.readTx.get(Bucket.Key, b('k' + k))?.toString();
        assert.equal(got, want > 0 ? String(want) : undefined, `key k${k} at index ${index}`);
      }
      await be.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});
