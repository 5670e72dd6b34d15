// MVCC storage benchmark (npm run bench:storage): on a fresh LMDB backend (fsync on, 100 ms /
// 10,000-op batches) it prints
//   - Put/s: one write transaction per put, as the server applies one request per raft entry, with
//     the consistent index set after each and the event loop free between batches of applies;
//   - Range/s: single-key serializable ranges at the current revision over the same keys;
//   - watch events delivered/s: puts on watched keys fanned out to many watchers over many streams,
//     counted when consumers take the responses.
// Options: --keys N (100000), --value BYTES (256), --watchers W (1000), --streams S (100),
// --watch-puts P (2000).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { Backend } from '../src/storage/backend/backend.js';
import { KVStore } from '../src/storage/mvcc/kvstore.js';
import { WatchableStore } from '../src/storage/mvcc/watchableStore.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const KEYS = arg('keys', 100_000);
const VALUE = arg('value', 256);
const WATCHERS = arg('watchers', 1000);
const STREAMS = arg('streams', 100);
const WATCH_PUTS = arg('watch-puts', 2000);
const APPLY_BATCH = 1000; // applies per event-loop turn, like one Ready's committed entries

/** 8-byte keys in scattered order: i times an odd constant mod 2^64 is a bijection. */
function makeKeys(n: number, prefix = 0n): Buffer[] {
  const keys: Buffer[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const k = Buffer.allocUnsafe(8);
    k.writeBigUInt64BE(BigInt.asUintN(64, (BigInt(i) + prefix) * 0x9e3779b97f4a7c15n));
    keys[i] = k;
  }
  return keys;
}

function rate(n: number, ms: number): string {
  return Math.round((n * 1000) / ms).toLocaleString('en-US');
}

async function benchKV(dir: string): Promise<void> {
  const be = Backend.open(path.join(dir, 'kv.db'));
  const kv = new KVStore(be);
  const keys = makeKeys(KEYS);
  const value = Buffer.alloc(VALUE, 0x61);
  let index = 0;

  const t0 = performance.now();
  for (let i = 0; i < KEYS; i++) {
    const tw = kv.write();
    tw.put(keys[i], value);
    tw.end();
    be.setConsistentIndex(++index, 1);
    if (i % APPLY_BATCH === APPLY_BATCH - 1) await yieldLoop();
  }
  await be.forceCommit();
  const putMs = performance.now() - t0;
  console.log(`mvcc put:   ${rate(KEYS, putMs)} Put/s (${KEYS} keys of 8 bytes, ${VALUE}-byte values, ${be.commits} backend commits, ${(putMs / 1000).toFixed(2)} s)`);

  // a random order so that reads do not simply follow the insertion order
  const order = Array.from({ length: KEYS }, (_, i) => (i * 7919) % KEYS);
  let found = 0;
  const t1 = performance.now();
  for (let i = 0; i < KEYS; i++) {
    const tr = kv.read();
    found += tr.range(keys[order[i]], null).kvs.length;
    tr.end();
  }
  const rangeMs = performance.now() - t1;
  if (found !== KEYS) throw new Error(`range found ${found} of ${KEYS} keys`);
  console.log(`mvcc range: ${rate(KEYS, rangeMs)} Range/s (single-key, serializable, ${(rangeMs / 1000).toFixed(2)} s)`);
  console.log(`backend:    ${(be.size() / 1048576).toFixed(1)} MiB, ${(be.sizeInUse() / 1048576).toFixed(1)} MiB in use`);
  kv.close();
  await be.close();
}

async function benchWatch(dir: string): Promise<void> {
  const be = Backend.open(path.join(dir, 'watch.db'));
  const ws = new WatchableStore(be);
  const keys = makeKeys(100, 1n << 40n);
  const value = Buffer.alloc(VALUE, 0x62);
  const streams = Array.from({ length: STREAMS }, () => ws.newWatchStream());
  let delivered = 0;
  for (const s of streams) {
    s.onReady = () => {
      for (const r of s.takeAll()) delivered += r.events.length;
    };
  }
  // every watcher watches the whole key space (range watchers) so each put reaches all of them
  for (let i = 0; i < WATCHERS; i++) streams[i % STREAMS].watch(Buffer.from([0]), Buffer.alloc(0), 0);
  const expected = WATCH_PUTS * WATCHERS;
  // per turn, stay within a stream's 128-response queue so the bench measures delivery, not parking
  const perTurn = Math.max(1, Math.floor(128 / Math.ceil(WATCHERS / STREAMS)));
  const t0 = performance.now();
  for (let i = 0; i < WATCH_PUTS; i++) {
    const tw = ws.write();
    tw.put(keys[i % keys.length], value);
    tw.end();
    if (i % perTurn === perTurn - 1) await yieldLoop();
  }
  while (delivered < expected) await yieldLoop();
  const ms = performance.now() - t0;
  console.log(`watch:      ${rate(delivered, ms)} events delivered/s (${WATCH_PUTS} puts to ${WATCHERS} watchers on ${STREAMS} streams, ${(ms / 1000).toFixed(2)} s)`);
  for (const s of streams) s.close();
  ws.close();
  await be.close();
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-bench-mvcc-'));
try {
  await benchKV(dir);
  await benchWatch(dir);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
