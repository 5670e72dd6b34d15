// Bootstrapping a brand-new raft group on empty storage (etcd-raft bootstrap.go): the initial
// membership becomes committed AddNode conf-change entries at term 1, so every member starts from
// the same log. Applications may instead prepare a Storage whose snapshot holds the ConfState.
import { ConfChangeType, EMPTY_BYTES, Entry, EntryType, NodeId, None, emptyHardState } from './raftpb/types.js';
import { encodeConfChange } from './raftpb/codec.js';
import type { RawNode } from './rawNode.js';

export interface Peer {
  id: NodeId;
  /** Stored in the AddNode entry's ConfChange context (etcd puts the member's JSON here). */
  context?: Uint8Array;
}

export function bootstrap(rn: RawNode, peers: readonly Peer[]): Error | null {
  if (peers.length === 0) return new Error('must provide at least one peer to Bootstrap');
  const r = rn.raft;
  let lastIndex: number;
  try {
    lastIndex = r.raftLog.storage.lastIndex();
  } catch (err) {
    return err as Error;
  }
  if (lastIndex !== 0) return new Error("can't bootstrap a nonempty Storage");

  // Nothing is persisted yet: an empty previous HardState makes the first Ready carry one.
  rn.prevHardSt = emptyHardState();

  r.becomeFollower(1, None);
  const ents: Entry[] = peers.map((peer, i) => ({
    term: 1,
    index: i + 1,
    type: EntryType.EntryConfChange,
    data: encodeConfChange({
      type: ConfChangeType.ConfChangeAddNode,
      nodeId: peer.id,
      context: peer.context ?? EMPTY_BYTES,
      id: 0n,
    }),
  }));
  r.raftLog.append(...ents);

  // Committed but not applied: the application still sees them in Ready.committedEntries and
  // applies them again there, which is harmless because adding a known voter is a no-op. Applying
  // them here lets tests campaign right after bootstrapping.
  r.raftLog.committed = ents.length;
  for (const peer of peers) {
    r.applyConfChange({
      transition: 0,
      changes: [{ type: ConfChangeType.ConfChangeAddNode, nodeId: peer.id }],
      context: EMPTY_BYTES,
    });
  }
  return null;
}
