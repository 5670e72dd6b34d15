// raftpb types: the messages, entries and states Raft exchanges and persists, shaped after etcd's
// raftpb (same names, same field meanings). Node IDs are bigint because etcd member IDs use all 64
// bits; terms and indexes are numbers (2^53 is far beyond any reachable log index).

export type NodeId = bigint;

/** No node (etcd-raft's `None`). */
export const None: NodeId = 0n;

export enum MessageType {
  MsgHup = 0,
  MsgBeat = 1,
  MsgProp = 2,
  MsgApp = 3,
  MsgAppResp = 4,
  MsgVote = 5,
  MsgVoteResp = 6,
  MsgSnap = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResp = 9,
  MsgUnreachable = 10,
  MsgSnapStatus = 11,
  MsgCheckQuorum = 12,
  MsgTransferLeader = 13,
  MsgTimeoutNow = 14,
  MsgReadIndex = 15,
  MsgReadIndexResp = 16,
  MsgPreVote = 17,
  MsgPreVoteResp = 18,
  MsgStorageAppend = 19,
  MsgStorageAppendResp = 20,
  MsgStorageApply = 21,
  MsgStorageApplyResp = 22,
  MsgForgetLeader = 23,
}

export enum EntryType {
  EntryNormal = 0,
  EntryConfChange = 1,
  EntryConfChangeV2 = 2,
}

export enum ConfChangeType {
  ConfChangeAddNode = 0,
  ConfChangeRemoveNode = 1,
  ConfChangeUpdateNode = 2,
  ConfChangeAddLearnerNode = 3,
}

export enum ConfChangeTransition {
  ConfChangeTransitionAuto = 0,
  ConfChangeTransitionJointImplicit = 1,
  ConfChangeTransitionJointExplicit = 2,
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  votersOutgoing: NodeId[];
  learnersNext: NodeId[];
  autoLeave: boolean;
}

export interface SnapshotMetadata {
  confState: ConfState;
  index: number;
  term: number;
}

export interface Snapshot {
  data: Uint8Array;
  metadata: SnapshotMetadata;
}

export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: number;
  /** logTerm is also used by MsgStorageAppendResp/MsgSnapStatus-like local messages as in etcd-raft. */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  /** Only set on MsgStorageAppend: the vote of the HardState to persist. */
  vote: NodeId;
  snapshot: Snapshot | null;
  reject: boolean;
  rejectHint: number;
  context: Uint8Array;
  responses: Message[];
}

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  context: Uint8Array;
  /** Proposal id chosen by the application (etcd puts a request id here). */
  id: bigint;
}

export interface ConfChangeSingle {
  type: ConfChangeType;
  nodeId: NodeId;
}

export interface ConfChangeV2 {
  transition: ConfChangeTransition;
  changes: ConfChangeSingle[];
  context: Uint8Array;
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

export function emptySnapshot(): Snapshot {
  return { data: EMPTY_BYTES, metadata: { confState: emptyConfState(), index: 0, term: 0 } };
}

export function emptyHardState(): HardState {
  return { term: 0, vote: None, commit: 0 };
}

/** A message with every field at its zero value, overridden by `fields`. */
export function newMessage(fields: Partial<Message>): Message {
  return {
    type: MessageType.MsgHup,
    to: None,
    from: None,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    vote: None,
    snapshot: null,
    reject: false,
    rejectHint: 0,
    context: EMPTY_BYTES,
    responses: [],
    ...fields,
  };
}

export function newEntry(fields: Partial<Entry>): Entry {
  return { term: 0, index: 0, type: EntryType.EntryNormal, data: EMPTY_BYTES, ...fields };
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === None && hs.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function isEmptySnap(s: Snapshot | null | undefined): boolean {
  return !s || s.metadata.index === 0;
}

/** ConfChange (v1) expressed as a ConfChangeV2, as etcd-raft's ConfChange.AsV2 does. */
export function confChangeAsV2(cc: ConfChange): ConfChangeV2 {
  return {
    transition: ConfChangeTransition.ConfChangeTransitionAuto,
    changes: [{ type: cc.type, nodeId: cc.nodeId }],
    context: cc.context,
  };
}

/**
 * Whether a ConfChangeV2 is the "leave joint" marker (auto transition, no changes), and whether it
 * enters a joint config (and if so, whether it leaves it automatically), as etcd-raft decides.
 */
export function confChangeLeaveJoint(cc: ConfChangeV2): boolean {
  return cc.transition === ConfChangeTransition.ConfChangeTransitionAuto && cc.changes.length === 0;
}

export function confChangeEnterJoint(cc: ConfChangeV2): { autoLeave: boolean; ok: boolean } {
  if (cc.transition !== ConfChangeTransition.ConfChangeTransitionAuto || cc.changes.length > 1) {
    switch (cc.transition) {
      case ConfChangeTransition.ConfChangeTransitionAuto:
      case ConfChangeTransition.ConfChangeTransitionJointImplicit:
        return { autoLeave: true, ok: true };
      case ConfChangeTransition.ConfChangeTransitionJointExplicit:
        return { autoLeave: false, ok: true };
      default:
        throw new Error(`unknown transition: ${cc.transition}`);
    }
  }
  return { autoLeave: false, ok: false };
}

/** Set-equality of two ConfStates' member lists (order does not matter), as ConfState.Equivalent. */
export function confStateEquivalent(a: ConfState, b: ConfState): string | null {
  const norm = (cs: ConfState) => {
    const s = (l: NodeId[]) => [...l].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)).join(',');
    return `${s(cs.voters)}|${s(cs.learners)}|${s(cs.votersOutgoing)}|${s(cs.learnersNext)}|${cs.autoLeave}`;
  };
  const na = norm(a);
  const nb = norm(b);
  return na === nb ? null : `ConfStates not equivalent after sorting:\n${na}\n${nb}`;
}

export function compareIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
