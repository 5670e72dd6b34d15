// Message streams between real transports on 127.0.0.1: thousands of messages in order per peer
// pair, batching, admission (cluster ID, addressee, removed member), a bounded queue, and a peer
// going down (reported unreachable) and coming back (traffic resumes), a frozen connection caught
// by the session ping, and TLS.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { MessageType, newMessage, type NodeId } from '../../src/raft/raftpb/types.js';
import { ERR_CLUSTER_ID_MISMATCH, PeerServer, Transport } from '../../src/transport/index.js';
import {
  app,
  CapturingLogger,
  CLUSTER,
  heartbeat,
  type Member,
  RecordingHandler,
  startCluster,
  startMember,
  stopAll,
  tick,
  waitFor,
} from './helpers.js';

test('three members exchange thousands of messages, in order per peer pair, batched', async () => {
  const ms = await startCluster([1n, 2n, 3n]);
  try {
    const N = 3000;
    // Each member sends N messages to each other member, in bursts like Ready batches.
    for (let i = 0; i < N; i += 100) {
      for (const a of ms) {
        const batch = [];
        for (const b of ms) {
          if (a === b) continue;
          for (let k = i; k < i + 100; k++) batch.push(k % 10 === 0 ? heartbeat(a.id, b.id, k) : app(a.id, b.id, k, `m${k}`));
        }
        a.transport.send(batch);
      }
      await tick();
    }
    await waitFor(() => ms.every((m) => m.handler.received.length === 2 * N), 'all messages delivered');
    for (const b of ms) {
      for (const a of ms) {
        if (a === b) continue;
        const fromA = b.handler.received.filter((m) => m.from === a.id);
        assert.equal(fromA.length, N);
        fromA.forEach((m, k) => {
          assert.equal(m.to, b.id);
          assert.equal(m.commit, k, `order ${a.id}->${b.id}`);
          assert.equal(m.type, k % 10 === 0 ? MessageType.MsgHeartbeat : MessageType.MsgApp);
          if (m.type === MessageType.MsgApp) assert.equal(Buffer.from(m.entries[0].data).toString(), `m${k}`);
        });
      }
      for (const a of ms) {
        if (a === b) continue;
        const st = a.transport.peerStats(b.id)!;
        assert.equal(st.sentMessages, N);
        assert.equal(st.dropped, 0);
        assert.ok(st.writes <= N / 100, `writes ${st.writes} for ${N} messages`);
      }
      assert.ok(b.transport.receiveStats.chunks < b.transport.receiveStats.messages);
    }
    assert.ok(ms.every((m) => m.handler.unreachable.length === 0));
    assert.ok(ms[0].logger.has('peer became active peer-id=2'));
    assert.ok(ms[0].transport.activeSince(2n) > 0);
  } finally {
    await stopAll(ms);
  }
});

test('sends in one event-loop turn go out in one write', async () => {
  const ms = await startCluster([1n, 2n]);
  try {
    await waitFor(() => ms[0].transport.activeSince(2n) > 0, 'stream active');
    for (let k = 0; k < 500; k++) ms[0].transport.send([heartbeat(1n, 2n, k)]);
    await waitFor(() => ms[1].handler.received.length === 500, 'delivery');
    assert.equal(ms[0].transport.peerStats(2n)!.writes, 1);
    // Messages to None, to ourselves-unknown peers, are ignored without harm.
    ms[0].transport.send([heartbeat(1n, 0n, 1), heartbeat(1n, 99n, 1)]);
    await tick();
    assert.equal(ms[0].transport.peerStats(2n)!.writes, 1);
  } finally {
    await stopAll(ms);
  }
});

test('a large burst is written in bounded writes paced by the stream, all in order', async () => {
  const ms = await startCluster([1n, 2n], { maxWriteBytes: 64 * 1024 });
  try {
    await waitFor(() => ms[0].transport.activeSince(2n) > 0, 'stream active');
    const big = 'z'.repeat(2000);
    const msgs = [];
    for (let k = 0; k < 4000; k++) msgs.push(app(1n, 2n, k, big));
    ms[0].transport.send(msgs);
    await waitFor(() => ms[1].handler.received.length === 4000, 'delivery of the burst');
    ms[1].handler.received.forEach((m, k) => assert.equal(m.index, k));
    const st = ms[0].transport.peerStats(2n)!;
    assert.equal(st.dropped, 0);
    // ~8 MB in writes of at most 64 KiB.
    assert.ok(st.writes >= 120 && st.writes <= 200, `writes ${st.writes}`);
  } finally {
    await stopAll(ms);
  }
});

