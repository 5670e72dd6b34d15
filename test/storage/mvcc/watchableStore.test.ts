// Tests of watches: key, range and from-key watchers, catch-up from the past, filters, prev_kv,
// progress, compaction cancels, slow consumers (victims), batching and the ordering guarantees.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Backend } from '../../../src/storage/backend/backend.js';
import { WatchableStore, type WatchableStoreConfig } from '../../../src/storage/mvcc/watchableStore.js';
import {
  filterNoDelete,
  filterNoPut,
  fragmentEvents,
  INVALID_WATCH_ID,
  type WatchResponse,
  type WatchStream,
} from '../../../src/storage/mvcc/watcher.js';
import { ErrEmptyWatcherRange, ErrWatcherDuplicateID, ErrWatcherNotExist } from '../../../src/storage/mvcc/errors.js';
import { EventType, type Event } from '../../../src/storage/mvcc/kv.js';

const b = (s: string) => Buffer.from(s);

async function withStore(fn: (s: WatchableStore, dir: string) => Promise<void>, cfg: WatchableStoreConfig = {}): Promise<void> {
  const dir = fs.mkdtempSync(os.tmpdir() + '/tsetcd-watch-');
  const be = Backend.open(path.join(dir, 'db'), { batchInterval: 10_000, noSync: true });
  const s = new WatchableStore(be, null, { syncInterval: 5, victimInterval: 2, ...cfg });
  try {
    await fn(s, dir);
  } finally {
    await s.settle();
    s.close();
    await be.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function put(s: WatchableStore, k: string, v: string): number {
  const tw = s.write();
  const r = tw.put(b(k), b(v));
  tw.end();
  return r;
}

function del(s: WatchableStore, k: string, end: string | null = null): void {
  const tw = s.write();
  tw.deleteRange(b(k), end === null ? null : b(end));
  tw.end();
}

const tick = () => new Promise((r) => setTimeout(r, 1));

/** Takes responses until `done` says enough (or fails after a while). */
async function collect(ws: WatchStream, done: (all: WatchResponse[]) => boolean): Promise<WatchResponse[]> {
  const all: WatchResponse[] = [];
  for (let i = 0; i < 2000 && !done(all); i++) {
    all.push(...ws.takeAll());
    if (!done(all)) await tick();
  }
  assert.ok(done(all), `gave up waiting; got ${JSON.stringify(all.map(show))}`);
  return all;
}

const showEv = (e: Event) =>
  `${e.type === EventType.PUT ? 'PUT' : 'DEL'} ${e.kv.key}${e.type === EventType.PUT ? '=' + e.kv.value : ''}@${e.kv.modRevision}` +
  (e.prevKv ? ` (prev ${e.prevKv.value}@${e.prevKv.modRevision})` : '');
const show = (r: WatchResponse) =>
  r.compactRevision ? `#${r.watchId} compacted ${r.compactRevision}` : `#${r.watchId} r${r.revision} [${r.events.map(showEv).join(', ')}]`;
const events = (rs: WatchResponse[]) => rs.flatMap((r) => r.events.map(showEv));

test('key, range and from-key watchers see exactly their events, deletes at the delete revision', async () => {
  await withStore(async (s) => {
    const ws = s.newWatchStream();
    assert.equal(ws.watch(b('foo'), null, 0), 0);
    assert.equal(ws.watch(b('a'), b('c'), 0), 1);
    assert.equal(ws.watch(b('m'), Buffer.from([0]), 0), 2);
    put(s, 'foo', '1'); // 2
    put(s, 'b', '2'); // 3
    put(s, 'c', '3'); // 4: outside [a, c)
    put(s, 'zz', '4'); // 5
    del(s, 'foo'); // 6
    const rs = await collect(ws, (all) => all.length >= 4);
    assert.deepEqual(rs.map(show), ['#0 r2 [PUT foo=1@2]', '#1 r3 [PUT b=2@3]', '#2 r5 [PUT zz=4@5]', '#0 r6 [DEL foo@6]']);
    assert.equal(rs[3].events[0].kv.value.length, 0);
  });
});

test('a transaction is one response holding all of its events', async () => {
  await withStore(async (s) => {
    const ws = s.newWatchStream();
    ws.watch(b('k'), b('l'), 0);
    const tw = s.write();
    tw.put(b('k1'), b('a'));
    tw.put(b('k2'), b('b'));
    tw.put(b('x'), b('c'));
    tw.end();
    const rs = await collect(ws, (all) => all.length >= 1);
    assert.deepEqual(rs.map(show), ['#0 r2 [PUT k1=a@2, PUT k2=b@2]']);
  });
});

test('a watcher from a past revision catches up, then follows, without gaps or repeats', async () => {
  await withStore(async (s) => {
    for (let i = 0; i < 5; i++) put(s, 'k', 'v' + i); // 2..6
    put(s, 'other', 'x'); // 7
    const ws = s.newWatchStream();
    ws.watch(b('k'), null, 3);
    put(s, 'k', 'v5'); // 8, while the watcher is still unsynced
    const rs = await collect(ws, (all) => events(all).length >= 5);
    put(s, 'k', 'v6'); // 9, synced by now
    rs.push(...(await collect(ws, (all) => all.length >= 1)));
    assert.deepEqual(events(rs), ['PUT k=v1@3', 'PUT k=v2@4', 'PUT k=v3@5', 'PUT k=v4@6', 'PUT k=v5@8', 'PUT k=v6@9']);
    assert.equal(rs[0].revision, 8, 'a catch-up response carries the store revision');
  });
});

test('catch-up respects the revision batch limit and never splits a revision', async () => {
  await withStore(
    async (s) => {
      for (let i = 0; i < 5; i++) {
        const tw = s.write();
        tw.put(b('a' + i), b('x'));
        tw.put(b('b' + i), b('y'));
        tw.end();
      }
      const ws = s.newWatchStream();
      ws.watch(b('a'), b('c'), 1);
      const rs = await collect(ws, (all) => events(all).length >= 10);
      assert.deepEqual(
        rs.map((r) => r.events.map((e) => e.kv.modRevision).join(',')),
        ['2,2,3,3', '4,4,5,5', '6,6'],
      );
    },
    { watchBatchMaxRevs: 2 },
  );
});

test('filters drop puts or deletes', async () => {
  await withStore(async (s) => {
    const ws = s.newWatchStream();
    ws.watch(b('k'), null, 0, { filters: [filterNoPut] });
    ws.watch(b('k'), null, 0, { filters: [filterNoDelete] });
    put(s, 'k', '1');
    del(s, 'k');
    const rs = await collect(ws, (all) => all.length >= 2);
    assert.deepEqual(rs.map(show).sort(), ['#0 r3 [DEL k@3]', '#1 r2 [PUT k=1@2]']);
  });
});

test('prev_kv: updates and deletes carry the previous value, creates do not', async () => {
  await withStore(async (s) => {
    const ws = s.newWatchStream();
    ws.watch(b('k'), null, 0, { prevKv: true });
    const plain = s.newWatchStream();
    plain.watch(b('k'), null, 0);
    put(s, 'k', '1');
    put(s, 'k', '2');
    del(s, 'k');
    const rs = await collect(ws, (all) => all.length >= 3);
    assert.deepEqual(events(rs), ['PUT k=1@2', 'PUT k=2@3 (prev 1@2)', 'DEL k@4 (prev 2@3)']);
    const ps = await collect(plain, (all) => all.length >= 3);
    assert.deepEqual(events(ps), ['PUT k=1@2', 'PUT k=2@3', 'DEL k@4']);
  });
});

test('progress notifications only for synced watchers; progress-all uses the invalid watch ID', async () => {
  await withStore(async (s) => {
    for (let i = 0; i < 3; i++) put(s, 'k', String(i));
    const ws = s.newWatchStream();
    const synced = ws.watch(b('x'), null, 0);
    ws.requestProgress(synced);
    assert.deepEqual(ws.takeAll().map(show), ['#0 r4 []']);
    const behind = ws.watch(b('k'), null, 2);
    ws.requestProgress(behind);
    assert.equal(ws.requestProgressAll(), false);
    assert.deepEqual(ws.takeAll(), []);
    await collect(ws, (all) => events(all).length >= 3);
    assert.equal(ws.requestProgressAll(), true);
    assert.deepEqual(ws.takeAll().map((r) => [r.watchId, r.revision, r.events.length]), [[INVALID_WATCH_ID, 4, 0]]);
  });
});

test('a watcher starting below the compaction is cancelled with the compact revision', async () => {
  await withStore(async (s) => {
    for (let i = 0; i < 5; i++) put(s, 'k', String(i)); // 2..6
    await s.compact(5);
    const ws = s.newWatchStream();
    ws.watch(b('k'), null, 3);
    const ok = ws.watch(b('k'), null, 5);
    const rs = await collect(ws, (all) => all.length >= 2);
    assert.deepEqual(rs.map(show).sort(), ['#0 compacted 5', `#${ok} r6 [PUT k=3@5, PUT k=4@6]`]);
    put(s, 'k', 'late');
    const later = await collect(ws, (all) => all.length >= 1);
    assert.deepEqual(later.map(show), ['#1 r7 [PUT k=late@7]'], 'the cancelled watcher hears nothing more');
  });
});

test('a slow consumer gets every event once and in order (victims are retried)', async () => {
  await withStore(async (s) => {
    const ws = s.newWatchStream(2);
    ws.watch(b('k'), b('l'), 0);
    ws.watch(b('k5'), null, 0);
    const n = 60;
    for (let i = 0; i < n; i++) {
      put(s, 'k' + (i % 10), String(i));
      if (i % 7 === 0) await tick(); // let victims and catch-up rounds run in between
    }
    assert.ok(s.victims.length + s.unsynced.size > 0, 'the full queue parked watchers');
    const got: WatchResponse[] = [];
    for (let i = 0; i < 5000 && events(got).length < n + 6; i++) {
      const r = ws.take(); // one at a time: the queue stays the bottleneck
      if (r !== undefined) got.push(r);
      else await tick();
    }
    const range = got.filter((r) => r.watchId === 0).flatMap((r) => r.events.map((e) => e.kv.modRevision));
    const single = got.filter((r) => r.watchId === 1).flatMap((r) => r.events.map((e) => e.kv.modRevision));
    assert.deepEqual(range, Array.from({ length: n }, (_, i) => i + 2));
    assert.deepEqual(single, [7, 17, 27, 37, 47, 57]);
    for (const r of got) assert.ok(r.revision >= r.events[r.events.length - 1].kv.modRevision);
  });
});

test('cancel, duplicate IDs, empty ranges and closing', async () => {
  await withStore(async (s) => {
    const ws = s.newWatchStream();
    assert.equal(ws.watch(b('a'), null, 0, { id: 7 }), 7);
    assert.throws(() => ws.watch(b('a'), null, 0, { id: 7 }), ErrWatcherDuplicateID);
    assert.throws(() => ws.watch(b('b'), b('a'), 0), ErrEmptyWatcherRange);
    assert.throws(() => ws.watch(b('a'), b('a'), 0), ErrEmptyWatcherRange);
    const id = ws.watch(b('a'), null, 0);
    ws.cancel(7);
    assert.throws(() => ws.cancel(7), ErrWatcherNotExist);
    put(s, 'a', '1');
    const rs = await collect(ws, (all) => all.length >= 1);
    assert.deepEqual(rs.map(show), [`#${id} r2 [PUT a=1@2]`]);
    const next = ws.next();
    ws.close();
    assert.equal(await next, null);
    put(s, 'a', '2');
    assert.equal(s.synced.size + s.unsynced.size, 0);
  });
});

test('next() hands over responses as they come', async () => {
  await withStore(async (s) => {
    const ws = s.newWatchStream();
    ws.watch(b('a'), null, 0);
    const p = ws.next();
    put(s, 'a', '1');
    assert.equal(show((await p)!), '#0 r2 [PUT a=1@2]');
    let ready = 0;
    ws.onReady = () => ready++;
    put(s, 'a', '2');
    put(s, 'a', '3');
    await Promise.resolve();
    assert.equal(ready, 1, 'one wake-up for a burst');
    assert.equal(ws.takeAll().length, 2);
  });
});

test('after restoring from another backend, synced watchers catch up', async () => {
  await withStore(async (s, dir) => {
    const ws = s.newWatchStream();
    ws.watch(b('k'), null, 0);
    put(s, 'k', '1'); // 2
    await collect(ws, (all) => all.length >= 1);
    // another member's backend that has gone further
    const other = Backend.open(path.join(dir, 'other'), { noSync: true });
    const o = new WatchableStore(other);
    put(o, 'k', '1');
    put(o, 'k', '2');
    put(o, 'k', '3');
    o.close();
    s.restoreFrom(other);
    const rs = await collect(ws, (all) => all.length >= 1);
    assert.deepEqual(events(rs), ['PUT k=2@3', 'PUT k=3@4']);
    await other.close();
  });
});

test('fragments split large event lists under a byte budget', () => {
  const ev = (i: number): Event => ({
    type: EventType.PUT,
    kv: { key: b('k' + i), value: Buffer.alloc(100), createRevision: 1, modRevision: i, version: 1, lease: 0n },
  });
  const evs = Array.from({ length: 10 }, (_, i) => ev(i + 1));
  assert.equal(fragmentEvents(evs, 1 << 20).length, 1);
  const parts = fragmentEvents(evs, 350);
  assert.ok(parts.length > 1);
  assert.deepEqual(parts.flat(), evs);
  assert.ok(parts.every((p) => p.length >= 1));
  assert.equal(fragmentEvents([ev(1)], 10).length, 1, 'a single event is never split');
});
