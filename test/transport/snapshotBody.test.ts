// The snapshot body parser: message first, database bytes passed through minus the trailing
// sha256, ending only when the hash matches; corrupt, truncated and oversized bodies fail.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { newMessage, MessageType, type Message } from '../../src/raft/raftpb/types.js';
import { encodeFrame } from '../../src/transport/frame.js';
import { ERR_SNAPSHOT_DIGEST, SnapshotBodyParser } from '../../src/transport/snapshotBody.js';

const snapMsg = newMessage({
  type: MessageType.MsgSnap,
  from: 1n,
  to: 2n,
  term: 4,
  snapshot: {
    data: Buffer.from('membership'),
    metadata: { index: 42, term: 4, confState: { voters: [1n, 2n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
  },
});

function body(db: Buffer, digest = createHash('sha256').update(db).digest()): Buffer {
  return Buffer.concat([encodeFrame(snapMsg), db, digest]);
}

async function parse(chunks: Buffer[]): Promise<{ m: Message | null; db: Buffer; err: Error | null }> {
  const p = new SnapshotBodyParser(1 << 20);
  let m: Message | null = null;
  p.on('message', (x: Message) => (m = x));
  const out: Buffer[] = [];
  const done = new Promise<Error | null>((resolve) => {
    p.on('data', (c: Buffer) => out.push(c));
    p.on('end', () => resolve(null));
    p.on('error', (e) => resolve(e));
  });
  for (const c of chunks) p.write(c);
  p.end();
  const err = await done;
  return { m, db: Buffer.concat(out), err };
}

function splits(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

test('message and database bytes come out intact whatever the chunking', async () => {
  const db = randomBytes(5000);
  for (const size of [1, 7, 31, 32, 33, 1000, 1 << 20]) {
    const r = await parse(splits(body(db), size));
    assert.equal(r.err, null, `chunk ${size}`);
    assert.equal(r.m?.snapshot?.metadata.index, 42);
    assert.deepEqual(r.m?.snapshot?.metadata.confState.voters, [1n, 2n]);
    assert.ok(r.db.equals(db), `chunk ${size}`);
  }
});

test('an empty database is valid', async () => {
  const r = await parse([body(Buffer.alloc(0))]);
  assert.equal(r.err, null);
  assert.equal(r.db.length, 0);
});

test('a wrong sha256 fails the stream instead of ending it', async () => {
  const db = randomBytes(2000);
  const bad = createHash('sha256').update(db).digest();
  bad[5] ^= 1;
  const r1 = await parse(splits(body(db, bad), 100));
  assert.equal(r1.err?.message, ERR_SNAPSHOT_DIGEST);
  const flipped = body(db);
  flipped[flipped.length - 100] ^= 0xff; // a database byte
  const r2 = await parse([flipped]);
  assert.equal(r2.err?.message, ERR_SNAPSHOT_DIGEST);
});

test('truncated bodies fail', async () => {
  const b = body(randomBytes(100));
  assert.match((await parse([b.subarray(0, 3)])).err?.message ?? '', /before its message/);
  assert.match((await parse([b.subarray(0, 10)])).err?.message ?? '', /before its message/);
  const frameLen = encodeFrame(snapMsg).length;
  assert.match((await parse([b.subarray(0, frameLen + 20)])).err?.message ?? '', /before its sha256/);
  assert.equal((await parse([b.subarray(0, b.length - 1)])).err?.message, ERR_SNAPSHOT_DIGEST);
});

test('an oversized message frame is refused', async () => {
  const p = new SnapshotBodyParser(8);
  const err = await new Promise<Error>((resolve) => {
    p.on('error', resolve);
    p.end(body(Buffer.alloc(0)));
  });
  assert.match(err.message, /exceeds the limit/);
});
