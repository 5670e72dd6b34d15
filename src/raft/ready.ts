// The shapes RawNode hands to the application: node roles, the volatile SoftState, ReadStates for
// ReadIndex, and the Ready batch (persist, send, apply, then Advance) — etcd-raft's node.go types.
import type { Entry, HardState, Message, NodeId, Snapshot } from './raftpb/types.js';

export enum StateType {
  StateFollower = 0,
  StateCandidate = 1,
  StateLeader = 2,
  StatePreCandidate = 3,
}

export const STATE_NAMES: readonly string[] = [
  'StateFollower',
  'StateCandidate',
  'StateLeader',
  'StatePreCandidate',
];

/** Volatile state: who leads and what this node is. Not persisted. */
export interface SoftState {
  lead: NodeId;
  raftState: StateType;
}

/** Answer to a ReadIndex request: `index` is safe to serve the read identified by `requestCtx`. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export interface Ready {
  /** Present only when it changed since the last Ready. */
  softState: SoftState | null;
  /** Present only when it changed since the last Ready; persist before sending messages. */
  hardState: HardState | null;
  readStates: ReadState[];
  /** Entries to persist to stable storage before sending messages. */
  entries: Entry[];
  /** Snapshot to persist (index 0 = none). */
  snapshot: Snapshot | null;
  /** Entries to apply to the state machine (already persisted). */
  committedEntries: Entry[];
  /** Messages to send once entries/hardState are persisted (sync mode). */
  messages: Message[];
  /** Whether hardState/entries must be fsynced before sending messages. */
  mustSync: boolean;
}
