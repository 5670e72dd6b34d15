// Peer transport: Raft messages and snapshots between members over HTTP/2.
//
// Usage by the server:
//   const tr = new Transport({ id, clusterId, handler, logger });   // handler: RaftHandler
//   const ps = new PeerServer((s, h) => tr.handleStream(s, h), { host, port, fallback });
//   await ps.start(); tr.addPeer(peerId, peerUrls) for every other member; tr.start();
//   on each Ready: tr.send(rd.messages) (MsgSnap: tr.sendSnapshot(m, dbPath) to attach the db);
//   on conf changes: addPeer / removePeer / updatePeer; at the end: await tr.stop(); await ps.stop().
//
// Wire (tsetcd members only): each member keeps one HTTP/2 session per peer with one long-lived
// POST /raft/stream whose body is a sequence of frames (u32 big-endian length + raftpb Message).
// Snapshots are POST /raft/snapshot: one frame (the MsgSnap), the database bytes, their sha256.
// Every request carries x-etcd-cluster-id, x-server-from and x-raft-to (hex IDs); the receiver
// answers 412 "cluster ID mismatch" / "to field mismatch" and 410 "removed member" as etcd does.
// Delivery is at most once and in order per peer pair; Raft retries what is lost.

export type { RaftHandler } from './handler.js';
export type { TransportLogger, TransportOptions } from './options.js';
// For a server mounting handleStream on its own HTTP/2 server: use these settings and windows.
export { http2Settings, MAX_SESSION_MEMORY_MB, SESSION_WINDOW_BYTES } from './options.js';
export { Transport } from './transport.js';
export { PeerServer, type PeerServerOptions, type StreamHandler } from './peerServer.js';
export type { PeerStats } from './peer.js';
export type { ReceiveStats } from './receiver.js';
export type { SnapshotDb } from './snapshotSender.js';
export { SNAPSHOT_PATH, STREAM_PATH, ERR_CLUSTER_ID_MISMATCH, ERR_MEMBER_REMOVED } from './headers.js';
export { ERR_SNAPSHOT_DIGEST } from './snapshotBody.js';
