// The public face of the Raft library (etcd-raft's package raft): what a server imports, and the
// contract it must follow to use it correctly.
//
// ## What the library is
// A pure replicated-log state machine. It does no I/O, starts no timers and reads no clock: the
// application persists, sends, applies and ticks. Two drivers exist:
//   - RawNode: synchronous and single-threaded; every call runs raft immediately.
//   - Node: an event-loop wrapper around RawNode for servers. Proposals are queued and stepped
//     as one batch per event-loop turn, proposals wait while no leader is known, and Readys are
//     delivered through onReady() or the ready() async iterator.
//
// ## Starting
//   - New cluster: `startNode(config, peers)` (or `rawNode.bootstrap(peers)` on empty storage);
//     every initial member must be started with the same peers.
//   - Restart: build the Storage from the persisted HardState, snapshot and entries, then
//     `restartNode(config)` / `new RawNode(config)`. Set `config.applied` to the index already
//     applied to the state machine so committed entries are not handed out twice.
//   - Joining an existing cluster: start with empty storage and no peers; the leader's log or
//     snapshot brings the membership.
//
// ## The Ready loop (the part that must be done right)
// Whenever `hasReady()` (RawNode) or a Ready is delivered (Node), handle it in this order:
//   1. Persist: write `rd.hardState` (if non-null), `rd.entries` and `rd.snapshot` (if non-null)
//      to stable storage. When `rd.mustSync` is true the write must be durable (fsync) before
//      step 2; entries with an index already in storage replace that entry and everything after.
//   2. Send `rd.messages`. (Send after persisting: a vote or an append acknowledgement must not
//      leave before the state it vouches for is durable.) If a MsgSnap is among them, report the
//      outcome later with reportSnapshot(); report failed sends with reportUnreachable().
//   3. Apply `rd.committedEntries` to the state machine in order. For EntryConfChange /
//      EntryConfChangeV2 entries, decode them and call applyConfChange() (or skip the call if the
//      application rejects the change); keep the returned ConfState for snapshots.
//      `rd.readStates` answer readIndex() requests: serve each read once applied >= its index.
//   4. Call `advance()`. Only then is the next Ready produced.
// Apply after persisting: committedEntries may include entries of this same Ready's `entries`
// (committed by a quorum elsewhere but not yet durable here). With `asyncStorageWrites` the contract
// changes: never call advance(); instead route the MsgStorageAppend / MsgStorageApply messages
// found in rd.messages to local append/apply workers and step their `responses` back when done.
//
// ## Everything else
//   - Call tick() at a fixed interval; election and heartbeat timeouts are counted in ticks
//     (config.electionTick must be well above heartbeatTick, typically 10 and 1).
//   - Step every message received from a peer with step(). Messages may be lost, duplicated or
//     reordered; raft tolerates all three.
//   - Proposals can be dropped (ErrProposalDropped) or lost after acceptance (a leader change
//     before commit); the application retries or times out, matching entries it applies against
//     its own request ids.
//   - Compact storage (MemoryStorage.createSnapshot + compact) once the state machine has applied
//     far enough; a lagging follower then receives the snapshot.
//
// Errors returned by methods are the singletons in errors.ts, compared by identity. Storage methods
// throw those singletons instead. Invariant violations throw RaftPanic.

export * from './raftpb/types.js';
export {
  ErrCompacted,
  ErrProposalDropped,
  ErrSnapOutOfDate,
  ErrSnapshotTemporarilyUnavailable,
  ErrStepLocalMsg,
  ErrStepPeerNotFound,
  ErrStopped,
  ErrUnavailable,
  RaftError,
} from './errors.js';
export { type Logger, RaftPanic, consoleLogger, discardLogger } from './logger.js';
export { type ReadState, type Ready, type SoftState, STATE_NAMES, StateType } from './ready.js';
export { type Storage, MemoryStorage } from './storage.js';
export { type Config, LocalAppendThread, LocalApplyThread, ReadOnlyOption, validateConfig } from './raft.js';
export {
  type ConfChangeI,
  ProgressType,
  RawNode,
  SnapshotStatus,
  confChangeToV2,
  isConfChangeV2,
  mustSync,
  newRawNode,
} from './rawNode.js';
export { Node, type ReadyHandler, restartNode, startNode } from './node.js';
export { type Peer } from './bootstrap.js';
export { type BasicStatus, type Status, statusToJSON } from './status.js';
export { Progress } from './tracker/progress.js';
export { ProgressStateType } from './tracker/state.js';
export { TrackerConfig } from './tracker/tracker.js';
export {
  describeEntries,
  describeEntry,
  describeHardState,
  describeMessage,
  describeReady,
  describeSnapshot,
  isLocalMsg,
  isResponseMsg,
} from './util.js';
