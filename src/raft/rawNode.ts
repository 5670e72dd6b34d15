// RawNode: the synchronous, single-threaded driver around the raft state machine (etcd-raft
// rawnode.go). It turns caller actions into raft messages, and gathers raft's output into Ready
// batches (entries and HardState to persist, messages to send, entries to apply); Advance then
// feeds back the acknowledgements raft owes itself once that batch has been handled.
import {
  ConfChange,
  ConfChangeV2,
  ConfState,
  EMPTY_BYTES,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  NodeId,
  None,
  Snapshot,
  confChangeAsV2,
  hardStateEqual,
  isEmptyHardState,
  isEmptySnap,
  newMessage,
} from './raftpb/types.js';
import { ErrStepLocalMsg, ErrStepPeerNotFound } from './errors.js';
import type { Ready, SoftState } from './ready.js';
import { Config, Raft, confChangeToMsg, newRaft } from './raft.js';
import type { Progress } from './tracker/progress.js';
import {
  LocalAppendThread,
  LocalApplyThread,
  entsSize,
  isLocalMsg,
  isLocalMsgTarget,
  isResponseMsg,
} from './util.js';
import { BasicStatus, Status, getBasicStatus, getStatus } from './status.js';
import { Peer, bootstrap } from './bootstrap.js';

export enum SnapshotStatus {
  SnapshotFinish = 1,
  SnapshotFailure = 2,
}

/** Whether a Progress passed to withProgress belongs to a voter or a learner. */
export enum ProgressType {
  ProgressTypePeer = 0,
  ProgressTypeLearner = 1,
}

export type ConfChangeI = ConfChange | ConfChangeV2;

export function isConfChangeV2(cc: ConfChangeI): cc is ConfChangeV2 {
  return (cc as ConfChangeV2).changes !== undefined;
}

export function confChangeToV2(cc: ConfChangeI): ConfChangeV2 {
  return isConfChangeV2(cc) ? cc : confChangeAsV2(cc);
}

/** Go's MustSync: term, vote or new entries must reach stable storage before messages go out. */
export function mustSync(st: HardState, prevst: HardState, entsnum: number): boolean {
  return entsnum !== 0 || st.vote !== prevst.vote || st.term !== prevst.term;
}

function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.raftState === b.raftState;
}

export class RawNode {
  readonly raft: Raft;
  readonly asyncStorageWrites: boolean;

  // What the application has already been handed, so Ready only carries changes.
  prevSoftSt: SoftState;
  prevHardSt: HardState;
  // Self-addressed acknowledgements stepped on advance() (sync storage mode only).
  private stepsOnAdvance: Message[] = [];

