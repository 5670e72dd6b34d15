// The contract between the transport and the server that owns the Raft node: what the transport
// calls when messages arrive, when a peer cannot be reached and when a snapshot transfer ends.

import type { Readable } from 'node:stream';
import type { Message, NodeId } from '../raft/raftpb/types.js';

export interface RaftHandler {
  /**
   * Delivers one message received from a peer, in the order the peer sent it. Called synchronously
   * from the socket callback: queue the message (e.g. node.step) rather than doing slow work here.
   * A returned promise is awaited only for snapshots (the sender learns the outcome).
   */
  process(m: Message): void | Promise<void>;
  /** The peer could not be reached (rate-limited per peer): Raft moves it to probing. */
  reportUnreachable(id: NodeId): void;
  /** A snapshot sent to `id` was applied by it (`ok`) or failed. */
  reportSnapshot(id: NodeId, ok: boolean): void;
  /** Whether `id` was removed from the cluster; its streams and snapshots are refused (HTTP 410). */
  isIdRemoved(id: NodeId): boolean;
  /**
   * Stores the backend database arriving with a snapshot at `index`. `db` yields the database bytes
   * and ends only once their sha256 has been verified; it is destroyed with an error instead when
   * the bytes are corrupt or the transfer breaks, in which case the store must be discarded. The
   * promise settles when the database is durably stored (or failed); `process(m)` follows it.
   */
  saveSnapshotDb(index: number, db: Readable): Promise<void>;
  /**
   * A peer told us this member was removed from the cluster (HTTP 410 on our stream): the server
   * should stop, as etcd does on errMemberRemoved.
   */
  reportCriticalError?(err: Error): void;
}