test('a member of another cluster is refused with 412 and logged on both sides', async () => {
  const a = await startMember(1n);
  const b = await startMember(2n, { clusterId: CLUSTER + 1n });
  try {
    a.transport.addPeer(2n, [b.url]);
    a.transport.start();
    a.transport.send([heartbeat(1n, 2n, 1)]);
    await waitFor(() => a.handler.unreachable.length > 0, 'unreachable report');
    assert.deepEqual(a.handler.unreachable[0], 2n);
    assert.equal(b.handler.received.length, 0);
    assert.ok(b.logger.has(`request cluster ID mismatch local-member-id=2 local-member-cluster-id=${(CLUSTER + 1n).toString(16)}`));
    assert.ok(b.logger.has(`remote-peer-cluster-id=${CLUSTER.toString(16)}`));
    assert.ok(a.logger.has('request sent was ignored by remote peer due to cluster ID mismatch remote-peer-id=2'));
    assert.ok(!a.logger.has('peer became active'));

    // The raw answer: 412 with etcd's text and our cluster ID in the response header.
    const r = await rawPost(b.url, '/raft/stream', { 'x-etcd-cluster-id': '1', 'x-server-from': '1', 'x-raft-to': '2' });
    assert.equal(r.status, 412);
    assert.equal(r.body, `${ERR_CLUSTER_ID_MISMATCH}\n`);
    assert.equal(r.headers['x-etcd-cluster-id'], (CLUSTER + 1n).toString(16));
  } finally {
    await stopAll([a, b]);
  }
});