  constructor(config: Config) {
    const r = newRaft(config);
    this.raft = r;
    this.asyncStorageWrites = config.asyncStorageWrites === true;
    this.prevSoftSt = r.softState();
    this.prevHardSt = r.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Advances the election clock only; deprecated in etcd-raft and kept for parity. */
  tickQuiesced(): void {
    this.raft.electionElapsed++;
  }

  campaign(): Error | null {
    return this.raft.step(newMessage({ type: MessageType.MsgHup }));
  }

  propose(data: Uint8Array): Error | null {
    return this.raft.step(propMessage(this.raft.id, [{ term: 0, index: 0, type: EntryType.EntryNormal, data }]));
  }

  /** Proposes several entries in one MsgProp: appended (or dropped) together. */
  proposeBatch(datas: readonly Uint8Array[]): Error | null {
    const ents: Entry[] = new Array(datas.length);
    for (let i = 0; i < datas.length; i++) ents[i] = { term: 0, index: 0, type: EntryType.EntryNormal, data: datas[i] };
    return this.raft.step(propMessage(this.raft.id, ents));
  }

  proposeConfChange(cc: ConfChangeI): Error | null {
    return this.raft.step(confChangeToMsg(cc));
  }

  /** Applies a committed conf change; skip the call entirely if the application rejects it. */
  applyConfChange(cc: ConfChangeI): ConfState {
    return this.raft.applyConfChange(confChangeToV2(cc));
  }

  /** Steps a message received from a peer (or from a local storage thread). */
  step(m: Message): Error | null {
    // Local messages arriving over the network are forged or misrouted.
    if (isLocalMsg(m.type) && !isLocalMsgTarget(m.from)) return ErrStepLocalMsg;
    if (isResponseMsg(m.type) && !isLocalMsgTarget(m.from) && !this.raft.trk.progress.has(m.from)) {
      return ErrStepPeerNotFound;
    }
    return this.raft.step(m);
  }

  /** The pending work; it must be handled and then passed back through advance(). */
  ready(): Ready {
    const rd = this.readyWithoutAccept();
    this.acceptReady(rd);
    return rd;
  }

  /** Builds a Ready without committing to handle it (read-only). */
  readyWithoutAccept(): Ready {
    const r = this.raft;
    const log = r.raftLog;
    const rd: Ready = {
      softState: null,
      hardState: null,
      // A fresh array when empty: raft keeps pushing into its own list after we return.
      readStates: r.readStates.length !== 0 ? r.readStates : [],
      entries: log.nextUnstableEnts(),
      snapshot: null,
      committedEntries: log.nextCommittedEnts(this.applyUnstableEntries()),
      messages: r.msgs,
      mustSync: false,
    };
    const softSt = r.softState();
    if (!softStateEqual(softSt, this.prevSoftSt)) rd.softState = softSt;
    const hardSt = r.hardState();
    if (!hardStateEqual(hardSt, this.prevHardSt)) rd.hardState = hardSt;
    if (log.hasNextUnstableSnapshot()) rd.snapshot = log.nextUnstableSnapshot();
    rd.mustSync = mustSync(hardSt, this.prevHardSt, rd.entries.length);

    if (this.asyncStorageWrites) {
      // Storage work travels as messages to the local append/apply threads.
      const extra: Message[] = [];
      if (needStorageAppendMsg(r, rd)) extra.push(newStorageAppendMsg(r, rd));
      if (rd.committedEntries.length > 0) extra.push(newStorageApplyMsg(r, rd.committedEntries));
      if (extra.length > 0) rd.messages = rd.messages.concat(extra);
    } else {
      // Responses that must wait for the append are sent with this Ready (the caller persists
      // first); the ones addressed to ourselves are stepped by advance().
      const after = r.msgsAfterAppend;
      let extra: Message[] | null = null;
      for (let i = 0; i < after.length; i++) {
        const m = after[i];
        if (m.to !== r.id) (extra ??= []).push(m);
      }
      // A copy, never r.msgs itself: an unaccepted Ready must not alter raft's queue.
      if (extra !== null) rd.messages = rd.messages.concat(extra);
    }
    return rd;
  }

  /** Commits to handling `rd`: nothing may change the node between readyWithoutAccept and this. */
  acceptReady(rd: Ready): void {
    const r = this.raft;
    if (rd.softState !== null) this.prevSoftSt = rd.softState;
    if (rd.hardState !== null && !isEmptyHardState(rd.hardState)) this.prevHardSt = rd.hardState;
    if (rd.readStates.length !== 0) r.readStates = [];
    if (!this.asyncStorageWrites) {
      if (this.stepsOnAdvance.length !== 0) {
        r.logger.panic('two accepted Ready structs without call to Advance');
      }
      const after = r.msgsAfterAppend;
      for (let i = 0; i < after.length; i++) {
        if (after[i].to === r.id) this.stepsOnAdvance.push(after[i]);
      }
      if (needStorageAppendRespMsg(r, rd)) this.stepsOnAdvance.push(newStorageAppendRespMsg(r, rd));
      if (rd.committedEntries.length > 0) {
        this.stepsOnAdvance.push(newStorageApplyRespMsg(r, rd.committedEntries));
      }
    }
    r.msgs = [];
    r.msgsAfterAppend = [];
    r.raftLog.acceptUnstable();
    const ents = rd.committedEntries;
    if (ents.length > 0) {
      r.raftLog.acceptApplying(ents[ents.length - 1].index, entsSize(ents), this.applyUnstableEntries());
    }
  }

  // Committed entries may be applied before they are locally durable only when the caller persists
  // a Ready before applying it, which is the synchronous mode's contract.
  private applyUnstableEntries(): boolean {
    return !this.asyncStorageWrites;
  }

  hasReady(): boolean {
    const r = this.raft;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0) return true;
    const log = r.raftLog;
    if (log.hasNextUnstableEnts() || log.hasNextCommittedEnts(this.applyUnstableEntries())) return true;
    if (!softStateEqual(r.softState(), this.prevSoftSt)) return true;
    const hardSt = r.hardState();
    if (!isEmptyHardState(hardSt) && !hardStateEqual(hardSt, this.prevHardSt)) return true;
    if (log.hasNextUnstableSnapshot()) return true;
    return r.readStates.length !== 0;
  }

  /** Signals that the last Ready was persisted, sent and applied. Not used with async writes. */
  advance(_rd?: Ready): void {
    if (this.asyncStorageWrites) {
      this.raft.logger.panic('Advance must not be called when using AsyncStorageWrites');
    }
    const steps = this.stepsOnAdvance;
    // Stepping may not accept a new Ready, so swapping the list first is safe and cheap.
    this.stepsOnAdvance = [];
    for (let i = 0; i < steps.length; i++) this.raft.step(steps[i]);
  }

  status(): Status {
    return getStatus(this.raft);
  }

  basicStatus(): BasicStatus {
    return getBasicStatus(this.raft);
  }

