// Tests of the KV store: revisions, ranges at past revisions, transactions, leases, compaction,
// HashKV and restore from the backend.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Backend } from '../../../src/storage/backend/backend.js';
import { Bucket, MetaKey } from '../../../src/storage/backend/buckets.js';
import { KVStore, type LeaseAttacher } from '../../../src/storage/mvcc/kvstore.js';
import { ErrCompacted, ErrFutureRev } from '../../../src/storage/mvcc/errors.js';
import { revToBytes } from '../../../src/storage/mvcc/revision.js';

const b = (s: string) => Buffer.from(s);

class FakeLessor implements LeaseAttacher {
  readonly items = new Map<string, bigint>();
  readonly log: string[] = [];
  attach(id: bigint, key: Uint8Array): void {
    this.items.set(Buffer.from(key).toString(), id);
    this.log.push(`attach ${id} ${Buffer.from(key)}`);
  }
  detach(id: bigint, key: Uint8Array): void {
    this.items.delete(Buffer.from(key).toString());
    this.log.push(`detach ${id} ${Buffer.from(key)}`);
  }
  lookup(id: bigint): unknown {
    return id === 404n ? undefined : {};
  }
}

async function withStore(
  fn: (s: KVStore, ctx: { file: string; reopen: () => Promise<KVStore>; lessor: FakeLessor }) => Promise<void>,
  cfg = {},
): Promise<void> {
  const dir = fs.mkdtempSync(os.tmpdir() + '/tsetcd-mvcc-');
  const file = path.join(dir, 'db');
  let be = Backend.open(file, { batchInterval: 10_000, noSync: true });
  let lessor = new FakeLessor();
  let s = new KVStore(be, lessor, cfg);
  const reopen = async () => {
    await s.settle();
    s.close();
    await be.close();
    be = Backend.open(file, { batchInterval: 10_000, noSync: true });
    lessor = new FakeLessor();
    ctx.lessor = lessor;
    s = new KVStore(be, lessor, cfg);
    return s;
  };
  const ctx = { file, reopen, lessor };
  try {
    await fn(s, ctx);
  } finally {
    await s.settle();
    s.close();
    await be.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function put(s: KVStore, k: string, v: string, lease = 0n): number {
  const tw = s.write();
  const rev = tw.put(b(k), b(v), lease);
  tw.end();
  return rev;
}

function del(s: KVStore, k: string, end: string | null = null): [number, number] {
  const tw = s.write();
  const r = tw.deleteRange(b(k), end === null ? null : b(end));
  tw.end();
  return r;
}

function get(s: KVStore, k: string, end: string | null = null, rev = 0): string[] {
  return s
    .read()
    .range(b(k), end === null ? null : b(end), { rev })
    .kvs.map((kv) => `${kv.key}=${kv.value}@${kv.createRevision}/${kv.modRevision}/v${kv.version}`);
}

test('writes bump the revision once per transaction; ranges read any retained revision', async () => {
  await withStore(async (s) => {
    assert.equal(s.rev(), 1);
    assert.equal(put(s, 'foo', 'bar'), 2);
    assert.equal(put(s, 'foo', 'baz'), 3);
    const tw = s.write();
    assert.equal(tw.put(b('a'), b('1')), 4);
    assert.equal(tw.put(b('b'), b('2')), 4);
    assert.deepEqual(tw.deleteRange(b('foo'), null), [1, 4]);
    tw.end();
    assert.equal(s.rev(), 4);
    const empty = s.write();
    assert.deepEqual(empty.deleteRange(b('nothing'), null), [0, 4]);
    empty.end();
    assert.equal(s.rev(), 4, 'a transaction without changes keeps the revision');

    assert.deepEqual(get(s, 'foo', null, 2), ['foo=bar@2/2/v1']);
    assert.deepEqual(get(s, 'foo', null, 3), ['foo=baz@2/3/v2']);
    assert.deepEqual(get(s, 'foo'), []);
    assert.deepEqual(get(s, 'a', 'c'), ['a=1@4/4/v1', 'b=2@4/4/v1']);
    assert.equal(put(s, 'foo', 'new'), 5);
    assert.deepEqual(get(s, 'foo'), ['foo=new@5/5/v1'], 'a recreated key starts a new generation');
    assert.throws(() => s.read().range(b('foo'), null, { rev: 6 }), ErrFutureRev);
  });
});

test('range limit, count and unbounded ends', async () => {
  await withStore(async (s) => {
    for (const k of ['a', 'b', 'c', 'd']) put(s, k, k);
    del(s, 'c');
    const r = s.read().range(b('a'), b('z'), { limit: 2 });
    assert.deepEqual(r.kvs.map((kv) => String(kv.key)), ['a', 'b']);
    assert.equal(r.count, 3);
    assert.equal(r.rev, 6);
    assert.equal(s.read().range(b('a'), b('z'), { count: true }).count, 3);
    assert.deepEqual(s.read().range(b('b'), Buffer.alloc(0)).kvs.map((kv) => String(kv.key)), ['b', 'd']);
    assert.deepEqual(s.read().range(b('b'), Buffer.from([0])).kvs.map((kv) => String(kv.key)), ['b', 'd']);
    assert.equal(s.read().range(b('c'), null, { rev: 4 }).count, 1);
  });
});

test('later operations of a write transaction see earlier ones', async () => {
  await withStore(async (s) => {
    put(s, 'k', 'old');
    const tw = s.write();
    tw.put(b('k'), b('new'));
    assert.deepEqual(tw.range(b('k'), null).kvs.map((kv) => String(kv.value)), ['new']);
    assert.equal(tw.range(b('k'), null).rev, 3);
    tw.put(b('n'), b('1'));
    assert.deepEqual(tw.deleteRange(b('n'), null), [1, 3]);
    tw.end();
    assert.deepEqual(get(s, 'k'), ['k=new@2/3/v2']);
    assert.deepEqual(get(s, 'n'), []);
  });
});

test('leases are attached, moved and detached as keys change', async () => {
  await withStore(async (s, ctx) => {
    put(s, 'k', 'v', 7n);
    put(s, 'k', 'v2', 7n); // same lease: nothing to tell
    put(s, 'k', 'v3', 8n);
    put(s, 'k', 'v4');
    put(s, 'j', 'v', 9n);
    del(s, 'j');
    assert.deepEqual(ctx.lessor.log, ['attach 7 k', 'detach 7 k', 'attach 8 k', 'detach 8 k', 'attach 9 j', 'detach 9 j']);
    assert.equal(s.read().range(b('k'), null, { rev: 3 }).kvs[0].lease, 7n);
  });
});

test('compaction: errors, reads below it fail, old revisions are deleted in batches', async () => {
  await withStore(
    async (s) => {
      for (let i = 0; i < 10; i++) put(s, 'k', 'v' + i); // revs 2..11
      put(s, 'gone', 'x'); // 12
      del(s, 'gone'); // 13
      put(s, 'live', 'y'); // 14
      assert.throws(() => s.compact(15), ErrFutureRev);
      await s.compact(13);
      assert.throws(() => s.compact(13), ErrCompacted);
      assert.throws(() => s.compact(5), ErrCompacted);
      assert.throws(() => s.read().range(b('k'), null, { rev: 12 }), ErrCompacted);
      assert.deepEqual(get(s, 'k', null, 13), ['k=v9@2/11/v10']);
      assert.deepEqual(get(s, 'live'), ['live=y@14/14/v1']);
      // what remains in the key bucket: k@11, the tombstone of gone@13 (at the compaction), live@14
      const keys = s.backend.readTx.range(Bucket.Key, revToBytes(0, 0), null).keys;
      assert.deepEqual(
        keys.map((k) => `${k.readUInt32BE(4)}${k.length === 18 ? 't' : ''}`),
        ['11', '13t', '14'],
      );
      assert.deepEqual(s.backend.readTx.get(Bucket.Meta, MetaKey.FinishedCompactRev), revToBytes(13, 0));
      // a second compaction drops the tombstone
      await s.compact(14);
      assert.deepEqual(s.backend.readTx.range(Bucket.Key, revToBytes(0, 0), null).keys.length, 2);
    },
    { compactionBatchLimit: 3, compactionSleepInterval: 1 },
  );
});

test('HashKV: the hash at a revision survives compaction at that revision; differs with data', async () => {
  await withStore(async (s) => {
    for (let i = 0; i < 20; i++) put(s, 'k' + (i % 4), 'v' + i);
    del(s, 'k1');
    const at15 = s.hashByRev(15).hash;
    const atNow = s.hashByRev(0);
    assert.equal(atNow.currentRev, 22);
    assert.equal(atNow.hash.revision, 22);
    assert.notEqual(at15.hash, atNow.hash.hash);
    await s.compact(15);
    const stored = s.hashes.list();
    assert.equal(stored.length, 1);
    assert.deepEqual(stored[0], { ...at15, compactRevision: -1 });
    assert.equal(s.hashByRev(15).hash.hash, at15.hash, 'a stored compaction hash answers HashKV at its revision');
    assert.throws(() => s.hashByRev(10), ErrCompacted);
    assert.throws(() => s.hashByRev(99), ErrFutureRev);
  });
});

test('restore rebuilds index, revisions, compaction and leases from the backend', async () => {
  await withStore(async (s, ctx) => {
    put(s, 'a', '1', 5n);
    put(s, 'b', '1');
    put(s, 'a', '2', 5n);
    del(s, 'b');
    put(s, 'c', '1', 6n);
    put(s, 'c', '2'); // lease dropped
    await s.compact(4);
    put(s, 'd', '1'); // rev 8
    const before = s.hashByRev(0).hash.hash;
    const s2 = await ctx.reopen();
    assert.equal(s2.rev(), 8);
    assert.equal(s2.compactMainRev, 4);
    assert.deepEqual(get(s2, 'a', 'z'), ['a=2@2/4/v2', 'c=2@6/7/v2', 'd=1@8/8/v1']);
    assert.deepEqual(get(s2, 'b', null, 4), ['b=1@3/3/v1']);
    assert.deepEqual(get(s2, 'a', null, 4), ['a=2@2/4/v2']);
    assert.deepEqual([...ctx.lessor.items], [['a', 5n]]);
    assert.equal(s2.hashByRev(0).hash.hash, before);
    assert.equal(put(s2, 'a', '3'), 9);
    assert.deepEqual(get(s2, 'a'), ['a=3@2/9/v3']);
  });
});

test('restore keeps the compacted revision when all later revisions are gone, and resumes a scheduled compaction', async () => {
  await withStore(async (s, ctx) => {
    put(s, 'a', '1');
    put(s, 'a', '2');
    put(s, 'a', '3');
    // simulate a crash after the compaction was scheduled but before it ran
    s.backend.batchTx.put(Bucket.Meta, MetaKey.ScheduledCompactRev, revToBytes(3, 0));
    const s2 = await ctx.reopen();
    assert.equal(s2.compactMainRev, 3, 'the scheduled compaction was resumed');
    await s2.settle();
    assert.throws(() => s2.read().range(b('a'), null, { rev: 2 }), ErrCompacted);
    assert.equal(s2.backend.readTx.range(Bucket.Key, revToBytes(0, 0), null).keys.length, 2);
    assert.deepEqual(s2.backend.readTx.get(Bucket.Meta, MetaKey.FinishedCompactRev), revToBytes(3, 0));
  });
});

test('an empty store compacted at its revision restores at that revision', async () => {
  await withStore(async (s, ctx) => {
    put(s, 'a', '1');
    del(s, 'a');
    await s.compact(3);
    assert.throws(() => s.compact(3), ErrCompacted);
    const s2 = await ctx.reopen();
    assert.equal(s2.rev(), 3);
    assert.equal(s2.index.size, 0);
  });
});
