// WAL benchmark: appends batches of 100 entries of 256 bytes, one save (one write + one fdatasync)
// per batch, as the server does per Ready; prints entries/s and MB/s, then the replay speed of
// the log just written. Options: --seconds N (default 3), --preallocate sparse|zero.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Entry } from '../src/raft/raftpb/types.js';
import { WAL } from '../src/wal/index.js';

const BATCH = 100;
const SIZE = 256;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const seconds = Number(arg('seconds', '3'));
const prealloc = arg('preallocate', 'sparse') as 'sparse' | 'zero';

function batch(first: number): Entry[] {
  const out: Entry[] = new Array(BATCH);
  for (let i = 0; i < BATCH; i++) {
    const data = Buffer.allocUnsafe(SIZE);
    data.fill((first + i) & 0xff);
    out[i] = { term: 1, index: first + i, type: 0, data };
  }
  return out;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-bench-'));
try {
  const dir = path.join(root, 'wal');
  const w = await WAL.create(dir, Buffer.from('bench'), { preallocate: prealloc });
  // Warm-up: a few saves so the first-segment allocation does not dominate.
  let next = 1;
  for (let i = 0; i < 20; i++, next += BATCH) await w.save({ term: 1, vote: 1n, commit: next - 1 }, batch(next));
  const fsyncs0 = w.stats.fsyncs;
  const bytes0 = w.stats.bytesWritten;
  const lat: number[] = [];
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let saves = 0;
  while (performance.now() < deadline) {
    const ents = batch(next);
    const s = performance.now();
    await w.save({ term: 1, vote: 1n, commit: next - 1 }, ents);
    lat.push(performance.now() - s);
    next += BATCH;
    saves++;
  }
  const secs = (performance.now() - t0) / 1000;
  const entries = saves * BATCH;
  const written = w.stats.bytesWritten - bytes0;
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))]!.toFixed(2);
  console.log(`WAL append: batches of ${BATCH} x ${SIZE} B entries, one fdatasync per batch (preallocate=${prealloc})`);
  console.log(
    `  ${Math.round(entries / secs)} appends/s, ${(saves / secs).toFixed(0)} batches/s, ` +
      `${((entries * SIZE) / secs / 1e6).toFixed(1)} MB/s payload, ${(written / secs / 1e6).toFixed(1)} MB/s written`,
  );
  console.log(
    `  batch latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms; fdatasyncs ${w.stats.fsyncs - fsyncs0} for ${saves} batches ` +
      `(incl. segment cuts); ${fs.readdirSync(dir).filter((n) => n.endsWith('.wal')).length} segments`,
  );
  await w.close();

  const r0 = performance.now();
  const r = await WAL.open(dir, { index: 0, term: 0 });
  const { entries: replayed } = await r.readAll();
  const rs = (performance.now() - r0) / 1000;
  await r.close();
  console.log(
    `WAL replay: ${replayed.length} entries in ${rs.toFixed(2)} s (${Math.round(replayed.length / rs)} entries/s, ` +
      `${((replayed.length * SIZE) / rs / 1e6).toFixed(1)} MB/s)`,
  );
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