  /** Visits every peer's Progress (sorted by ID) without copying; do not keep or mutate them. */
  withProgress(visitor: (id: NodeId, typ: ProgressType, pr: Progress) => void): void {
    this.raft.trk.visit((id, pr) => {
      visitor(id, pr.isLearner ? ProgressType.ProgressTypeLearner : ProgressType.ProgressTypePeer, pr);
    });
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(newMessage({ type: MessageType.MsgUnreachable, from: id }));
  }

  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    const reject = status === SnapshotStatus.SnapshotFailure;
    this.raft.step(newMessage({ type: MessageType.MsgSnapStatus, from: id, reject }));
  }

  transferLeader(transferee: NodeId): void {
    this.raft.step(newMessage({ type: MessageType.MsgTransferLeader, from: transferee }));
  }

  /** Makes a follower forget its leader (stays follower in the term); see etcd-raft Node. */
  forgetLeader(): Error | null {
    return this.raft.step(newMessage({ type: MessageType.MsgForgetLeader }));
  }

  /** Requests a ReadState for `rctx`; it appears in a later Ready's readStates. */
  readIndex(rctx: Uint8Array): void {
    this.raft.step(
      newMessage({
        type: MessageType.MsgReadIndex,
        entries: [{ term: 0, index: 0, type: EntryType.EntryNormal, data: rctx }],
      }),
    );
  }

  /** Seeds an empty Storage with AddNode conf changes for `peers` (see bootstrap.ts). */
  bootstrap(peers: readonly Peer[]): Error | null {
    return bootstrap(this, peers);
  }
}

export function newRawNode(config: Config): RawNode {
  return new RawNode(config);
}

// Hot path (every proposal): a literal instead of newMessage's spread.
function propMessage(from: NodeId, entries: Entry[]): Message {
  return {
    type: MessageType.MsgProp,
    to: None,
    from,
    term: 0,
    logTerm: 0,
    index: 0,
    entries,
    commit: 0,
    vote: None,
    snapshot: null,
    reject: false,
    rejectHint: 0,
    context: EMPTY_BYTES,
    responses: [],
  };
}

// ---- storage-thread messages (async storage writes) and self acknowledgements ----------------

function needStorageAppendMsg(r: Raft, rd: Ready): boolean {
  return (
    rd.entries.length > 0 ||
    (rd.hardState !== null && !isEmptyHardState(rd.hardState)) ||
    !isEmptySnap(rd.snapshot) ||
    r.msgsAfterAppend.length > 0
  );
}

// Checks in-progress entries too, not only rd.entries: see newStorageAppendRespMsg.
function needStorageAppendRespMsg(r: Raft, rd: Ready): boolean {
  return r.raftLog.hasNextOrInProgressUnstableEnts() || !isEmptySnap(rd.snapshot);
}

function newStorageAppendMsg(r: Raft, rd: Ready): Message {
  const m = newMessage({ type: MessageType.MsgStorageAppend, to: LocalAppendThread, from: r.id, entries: rd.entries });
  const hs = rd.hardState;
  // Leave term/vote/commit zero when the HardState did not change, so the receiver sees "none".
  if (hs !== null && !isEmptyHardState(hs)) {
    m.term = hs.term;
    m.vote = hs.vote;
    m.commit = hs.commit;
  }
  if (!isEmptySnap(rd.snapshot)) m.snapshot = rd.snapshot;
  // Responses run after the write; MsgStorageAppendResp goes last so the leader's own MsgAppResp
  // is handled while the entries are still in the unstable log.
  m.responses = r.msgsAfterAppend.slice();
  if (needStorageAppendRespMsg(r, rd)) m.responses.push(newStorageAppendRespMsg(r, rd));
  return m;
}

/**
 * The acknowledgement that everything up to the current last entry is durable. It carries the
 * current term and the last entry ID (not rd.entries' last): raft ignores it if the term moved on,
 * which rules out truncating the unstable log on behalf of a stale, overwritten append (the ABA
 * case), and any later acknowledgement in the same term re-attests every earlier append.
 */
function newStorageAppendRespMsg(r: Raft, rd: Ready): Message {
  const m = newMessage({ type: MessageType.MsgStorageAppendResp, to: r.id, from: LocalAppendThread, term: r.term });
  if (r.raftLog.hasNextOrInProgressUnstableEnts()) {
    const last = r.raftLog.lastEntryID();
    m.index = last.index;
    m.logTerm = last.term;
  }
  if (!isEmptySnap(rd.snapshot)) m.snapshot = rd.snapshot as Snapshot;
  return m;
}

function newStorageApplyMsg(r: Raft, ents: Entry[]): Message {
  return newMessage({
    type: MessageType.MsgStorageApply,
    to: LocalApplyThread,
    from: r.id,
    term: 0, // committed entries are not applied under a term
    entries: ents,
    responses: [newStorageApplyRespMsg(r, ents)],
  });
}

function newStorageApplyRespMsg(r: Raft, ents: Entry[]): Message {
  return newMessage({ type: MessageType.MsgStorageApplyResp, to: r.id, from: LocalApplyThread, term: 0, entries: ents });
}
