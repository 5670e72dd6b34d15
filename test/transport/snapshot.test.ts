// Snapshot transfer between real transports: the database (from a file, a stream or bytes) is
// stored byte for byte before Raft sees the MsgSnap and the sender learns the outcome; a corrupted
// hash, a failing store, a down peer and a foreign cluster all end in reportSnapshot(false).

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { type Message, MessageType, newMessage, type NodeId } from '../../src/raft/raftpb/types.js';
import { encodeFrame } from '../../src/transport/frame.js';
import { ERR_SNAPSHOT_DIGEST } from '../../src/transport/index.js';
import { CLUSTER, heartbeat, startCluster, startMember, stopAll, waitFor } from './helpers.js';

function snapMsg(from: NodeId, to: NodeId, index: number): Message {
  return newMessage({
    type: MessageType.MsgSnap,
    from,
    to,
    term: 5,
    snapshot: {
      data: Buffer.from('raft snapshot data'),
      metadata: {
        index,
        term: 5,
        confState: { voters: [1n, 2n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
      },
    },
  });
}

function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-transport-snap-'));
  return fn(dir).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

test('a snapshot with its database file arrives intact, stored before Raft sees it', async () => {
  await withTempDir(async (dir) => {
    const ms = await startCluster([1n, 2n]);
    const [a, b] = ms;
    try {
      const db = randomBytes(3 * 1024 * 1024 + 17);
      const src = path.join(dir, 'src.db');
      fs.writeFileSync(src, db);
      const recv = path.join(dir, 'recv');
      fs.mkdirSync(recv);
      b.handler.dbDir = recv;

      const ok = await a.transport.sendSnapshot(snapMsg(1n, 2n, 0x2a), src);
      assert.equal(ok, true);
      assert.deepEqual(a.handler.snapshots, [{ id: 2n, ok: true }]);
      const saved = fs.readFileSync(path.join(recv, '000000000000002a.snap.db'));
      assert.ok(saved.equals(db));
      assert.deepEqual(b.handler.processOrder, ['saved:42', 'process:MsgSnap']);
      const m = b.handler.received[0];
      assert.equal(m.snapshot?.metadata.index, 42);
      assert.equal(Buffer.from(m.snapshot!.data).toString(), 'raft snapshot data');
      assert.ok(a.logger.has('sent database snapshot snapshot-index=42 remote-peer-id=2'));
      assert.ok(b.logger.has('received and saved database snapshot'));

      // The message stream keeps working alongside.
      a.transport.send([heartbeat(1n, 2n, 9)]);
      await waitFor(() => b.handler.received.length === 2, 'heartbeat after snapshot');
    } finally {
      await stopAll(ms);
    }
  });
});

test('databases from a stream, from bytes, and none at all (MsgSnap through send)', async () => {
  const ms = await startCluster([1n, 2n]);
  const [a, b] = ms;
  try {
    const db1 = randomBytes(200_000);
    const chunks = [db1.subarray(0, 1000), db1.subarray(1000, 1010), db1.subarray(1010)];
    assert.equal(await a.transport.sendSnapshot(snapMsg(1n, 2n, 7), Readable.from(chunks)), true);
    const db2 = randomBytes(10);
    assert.equal(await a.transport.sendSnapshot(snapMsg(1n, 2n, 8), db2), true);
    a.transport.send([snapMsg(1n, 2n, 9)]);
    await waitFor(() => a.handler.snapshots.length === 3, 'third snapshot reported');
    assert.ok(a.handler.snapshots.every((s) => s.ok && s.id === 2n));
    assert.equal(b.handler.savedDb.length, 3);
    assert.ok(b.handler.savedDb[0].equals(db1));
    assert.ok(b.handler.savedDb[1].equals(db2));
    assert.equal(b.handler.savedDb[2].length, 0);
    assert.deepEqual(b.handler.received.map((m) => m.snapshot?.metadata.index), [7, 8, 9]);
  } finally {
    await stopAll(ms);
  }
});

test('a corrupted database hash is rejected: nothing stored, Raft never sees the message', async () => {
  const b = await startMember(2n);
  try {
    const db = randomBytes(100_000);
    const digest = createHash('sha256').update(db).digest();
    digest[0] ^= 1;
    const r = await rawSnapshot(b.url, Buffer.concat([encodeFrame(snapMsg(1n, 2n, 3)), db, digest]));
    assert.equal(r.status, 400);
    assert.match(r.body, new RegExp(ERR_SNAPSHOT_DIGEST));
    assert.equal(b.handler.received.length, 0);
    assert.equal(b.handler.savedDb.length, 0);
    assert.equal(b.handler.saveErrors[0]?.message, ERR_SNAPSHOT_DIGEST);

    // The same body with the right hash is accepted.
    const good = Buffer.concat([encodeFrame(snapMsg(1n, 2n, 3)), db, createHash('sha256').update(db).digest()]);
    assert.equal((await rawSnapshot(b.url, good)).status, 204);
    assert.ok(b.handler.savedDb[0].equals(db));

    // Not a MsgSnap: refused before any database is stored.
    const wrong = Buffer.concat([encodeFrame(heartbeat(1n, 2n, 1)), createHash('sha256').digest()]);
    const w = await rawSnapshot(b.url, wrong);
    assert.equal(w.status, 400);
    assert.equal(w.body, 'wrong raft message type\n');
  } finally {
    await stopAll([b]);
  }
});

test('failures end in reportSnapshot(false) and reportUnreachable', async () => {
  const ms = await startCluster([1n, 2n]);
  const [a, b] = ms;
  const foreign = await startMember(3n, { clusterId: CLUSTER + 5n });
  try {
    // The receiver cannot store the database.
    b.handler.failSave = new Error('disk full');
    assert.equal(await a.transport.sendSnapshot(snapMsg(1n, 2n, 4), randomBytes(5000)), false);
    assert.deepEqual(a.handler.snapshots, [{ id: 2n, ok: false }]);
    assert.ok(a.handler.unreachable.includes(2n));
    assert.ok(a.logger.has('failed to send database snapshot snapshot-index=4 remote-peer-id=2 error="unexpected http status 500 (failed to save KV snapshot (disk full))"'));
    assert.equal(b.handler.received.length, 0);

    // A member of another cluster.
    a.transport.addPeer(3n, [foreign.url]);
    assert.equal(await a.transport.sendSnapshot(snapMsg(1n, 3n, 4), randomBytes(10)), false);
    assert.ok(a.logger.has('request sent was ignored by remote peer due to cluster ID mismatch remote-peer-id=3'));
    assert.equal(foreign.handler.received.length, 0);

    // An unknown peer, and a peer that is down.
    assert.equal(await a.transport.sendSnapshot(snapMsg(1n, 9n, 4), null), false);
    await stopAll([b]);
    assert.equal(await a.transport.sendSnapshot(snapMsg(1n, 2n, 4), randomBytes(10)), false);
    assert.deepEqual(a.handler.snapshots.map((s) => s.ok), [false, false, false, false]);
  } finally {
    await stopAll([a, foreign]);
  }
});

test('a missing database file fails the transfer', async () => {
  const ms = await startCluster([1n, 2n]);
  try {
    assert.equal(await ms[0].transport.sendSnapshot(snapMsg(1n, 2n, 4), '/nonexistent/tsetcd.db'), false);
    assert.deepEqual(ms[0].handler.snapshots, [{ id: 2n, ok: false }]);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(ms[1].handler.received.length, 0);
  } finally {
    await stopAll(ms);
  }
});

async function rawSnapshot(url: string, body: Buffer): Promise<{ status: number; body: string }> {
  const s = http2.connect(url);
  try {
    return await new Promise((resolve, reject) => {
      s.on('error', reject);
      const req = s.request({
        ':method': 'POST',
        ':path': '/raft/snapshot',
        'x-etcd-cluster-id': CLUSTER.toString(16),
        'x-server-from': '1',
        'x-raft-to': '2',
      });
      req.on('error', reject);
      req.on('response', (h) => {
        let text = '';
        req.setEncoding('utf8');
        req.on('data', (d: string) => (text += d));
        req.on('end', () => resolve({ status: Number(h[':status']), body: text }));
      });
      req.end(body);
    });
  } finally {
    s.close();
  }
}