test('streams addressed to another member, and from removed members, are refused', async () => {
  const ms = await startCluster([1n, 2n]);
  const [a, b] = ms;
  try {
    const cid = CLUSTER.toString(16);
    const wrongTo = await rawPost(b.url, '/raft/stream', { 'x-etcd-cluster-id': cid, 'x-server-from': '1', 'x-raft-to': '3' });
    assert.equal(wrongTo.status, 412);
    assert.equal(wrongTo.body, 'to field mismatch\n');
    assert.ok(b.logger.has('ignored request; ID mismatch local-member-id=2 remote-peer-id-header=3'));
    const get = await rawPost(b.url, '/raft/stream', { ':method': 'GET' });
    assert.equal(get.status, 405);
    const other = await rawPost(b.url, '/members', {});
    assert.equal(other.status, 404);

    // Member 1 is removed as far as 2 knows: its stream is cut and reconnects are refused with 410,
    // which tells 1 it was removed.
    await waitFor(() => a.transport.activeSince(2n) > 0, 'stream active');
    b.handler.removed.add(1n);
    await b.transport.removePeer(1n);
    await waitFor(() => a.handler.critical.length > 0, 'removed reported');
    assert.match(a.handler.critical[0].message, /permanently removed/);
    assert.ok(b.logger.has('rejected request from remote peer because it was removed'));
    const gone = await rawPost(b.url, '/raft/stream', { 'x-etcd-cluster-id': cid, 'x-server-from': '1', 'x-raft-to': '2' });
    assert.equal(gone.status, 410);
    assert.equal(gone.headers['x-etcd-removed'], 'true');
    const before = b.handler.received.length;
    a.transport.send([heartbeat(1n, 2n, 5)]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(b.handler.received.length, before);
  } finally {
    await stopAll(ms);
  }
});

test('a down peer is reported unreachable and traffic resumes when it comes back', async () => {
  const ms = await startCluster([1n, 2n]);
  const [a] = ms;
  let b: Member = ms[1];
  try {
    a.transport.send([heartbeat(1n, 2n, 1)]);
    await waitFor(() => b.handler.received.length === 1, 'first delivery');
    const port = b.server.port;
    await stopAll([b]);
    await waitFor(() => a.handler.unreachable.length > 0, 'unreachable after loss');
    assert.ok(a.logger.has('peer became inactive (message send to peer failed) peer-id=2'));
    assert.equal(a.transport.activeSince(2n), 0);

    // While down, sends are dropped and reported (rate-limited, so far fewer reports than drops).
    for (let i = 0; i < 200; i++) {
      a.transport.send([heartbeat(1n, 2n, 100 + i)]);
    }
    await new Promise((r) => setTimeout(r, 150));
    const reports = a.handler.unreachable.length;
    assert.ok(reports >= 1 && reports < 20, `reports ${reports}`);
    assert.ok(a.transport.peerStats(2n)!.dropped > 0);

    b = await startMember(2n, { port });
    b.transport.addPeer(1n, [a.url]);
    b.transport.start();
    await waitFor(() => a.transport.activeSince(2n) > 0, 'reconnected', 5000);
    a.transport.send([heartbeat(1n, 2n, 999)]);
    await waitFor(() => b.handler.received.some((m) => m.commit === 999), 'delivery after recovery');
  } finally {
    await stopAll([a, b]);
  }
});

test('the per-peer queue is bounded while a peer does not answer', async () => {
  // A TCP listener that accepts and never speaks HTTP/2: the stream never becomes active.
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as net.AddressInfo).port;
  const a = await startMember(1n, { dialTimeoutMs: 10_000, maxQueuedMessages: 100 });
  try {
    a.transport.addPeer(2n, [`http://127.0.0.1:${port}`]);
    a.transport.start();
    const msgs = [];
    for (let i = 0; i < 150; i++) msgs.push(heartbeat(1n, 2n as NodeId, i));
    a.transport.send(msgs);
    assert.equal(a.transport.peerStats(2n)!.dropped, 50);
    assert.equal(a.handler.unreachable.length, 1); // rate-limited: one report for the burst
    assert.ok(a.logger.has('dropped internal Raft message since sending buffer is full'));
  } finally {
    await stopAll([a]);
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

test('updatePeer keeps the working session; the next dial uses the new URL', async () => {
  const ms = await startCluster([1n, 2n]);
  const [a, b] = ms;
  const b2 = await startMember(2n);
  try {
    await waitFor(() => a.transport.activeSince(2n) > 0, 'first stream');
    const since = a.transport.activeSince(2n);
    a.transport.updatePeer(2n, [b2.url]);
    assert.ok(a.logger.has(`updated remote peer local-member-id=1 updated-remote-peer-id=2 updated-remote-peer-urls=${b2.url}`));
    a.transport.send([heartbeat(1n, 2n, 1)]);
    await waitFor(() => b.handler.received.length === 1, 'delivery over the existing session');
    await tick();
    assert.equal(b2.handler.received.length, 0);
    assert.equal(a.transport.activeSince(2n), since, 'the session was not redialed');
    assert.equal(a.handler.unreachable.length, 0);
    // Once that session is lost, the peer is dialed at its new URL.
    await stopAll([b]);
    await waitFor(() => a.transport.activeSince(2n) > 0 && a.transport.activeSince(2n) !== since, 'redial to the new URL');
    a.transport.send([heartbeat(1n, 2n, 2)]);
    await waitFor(() => b2.handler.received.some((m) => m.commit === 2), 'delivery to the new URL');
  } finally {
    await stopAll([...ms, b2]);
  }
});

test('a peer that stops answering is detected by the session ping', async () => {
  const opts = { pingIntervalMs: 20, pingTimeoutMs: 100 };
  const ms = await Promise.all([startMember(1n, opts), startMember(2n, opts)]);
  const [a, b] = ms;
  // a reaches b through a proxy that can freeze: the TCP connection stays up but nothing flows.
  const pipes = new Set<net.Socket>();
  let frozen = false;
  const proxy = net.createServer((client) => {
    const upstream = net.connect(b.server.port, '127.0.0.1');
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      pipes.add(from);
      from.on('error', () => {});
      from.on('data', (d) => {
        if (!frozen) to.write(d);
      });
      from.on('close', () => to.destroy());
    }
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  try {
    a.transport.addPeer(2n, [`http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`]);
    b.transport.addPeer(1n, [a.url]);
    for (const m of ms) m.transport.start();
    await waitFor(() => a.transport.activeSince(2n) > 0, 'stream through the proxy');
    a.transport.send([heartbeat(1n, 2n, 1)]);
    await waitFor(() => b.handler.received.length === 1, 'delivery through the proxy');
    frozen = true;
    await waitFor(() => a.handler.unreachable.length > 0, 'ping timeout', 3000);
    assert.ok(a.logger.has('ping timeout'));
  } finally {
    for (const s of pipes) s.destroy();
    await stopAll(ms);
    await new Promise((r) => proxy.close(r));
  }
});

test('peers talk over TLS when given certificates', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-transport-tls-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    const r = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
    ]);
    if (r.status !== 0) {
      t.skip('openssl is not available');
      return;
    }
    const creds = { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
    const mk = async (id: bigint) => {
      const handler = new RecordingHandler();
      const transport = new Transport({ id, clusterId: CLUSTER, handler, tls: { ca: creds.cert } });
      const server = new PeerServer((s, h) => transport.handleStream(s, h), { tls: creds });
      await server.start();
      return { id, handler, transport, server, url: server.url, logger: new CapturingLogger() };
    };
    const a = await mk(1n);
    const b = await mk(2n);
    try {
      assert.match(b.url, /^https:/);
      a.transport.addPeer(2n, [b.url]);
      a.transport.start();
      b.transport.start();
      a.transport.send([heartbeat(1n, 2n, 77)]);
      await waitFor(() => b.handler.received.length === 1, 'delivery over TLS');
      assert.equal(b.handler.received[0].commit, 77);
      assert.equal(await a.transport.sendSnapshot(newMessage({ type: MessageType.MsgSnap, from: 1n, to: 2n }), Buffer.from('db')), true);
    } finally {
      await stopAll([a, b]);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

async function rawPost(
  url: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string; headers: http2.IncomingHttpHeaders }> {
  const s = http2.connect(url);
  try {
    return await new Promise((resolve, reject) => {
      s.on('error', reject);
      const req = s.request({ ':method': 'POST', ':path': path, ...headers });
      req.on('error', reject);
      req.on('response', (h) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (d: string) => (body += d));
        req.on('end', () => resolve({ status: Number(h[':status']), body, headers: h }));
      });
      req.end();
    });
  } finally {
    s.close();
  }
}
