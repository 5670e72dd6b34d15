// The Raft state machine (etcd-raft raft.go): terms, votes, elections (with PreVote and CheckQuorum),
// log replication and flow control, leadership transfer, ReadIndex, snapshots and configuration
// changes. Pure: it does no I/O and reads no clock — time is tick(), randomness is injected, output is
// the msgs / msgsAfterAppend queues that RawNode turns into Ready.
import {
  EntryType,
  MessageType,
  None,
  confChangeAsV2,
  confChangeEnterJoint,
  confChangeLeaveJoint,
  isEmptyHardState,
  isEmptySnap,
  newMessage,
  type ConfChange,
  type ConfChangeV2,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type Snapshot,
} from './raftpb/types.js';
import { decodeConfChange, decodeConfChangeV2, encodeConfChange, encodeConfChangeV2 } from './raftpb/codec.js';
import { ErrProposalDropped, ErrSnapshotTemporarilyUnavailable } from './errors.js';
import { consoleLogger, RaftPanic, type Logger } from './logger.js';
import { StateType, STATE_NAMES, type ReadState, type SoftState } from './ready.js';
import { ReadOnly, ReadOnlyOption } from './readOnly.js';
import { RaftLog, newLogWithSize } from './log.js';
import { logSliceFromMsgApp } from './logTypes.js';
import type { Storage } from './storage.js';
import {
  assertConfStatesEquivalent,
  describeConfChange,
  entsSize,
  isLocalMsgTarget,
  noLimit,
  payloadsSize,
  voteRespMsgType,
} from './util.js';
import { ProgressTracker, type TrackerConfig } from './tracker/tracker.js';
import { Progress, type ProgressMap } from './tracker/progress.js';
import { Inflights } from './tracker/inflights.js';
import { ProgressStateType } from './tracker/state.js';
import { VoteResult } from './quorum/quorum.js';
import { Changer } from './confchange/confchange.js';
import { restore as restoreConfig } from './confchange/restore.js';

export { ReadOnlyOption } from './readOnly.js';
export { LocalAppendThread, LocalApplyThread, isLocalMsgTarget, noLimit } from './util.js';

export type CampaignType = 'CampaignPreElection' | 'CampaignElection' | 'CampaignTransfer';
/** First phase of an election when PreVote is on. */
export const campaignPreElection: CampaignType = 'CampaignPreElection';
/** A normal (time-based) election, or the second phase with PreVote. */
export const campaignElection: CampaignType = 'CampaignElection';
/** An election forced by a leadership transfer (bypasses leases and PreVote). */
export const campaignTransfer: CampaignType = 'CampaignTransfer';
const campaignTransferBytes: Uint8Array = Buffer.from(campaignTransfer);

export interface Config {
  /** Identity of the local raft; must not be 0. */
  id: NodeId;
  /** Ticks without hearing from a leader before a follower campaigns; must exceed heartbeatTick. */
  electionTick: number;
  /** Ticks between leader heartbeats. */
  heartbeatTick: number;
  storage: Storage;
  /** Last applied index; only set when restarting. */
  applied?: number;
  /** Emit MsgStorageAppend/MsgStorageApply instead of the Ready/Advance contract. */
  asyncStorageWrites?: boolean;
  /** Max bytes of entries per MsgApp (Infinity = unlimited, 0 = one entry per message). */
  maxSizePerMsg?: number;
  /** Max bytes of committed entries being applied at once (0 = maxSizePerMsg). */
  maxCommittedSizePerReady?: number;
  /** Max bytes of uncommitted entry payloads on a leader (0 = unlimited). */
  maxUncommittedEntriesSize?: number;
  /** Max in-flight MsgApp per follower in StateReplicate (> 0). */
  maxInflightMsgs?: number;
  /** Max in-flight bytes per follower (0 = unlimited). */
  maxInflightBytes?: number;
  checkQuorum?: boolean;
  preVote?: boolean;
  readOnlyOption?: ReadOnlyOption;
  logger?: Logger;
  disableProposalForwarding?: boolean;
  disableConfChangeValidation?: boolean;
  stepDownOnRemoval?: boolean;
  /** Uniform [0,1) source for the randomized election timeout (default Math.random). */
  random?: () => number;
}

/**
 * Checks a Config and fills its defaults in place (as Go's Config.validate does); returns the
 * error, or null when the config is usable.
 */
export function validateConfig(c: Config): Error | null {
  if (c.id === None) return new Error('cannot use none as id');
  if (isLocalMsgTarget(c.id)) return new Error('cannot use local target as id');
  if (!(c.heartbeatTick > 0)) return new Error('heartbeat tick must be greater than 0');
  if (!(c.electionTick > c.heartbeatTick)) return new Error('election tick must be greater than heartbeat tick');
  if (c.storage == null) return new Error('storage cannot be nil');
  c.maxSizePerMsg ??= 0;
  if (!c.maxUncommittedEntriesSize) c.maxUncommittedEntriesSize = noLimit;
  // MaxCommittedSizePerReady used to be the same knob as MaxSizePerMsg.
  if (!c.maxCommittedSizePerReady) c.maxCommittedSizePerReady = c.maxSizePerMsg;
  if (!(c.maxInflightMsgs !== undefined && c.maxInflightMsgs > 0)) {
    return new Error('max inflight messages must be greater than 0');
  }
  if (!c.maxInflightBytes) c.maxInflightBytes = noLimit;
  else if (c.maxInflightBytes < c.maxSizePerMsg) return new Error('max inflight bytes must be >= max message size');
  c.logger ??= consoleLogger('info');
  c.readOnlyOption ??= ReadOnlyOption.ReadOnlySafe;
  if (c.readOnlyOption === ReadOnlyOption.ReadOnlyLeaseBased && !c.checkQuorum) {
    return new Error('CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased');
  }
  return null;
}

type StepFunc = (r: Raft, m: Message) => Error | null;

const hex = (id: NodeId): string => id.toString(16);
const msgName = (t: MessageType): string => MessageType[t];

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A MsgProp carrying one conf change entry; null is the empty ConfChangeV2 (leave joint). */
export function confChangeToMsg(cc: ConfChange | ConfChangeV2 | null): Message {
  let type: EntryType;
  let data: Uint8Array;
  if (cc === null) {
    type = EntryType.EntryConfChangeV2;
    data = new Uint8Array(0);
  } else if ('changes' in cc) {
    type = EntryType.EntryConfChangeV2;
    data = encodeConfChangeV2(cc);
  } else {
    type = EntryType.EntryConfChange;
    data = encodeConfChange(cc);
  }
  return newMessage({ type: MessageType.MsgProp, entries: [{ term: 0, index: 0, type, data }] });
}

export class Raft {
  id: NodeId;
  term = 0;
  vote: NodeId = None;
  readStates: ReadState[] = [];
  raftLog: RaftLog;
  maxMsgSize: number;
  maxUncommittedSize: number;
  trk: ProgressTracker;
  state: StateType = StateType.StateFollower;
  /** Whether the local node is a learner. */
  isLearner = false;
  /** Messages to send right away; never addressed to this node. */
  msgs: Message[] = [];
  /**
   * Messages (MsgAppResp, MsgVoteResp, MsgPreVoteResp, possibly to self) that may only go out once
   * the unstable state they vouch for is durable.
   */
  msgsAfterAppend: Message[] = [];
  lead: NodeId = None;
  /** Target of an in-progress leadership transfer, or None. */
  leadTransferee: NodeId = None;
  /** >= the index of the latest pending conf change; new ones wait until applied passes it. */
  pendingConfIndex = 0;
  disableConfChangeValidation: boolean;
  /** Estimate of the leader's uncommitted log tail (payload bytes). */
  uncommittedSize = 0;
  readOnly: ReadOnly;
  /** Ticks since the last election timeout (leader/candidate) or leader contact (follower). */
  electionElapsed = 0;
  /** Ticks since the last heartbeat timeout; leader only. */
  heartbeatElapsed = 0;
  checkQuorum: boolean;
  preVote: boolean;
  heartbeatTimeout: number;
  electionTimeout: number;
  /** Drawn from [electionTimeout, 2*electionTimeout-1] on every term-state reset. */
  randomizedElectionTimeout = 0;
  disableProposalForwarding: boolean;
  stepDownOnRemoval: boolean;
  /** The tick function of the current role. */
  tickFn: () => void;
  /** The step function of the current role. */
  stepFn: StepFunc;
  logger: Logger;
  /** MsgReadIndex held back until this leader commits an entry in its term. */
  pendingReadIndexMessages: Message[] = [];
  random: () => number;

  constructor(c: Config) {
    const err = validateConfig(c);
    if (err !== null) throw new RaftPanic(err.message);
    const logger = c.logger!;
    const raftlog = newLogWithSize(c.storage, logger, c.maxCommittedSizePerReady!);
    const { hardState: hs, confState: cs } = c.storage.initialState();

    this.id = c.id;
    this.raftLog = raftlog;
    this.maxMsgSize = c.maxSizePerMsg!;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize!;
    this.trk = new ProgressTracker(c.maxInflightMsgs!, c.maxInflightBytes!);
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.logger = logger;
    this.checkQuorum = c.checkQuorum ?? false;
    this.preVote = c.preVote ?? false;
    this.readOnly = new ReadOnly(c.readOnlyOption!);
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.disableConfChangeValidation = c.disableConfChangeValidation ?? false;
    this.stepDownOnRemoval = c.stepDownOnRemoval ?? false;
    this.random = c.random ?? Math.random;
    this.tickFn = this.tickElection;
    this.stepFn = stepFollower;

    const lastID = this.raftLog.lastEntryID();
    const res = restoreConfig(new Changer(this.trk, lastID.index), cs);
    if (res instanceof Error) throw new RaftPanic(res.message);
    assertConfStatesEquivalent(this.logger, cs, this.switchToConfig(res[0], res[1]));

    if (!isEmptyHardState(hs)) this.loadState(hs);
    if (c.applied !== undefined && c.applied > 0) raftlog.appliedTo(c.applied, 0);
    this.becomeFollower(this.term, None);

    const nodesStrs = this.trk.voterNodes().map(hex);
    this.logger.info(
      `newRaft ${hex(this.id)} [peers: [${nodesStrs.join(',')}], term: ${this.term}, commit: ${this.raftLog.committed}, applied: ${this.raftLog.applied}, lastindex: ${lastID.index}, lastterm: ${lastID.term}]`,
    );
  }

  hasLeader(): boolean {
    return this.lead !== None;
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  /** Advances the logical clock by one tick (election or heartbeat timer, by role). */
  tick(): void {
    this.tickFn();
  }

  /**
   * Queues `m` for sending. Vote and append responses go to msgsAfterAppend: they may only leave
   * once the state they vouch for (term, vote, entries) is durable.
   */
  send(m: Message): void {
    if (m.from === None) m.from = this.id;
    const t = m.type;
    if (
      t === MessageType.MsgVote ||
      t === MessageType.MsgVoteResp ||
      t === MessageType.MsgPreVote ||
      t === MessageType.MsgPreVoteResp
    ) {
      // Campaign messages carry the campaign term (or the request's term for responses).
      if (m.term === 0) this.logger.panic(`term should be set when sending ${msgName(t)}`);
    } else {
      if (m.term !== 0) this.logger.panic(`term should not be set when sending ${msgName(t)} (was ${m.term})`);
      // Proposals and read requests are forwarded to the leader like local messages: no term.
      if (t !== MessageType.MsgProp && t !== MessageType.MsgReadIndex) m.term = this.term;
    }
    if (t === MessageType.MsgAppResp || t === MessageType.MsgVoteResp || t === MessageType.MsgPreVoteResp) {
      this.msgsAfterAppend.push(m);
    } else {
      if (m.to === this.id) this.logger.panic(`message should not be self-addressed when sending ${msgName(t)}`);
      this.msgs.push(m);
    }
  }

  /** Sends an append (with entries if any, else just the commit index) to `to`. */
  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends an append to `to` if flow control allows. With sendIfEmpty false, an append without
   * entries is not sent. Returns whether a message (MsgApp or MsgSnap) went out.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to)!;
    if (pr.isPaused()) return false;

    const prevIndex = pr.next - 1;
    const prevTerm = this.tryTerm(prevIndex);
    // The log was truncated at or above pr.next: only a snapshot can catch the follower up.
    if (prevTerm < 0) return this.maybeSendSnapshot(to, pr);

    let ents: Entry[] = [];
    let failed = false;
    // A throttled StateReplicate sends empty appends only, so that a full window whose messages
    // were all lost still gets acked or rejected (and freed).
    if (pr.state !== ProgressStateType.StateReplicate || !pr.inflights.full()) {
      const got = this.tryEntries(pr.next, this.maxMsgSize);
      if (got === null) failed = true;
      else ents = got;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    if (failed) return this.maybeSendSnapshot(to, pr);

    const commit = this.raftLog.committed;
    this.send(
      newMessage({ to, type: MessageType.MsgApp, index: prevIndex, logTerm: prevTerm, entries: ents, commit }),
    );
    pr.sentEntries(ents.length, payloadsSize(ents));
    pr.sentCommit(commit);
    return true;
  }

  /** Sends the storage snapshot to `to`; returns whether the MsgSnap was emitted. */
  maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) {
      this.logger.debug(`ignore sending snapshot to ${hex(to)} since it is not recently active`);
      return false;
    }
    const [snapshot, err] = this.raftLog.snapshot();
    if (err !== null) {
      if (err === ErrSnapshotTemporarilyUnavailable) {
        this.logger.debug(
          `${hex(this.id)} failed to send snapshot to ${hex(to)} because snapshot is temporarily unavailable`,
        );
        return false;
      }
      throw err;
    }
    if (isEmptySnap(snapshot)) throw new RaftPanic('need non-empty snapshot');
    const sindex = snapshot.metadata.index;
    const sterm = snapshot.metadata.term;
    this.logger.debug(
      `${hex(this.id)} [firstindex: ${this.raftLog.firstIndex()}, commit: ${this.raftLog.committed}] sent snapshot[index: ${sindex}, term: ${sterm}] to ${hex(to)} [${pr.toString()}]`,
    );
    pr.becomeSnapshot(sindex);
    this.logger.debug(`${hex(this.id)} paused sending replication messages to ${hex(to)} [${pr.toString()}]`);
    this.send(newMessage({ to, type: MessageType.MsgSnap, snapshot }));
    return true;
  }

  /** Sends a heartbeat carrying min(match, committed): never commit past what the peer matches. */
  sendHeartbeat(to: NodeId, ctx: Uint8Array | null): void {
    const pr = this.trk.progress.get(to)!;
    const commit = Math.min(pr.match, this.raftLog.committed);
    const m = newMessage({ to, type: MessageType.MsgHeartbeat, commit });
    if (ctx !== null) m.context = ctx;
    this.send(m);
    pr.sentCommit(commit);
  }

  /** Sends appends to every peer, in ascending ID order. */
  bcastAppend(): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendAppend(id);
    });
  }

  /** Sends heartbeats to every peer, carrying the newest pending ReadIndex context if any. */
  bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  bcastHeartbeatWithCtx(ctx: Uint8Array | null): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    });
  }

  /** Records that the application applied up to `index`; may start leaving a joint config. */
  appliedTo(index: number, size: number): void {
    const oldApplied = this.raftLog.applied;
    const newApplied = Math.max(index, oldApplied);
    this.raftLog.appliedTo(newApplied, size);

    if (this.trk.config.autoLeave && newApplied >= this.pendingConfIndex && this.state === StateType.StateLeader) {
      // An empty ConfChangeV2 has zero payload, so appendEntry never refuses it for size; it can
      // be dropped during a leadership transfer, and then we retry on the next applied entry.
      const m = confChangeToMsg(null);
      const err = this.step(m);
      if (err !== null) {
        this.logger.debug(
          `not initiating automatic transition out of joint configuration ${this.trk.config.toString()}: ${err.message}`,
        );
      } else {
        this.logger.info(`initiating automatic transition out of joint configuration ${this.trk.config.toString()}`);
      }
    }
  }

  appliedSnap(snap: Snapshot): void {
    const index = snap.metadata.index;
    this.raftLog.stableSnapTo(index);
    this.appliedTo(index, 0);
  }

  /** Advances the commit index to the quorum's; true if it moved. Leader only. */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit({ term: this.term, index: this.trk.committed() });
  }

  reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = None;
    }
    this.lead = None;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const lastIndex = this.raftLog.lastIndex();
    const maxInflight = this.trk.maxInflight;
    const maxInflightBytes = this.trk.maxInflightBytes;
    const progress = this.trk.progress;
    this.trk.visit((id, pr) => {
      progress.set(
        id,
        new Progress({
          match: id === this.id ? lastIndex : 0,
          next: lastIndex + 1,
          inflights: new Inflights(maxInflight, maxInflightBytes),
          isLearner: pr.isLearner,
        }),
      );
    });
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
  }

  /** Appends entries at the leader's term; false if the uncommitted-size quota refuses them. */
  appendEntry(...es: Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    for (let i = 0; i < es.length; i++) {
      es[i].term = this.term;
      es[i].index = li + 1 + i;
    }
    if (!this.increaseUncommittedSize(es)) {
      this.logger.warning(
        `${hex(this.id)} appending new entries to log would exceed uncommitted entry size limit; dropping proposal`,
      );
      return false;
    }
    li = this.raftLog.append(es);
    // The leader acks its own entries once they are durable, via a self-addressed MsgAppResp.
    this.send(newMessage({ to: this.id, type: MessageType.MsgAppResp, index: li }));
    return true;
  }

  /** Followers and candidates: campaign once the randomized election timeout passes. */
  tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      const err = this.step(newMessage({ from: this.id, type: MessageType.MsgHup }));
      if (err !== null) this.logger.debug(`error occurred during election: ${err.message}`);
    }
  }

  /** Leaders: heartbeat every heartbeatTimeout; check quorum / abort transfers every electionTimeout. */
  tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;

    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        const err = this.step(newMessage({ from: this.id, type: MessageType.MsgCheckQuorum }));
        if (err !== null) this.logger.debug(`error occurred during checking sending heartbeat: ${err.message}`);
      }
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateType.StateLeader && this.leadTransferee !== None) this.abortLeaderTransfer();
    }

    if (this.state !== StateType.StateLeader) return;

    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      const err = this.step(newMessage({ from: this.id, type: MessageType.MsgBeat }));
      if (err !== null) this.logger.debug(`error occurred during checking sending heartbeat: ${err.message}`);
    }
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.tickFn = this.tickElection;
    this.lead = lead;
    this.state = StateType.StateFollower;
    this.logger.info(`${hex(this.id)} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    if (this.state === StateType.StateLeader) throw new RaftPanic('invalid transition [leader -> candidate]');
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = this.tickElection;
    this.vote = this.id;
    this.state = StateType.StateCandidate;
    this.logger.info(`${hex(this.id)} became candidate at term ${this.term}`);
  }

  becomePreCandidate(): void {
    if (this.state === StateType.StateLeader) throw new RaftPanic('invalid transition [leader -> pre-candidate]');
    // Only the step function and state change: no new term, no vote, no timeout re-draw.
    this.stepFn = stepCandidate;
    this.trk.resetVotes();
    this.tickFn = this.tickElection;
    this.lead = None;
    this.state = StateType.StatePreCandidate;
    this.logger.info(`${hex(this.id)} became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    if (this.state === StateType.StateFollower) throw new RaftPanic('invalid transition [follower -> leader]');
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tickFn = this.tickHeartbeat;
    this.lead = this.id;
    this.state = StateType.StateLeader;
    // The leader trivially replicates to itself and is always recently active.
    const pr = this.trk.progress.get(this.id)!;
    pr.becomeReplicate();
    pr.recentActive = true;
    // Conservatively assume a conf change may be pending anywhere in the uncommitted tail.
    this.pendingConfIndex = this.raftLog.lastIndex();

    if (!this.appendEntry({ term: 0, index: 0, type: EntryType.EntryNormal, data: new Uint8Array(0) })) {
      this.logger.panic('empty entry was dropped');
    }
    // The empty entry has payload size 0, so uncommittedSize is still 0.
    this.logger.info(`${hex(this.id)} became leader at term ${this.term}`);
  }

  hup(t: CampaignType): void {
    if (this.state === StateType.StateLeader) {
      this.logger.debug(`${hex(this.id)} ignoring MsgHup because already leader`);
      return;
    }
    if (!this.promotable()) {
      this.logger.warning(`${hex(this.id)} is unpromotable and can not campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warning(
        `${hex(this.id)} cannot campaign at term ${this.term} since there are still pending configuration changes to apply`,
      );
      return;
    }
    this.logger.info(`${hex(this.id)} is starting a new election at term ${this.term}`);
    this.campaign(t);
  }

  /** Whether committed-but-unapplied entries contain a conf change (scanned page by page). */
  hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    const lo = this.raftLog.applied + 1;
    const hi = this.raftLog.committed + 1;
    let found = false;
    const err = this.raftLog.scan(lo, hi, this.raftLog.maxApplyingEntsSize, (ents: Entry[]) => {
      for (const e of ents) {
        if (e.type === EntryType.EntryConfChange || e.type === EntryType.EntryConfChangeV2) {
          found = true;
          return errBreak;
        }
      }
      return null;
    });
    if (err !== null && err !== errBreak) {
      this.logger.panic(`error scanning unapplied entries [${lo}, ${hi}): ${err.message}`);
    }
    return found;
  }

  /** Becomes (pre-)candidate and requests votes from every voter, in ascending ID order. */
  campaign(t: CampaignType): void {
    if (!this.promotable()) {
      this.logger.warning(`${hex(this.id)} is unpromotable; campaign() should have been called`);
    }
    let term: number;
    let voteMsg: MessageType;
    if (t === campaignPreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      // PreVotes ask for the next term without incrementing ours.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      term = this.term;
    }
    const ids = [...this.trk.config.voters.ids()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const id of ids) {
      if (id === this.id) {
        // The self-vote counts once it is durable, via a self-addressed response.
        this.send(newMessage({ to: id, term, type: voteRespMsgType(voteMsg) }));
        continue;
      }
      const last = this.raftLog.lastEntryID();
      this.logger.info(
        `${hex(this.id)} [logterm: ${last.term}, index: ${last.index}] sent ${msgName(voteMsg)} request to ${hex(id)} at term ${this.term}`,
      );
      const m = newMessage({ to: id, term, type: voteMsg, index: last.index, logTerm: last.term });
      if (t === campaignTransfer) m.context = campaignTransferBytes;
      this.send(m);
    }
  }

  poll(id: NodeId, t: MessageType, v: boolean): { granted: number; rejected: number; result: VoteResult } {
    if (v) this.logger.info(`${hex(this.id)} received ${msgName(t)} from ${hex(id)} at term ${this.term}`);
    else this.logger.info(`${hex(this.id)} received ${msgName(t)} rejection from ${hex(id)} at term ${this.term}`);
    this.trk.recordVote(id, v);
    return this.trk.tallyVotes();
  }

  /** Feeds a message into the state machine. Returns ErrProposalDropped etc., or null. */
  step(m: Message): Error | null {
    // Handle the message term, which may make us step down to follower.
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = bytesEqual(m.context, campaignTransferBytes);
        const inLease = this.checkQuorum && this.lead !== None && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // Within the lease of a live leader we neither bump our term nor grant the vote.
          const last = this.raftLog.lastEntryID();
          this.logger.info(
            `${hex(this.id)} [logterm: ${last.term}, index: ${last.index}, vote: ${hex(this.vote)}] ignored ${msgName(m.type)} from ${hex(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}: lease is not expired (remaining ticks: ${this.electionTimeout - this.electionElapsed})`,
          );
          return null;
        }
      }
      if (m.type === MessageType.MsgPreVote) {
        // Never change our term in response to a PreVote.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // A granted pre-vote carries the term we will campaign for; we bump it on winning.
      } else {
        this.logger.info(
          `${hex(this.id)} [term: ${this.term}] received a ${msgName(m.type)} message with higher term from ${hex(m.from)} [term: ${m.term}]`,
        );
        if (m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap) {
          this.becomeFollower(m.term, m.from);
        } else {
          this.becomeFollower(m.term, None);
        }
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)) {
        // A leader at a lower term: answer so that it learns our term and steps down. With
        // CheckQuorum/PreVote our term may have advanced during a partition while our votes were
        // ignored; without this the stale leader and we would never reconcile.
        this.send(newMessage({ to: m.from, type: MessageType.MsgAppResp }));
      } else if (m.type === MessageType.MsgPreVote) {
        // Reject explicitly, or a cluster migrating to PreVote could deadlock.
        const last = this.raftLog.lastEntryID();
        this.logger.info(
          `${hex(this.id)} [logterm: ${last.term}, index: ${last.index}, vote: ${hex(this.vote)}] rejected ${msgName(m.type)} from ${hex(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
        );
        this.send(newMessage({ to: m.from, term: this.term, type: MessageType.MsgPreVoteResp, reject: true }));
      } else if (m.type === MessageType.MsgStorageAppendResp) {
        if (m.index !== 0) {
          // These entries may have been overwritten in the unstable log in a later term.
          this.logger.info(
            `${hex(this.id)} [term: ${this.term}] ignored entry appends from a ${msgName(m.type)} message with lower term [term: ${m.term}]`,
          );
        }
        // A snapshot is committed state: its application stays valid across terms.
        if (m.snapshot !== null) this.appliedSnap(m.snapshot);
      } else {
        this.logger.info(
          `${hex(this.id)} [term: ${this.term}] ignored a ${msgName(m.type)} message with lower term from ${hex(m.from)} [term: ${m.term}]`,
        );
      }
      return null;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        this.hup(this.preVote ? campaignPreElection : campaignElection);
        break;

      case MessageType.MsgStorageAppendResp:
        if (m.index !== 0) this.raftLog.stableTo({ term: m.logTerm, index: m.index });
        if (m.snapshot !== null) this.appliedSnap(m.snapshot);
        break;

      case MessageType.MsgStorageApplyResp:
        if (m.entries.length > 0) {
          const index = m.entries[m.entries.length - 1].index;
          this.appliedTo(index, entsSize(m.entries));
          this.reduceUncommittedSize(payloadsSize(m.entries));
        }
        break;

      case MessageType.MsgVote:
      case MessageType.MsgPreVote: {
        // We can vote if this repeats a vote we cast, if we have not voted and know no leader in
        // this term, or if this is a PreVote for a future term...
        const canVote =
          this.vote === m.from ||
          (this.vote === None && this.lead === None) ||
          (m.type === MessageType.MsgPreVote && m.term > this.term);
        // ...and the candidate's log is at least as up to date as ours.
        const lastID = this.raftLog.lastEntryID();
        const candLastID = { term: m.logTerm, index: m.index };
        if (canVote && this.raftLog.isUpToDate(candLastID)) {
          // Learners must vote too: one may have been promoted without knowing it yet.
          this.logger.info(
            `${hex(this.id)} [logterm: ${lastID.term}, index: ${lastID.index}, vote: ${hex(this.vote)}] cast ${msgName(m.type)} for ${hex(m.from)} [logterm: ${candLastID.term}, index: ${candLastID.index}] at term ${this.term}`,
          );
          // Reply with the message's term (not ours): a pre-candidate ignores stale-term replies.
          this.send(newMessage({ to: m.from, term: m.term, type: voteRespMsgType(m.type) }));
          if (m.type === MessageType.MsgVote) {
            // Only real votes are recorded.
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.logger.info(
            `${hex(this.id)} [logterm: ${lastID.term}, index: ${lastID.index}, vote: ${hex(this.vote)}] rejected ${msgName(m.type)} from ${hex(m.from)} [logterm: ${candLastID.term}, index: ${candLastID.index}] at term ${this.term}`,
          );
          this.send(newMessage({ to: m.from, term: this.term, type: voteRespMsgType(m.type), reject: true }));
        }
        break;
      }

      default: {
        const err = this.stepFn(this, m);
        if (err !== null) return err;
      }
    }
    return null;
  }

  /** Answers a rejected MsgApp with a hint, or acks the appended (or already committed) prefix. */
  handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send(newMessage({ to: m.from, type: MessageType.MsgAppResp, index: this.raftLog.committed }));
      return;
    }
    const [mlastIndex, ok] = this.raftLog.maybeAppend(logSliceFromMsgApp(m), m.commit);
    if (ok) {
      this.send(newMessage({ to: m.from, type: MessageType.MsgAppResp, index: mlastIndex }));
      return;
    }
    const t = this.tryTerm(m.index);
    this.logger.debug(
      `${hex(this.id)} [logterm: ${t < 0 ? 0 : t}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${hex(m.from)}`,
    );
    // Hint the leader at the largest (index, term) with term <= m.logTerm and index <= m.index,
    // skipping our uncommitted tail of higher terms (see findConflictByTerm).
    const hintIndex0 = Math.min(m.index, this.raftLog.lastIndex());
    const [hintIndex, hintTerm] = this.raftLog.findConflictByTerm(hintIndex0, m.logTerm);
    this.send(
      newMessage({
        to: m.from,
        type: MessageType.MsgAppResp,
        index: m.index,
        reject: true,
        rejectHint: hintIndex,
        logTerm: hintTerm,
      }),
    );
  }

  handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send(newMessage({ to: m.from, type: MessageType.MsgHeartbeatResp, context: m.context }));
  }

  handleSnapshot(m: Message): void {
    // Treat a missing snapshot as an empty one, out of caution.
    const s: Snapshot = m.snapshot ?? {
      data: new Uint8Array(0),
      metadata: {
        index: 0,
        term: 0,
        confState: { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
      },
    };
    const sindex = s.metadata.index;
    const sterm = s.metadata.term;
    if (this.restore(s)) {
      this.logger.info(
        `${hex(this.id)} [commit: ${this.raftLog.committed}] restored snapshot [index: ${sindex}, term: ${sterm}]`,
      );
      this.send(newMessage({ to: m.from, type: MessageType.MsgAppResp, index: this.raftLog.lastIndex() }));
    } else {
      this.logger.info(
        `${hex(this.id)} [commit: ${this.raftLog.committed}] ignored snapshot [index: ${sindex}, term: ${sterm}]`,
      );
      this.send(newMessage({ to: m.from, type: MessageType.MsgAppResp, index: this.raftLog.committed }));
    }
  }

  /**
   * Restores the log and configuration from a snapshot. False if the snapshot was ignored (stale,
   * not a follower, not a member, or it only fast-forwarded the commit index).
   */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.state !== StateType.StateFollower) {
      // Defense in depth: a leader must never apply a snapshot; move to a new term instead.
      this.logger.warning(`${hex(this.id)} attempted to restore snapshot as leader; should never happen`);
      this.becomeFollower(this.term + 1, None);
      return false;
    }
    // Defense in depth: much code assumes this node is in its own tracker.
    const cs = s.metadata.confState;
    const found = cs.voters.includes(this.id) || cs.learners.includes(this.id) || cs.votersOutgoing.includes(this.id);
    if (!found) {
      this.logger.warning(
        `${hex(this.id)} attempted to restore snapshot but it is not in the ConfState ${goConfState(cs)}; should never happen`,
      );
      return false;
    }

    const id = { term: s.metadata.term, index: s.metadata.index };
    if (this.raftLog.matchTerm(id)) {
      const last = this.raftLog.lastEntryID();
      this.logger.info(
        `${hex(this.id)} [commit: ${this.raftLog.committed}, lastindex: ${last.index}, lastterm: ${last.term}] fast-forwarded commit to snapshot [index: ${id.index}, term: ${id.term}]`,
      );
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }

    this.raftLog.restore(s);

    // Rebuild the configuration from scratch with the snapshot's peers.
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    const res = restoreConfig(new Changer(this.trk, this.raftLog.lastIndex()), cs);
    if (res instanceof Error) {
      throw new RaftPanic(`unable to restore config ${goConfState(cs)}: ${res.message}`);
    }
    assertConfStatesEquivalent(this.logger, cs, this.switchToConfig(res[0], res[1]));

    const last = this.raftLog.lastEntryID();
    this.logger.info(
      `${hex(this.id)} [commit: ${this.raftLog.committed}, lastindex: ${last.index}, lastterm: ${last.term}] restored snapshot [index: ${id.index}, term: ${id.term}]`,
    );
    return true;
  }

  /** Whether this node may become leader: a voter with no snapshot pending. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  applyConfChange(cc: ConfChangeV2): ConfState {
    const changer = new Changer(this.trk, this.raftLog.lastIndex());
    let res: [TrackerConfig, ProgressMap] | Error;
    if (confChangeLeaveJoint(cc)) {
      res = changer.leaveJoint();
    } else {
      const { autoLeave, ok } = confChangeEnterJoint(cc);
      res = ok ? changer.enterJoint(autoLeave, cc.changes) : changer.simple(cc.changes);
    }
    if (res instanceof Error) throw new RaftPanic(res.message);
    return this.switchToConfig(res[0], res[1]);
  }

  /**
   * Installs a new configuration and reacts to it: learner status, stepping down when removed
   * (if configured), committing under the new quorum, probing new peers, aborting a transfer to a
   * removed peer.
   */
  switchToConfig(cfg: TrackerConfig, progress: ProgressMap): ConfState {
    this.trk.config = cfg;
    this.trk.progress = progress;

    this.logger.info(`${hex(this.id)} switched to configuration ${this.trk.config.toString()}`);
    const cs = this.trk.confState();
    const pr = this.trk.progress.get(this.id);

    // Reset to false when the node was removed.
    this.isLearner = pr !== undefined && pr.isLearner;

    if ((pr === undefined || this.isLearner) && this.state === StateType.StateLeader) {
      // Removed or demoted leader.
      if (this.stepDownOnRemoval) this.becomeFollower(this.term, None);
      return cs;
    }

    // The rest only matters for a leader with other nodes.
    if (this.state !== StateType.StateLeader || cs.voters.length === 0) return cs;

    if (this.maybeCommit()) {
      // The new quorum commits more entries: tell everyone in the new config.
      this.bcastAppend();
    } else {
      // Probe newly added peers now rather than at the next heartbeat or proposal.
      this.trk.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== None && !this.trk.config.voters.ids().has(this.leadTransferee)) {
      this.abortLeaderTransfer();
    }
    return cs;
  }

  loadState(state: HardState): void {
    if (state.commit < this.raftLog.committed || state.commit > this.raftLog.lastIndex()) {
      this.logger.panic(
        `${hex(this.id)} state.commit ${state.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
      );
    }
    this.raftLog.committed = state.commit;
    this.term = state.term;
    this.vote = state.vote;
  }

  /** electionElapsed reached the randomized timeout in [electionTimeout, 2*electionTimeout-1]. */
  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random() * this.electionTimeout);
  }

  sendTimeoutNow(to: NodeId): void {
    this.send(newMessage({ to, type: MessageType.MsgTimeoutNow }));
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = None;
  }

  /** Whether the entry at the commit index is from this node's current term. */
  committedEntryInCurrentTerm(): boolean {
    // r.term is never 0 on a leader, so an unknown (0) term never matches.
    const t = this.tryTerm(this.raftLog.committed);
    return (t < 0 ? 0 : t) === this.term;
  }

  /**
   * The MsgReadIndexResp for `req`; a request from this node itself becomes a ReadState instead and
   * the returned message has to === None.
   */
  responseToReadIndexReq(req: Message, readIndex: number): Message {
    if (req.from === None || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: req.entries[0].data });
      return newMessage({});
    }
    return newMessage({ type: MessageType.MsgReadIndexResp, to: req.from, index: readIndex, entries: req.entries });
  }

  /**
   * Accounts proposed entries against the uncommitted-size quota; false if they would exceed it.
   * An empty uncommitted tail accepts any proposal, and empty payloads are always accepted (the new
   * leader's entry, leaving a joint config).
   */
  increaseUncommittedSize(ents: Entry[]): boolean {
    const s = payloadsSize(ents);
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false;
    this.uncommittedSize += s;
    return true;
  }

  /** Releases quota for committed entries; saturates at 0 since the size is an estimate. */
  reduceUncommittedSize(s: number): void {
    if (s > this.uncommittedSize) this.uncommittedSize = 0;
    else this.uncommittedSize -= s;
  }

  // --- Helpers for tests and for stepping self-addressed messages synchronously. ---

  /** Takes the outgoing messages after delivering every durable-after-append message. */
  readMessages(): Message[] {
    this.advanceMessagesAfterAppend();
    const msgs = this.msgs;
    this.msgs = [];
    return msgs;
  }

  /** Treats all unstable state as durable: steps self-addressed responses, sends the others. */
  advanceMessagesAfterAppend(): void {
    for (;;) {
      const msgs = this.takeMessagesAfterAppend();
      if (msgs.length === 0) break;
      this.stepOrSend(msgs);
    }
  }

  takeMessagesAfterAppend(): Message[] {
    const msgs = this.msgsAfterAppend;
    this.msgsAfterAppend = [];
    return msgs;
  }

  stepOrSend(msgs: Message[]): Error | null {
    for (const m of msgs) {
      if (m.to === this.id) {
        const err = this.step(m);
        if (err !== null) return err;
      } else {
        this.msgs.push(m);
      }
    }
    return null;
  }

  // --- Log access shortcuts (no tuple allocation on the replication path). ---

  /** The term at index i, or a negative number if it is compacted or not yet available. */
  tryTerm(i: number): number {
    return this.raftLog.termOrNeg(i);
  }

  /** Entries from i on (size-limited), or null if they are compacted/unavailable. */
  tryEntries(i: number, maxSize: number): Entry[] | null {
    const [ents, err] = this.raftLog.entries(i, maxSize);
    return err === null ? ents : null;
  }
}

/** Sentinel breaking the scan in hasUnappliedConfChanges. */
const errBreak = new Error('break');

/** Go's %v of a ConfState (used only in should-never-happen log lines). */
function goConfState(cs: ConfState): string {
  const l = (x: NodeId[]) => `[${x.join(' ')}]`;
  return `{Voters:${l(cs.voters)} Learners:${l(cs.learners)} VotersOutgoing:${l(cs.votersOutgoing)} LearnersNext:${l(cs.learnersNext)} AutoLeave:${cs.autoLeave}}`;
}

export function newRaft(c: Config): Raft {
  return new Raft(c);
}

export function stepLeader(r: Raft, m: Message): Error | null {
  // Messages that need no progress for m.from.
  switch (m.type) {
    case MessageType.MsgBeat:
      r.bcastHeartbeat();
      return null;
    case MessageType.MsgCheckQuorum:
      if (!r.trk.quorumActive()) {
        r.logger.warning(`${hex(r.id)} stepped down to follower since quorum is not active`);
        r.becomeFollower(r.term, None);
      }
      // Mark everyone but ourselves inactive for the next round.
      r.trk.visit((id, pr) => {
        if (id !== r.id) pr.recentActive = false;
      });
      return null;
    case MessageType.MsgProp: {
      if (m.entries.length === 0) r.logger.panic(`${hex(r.id)} stepped empty MsgProp`);
      // A leader removed from the configuration drops new proposals.
      if (!r.trk.progress.has(r.id)) return ErrProposalDropped;
      if (r.leadTransferee !== None) {
        r.logger.debug(
          `${hex(r.id)} [term ${r.term}] transfer leadership to ${hex(r.leadTransferee)} is in progress; dropping proposal`,
        );
        return ErrProposalDropped;
      }
      for (let i = 0; i < m.entries.length; i++) {
        const e = m.entries[i];
        let cc: ConfChangeV2 | null = null;
        if (e.type === EntryType.EntryConfChange) cc = confChangeAsV2(decodeConfChange(e.data));
        else if (e.type === EntryType.EntryConfChangeV2) cc = decodeConfChangeV2(e.data);
        if (cc === null) continue;
        const alreadyPending = r.pendingConfIndex > r.raftLog.applied;
        const alreadyJoint = r.trk.config.voters.outgoing.size > 0;
        const wantsLeaveJoint = cc.changes.length === 0;
        let failedCheck = '';
        if (alreadyPending) {
          failedCheck = `possible unapplied conf change at index ${r.pendingConfIndex} (applied to ${r.raftLog.applied})`;
        } else if (alreadyJoint && !wantsLeaveJoint) {
          failedCheck = 'must transition out of joint config first';
        } else if (!alreadyJoint && wantsLeaveJoint) {
          failedCheck = 'not in joint state; refusing empty conf change';
        }
        if (failedCheck !== '' && !r.disableConfChangeValidation) {
          r.logger.info(
            `${hex(r.id)} ignoring conf change ${describeConfChange(cc)} at config ${r.trk.config.toString()}: ${failedCheck}`,
          );
          m.entries[i] = { term: 0, index: 0, type: EntryType.EntryNormal, data: new Uint8Array(0) };
        } else {
          r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
        }
      }
      if (!r.appendEntry(...m.entries)) return ErrProposalDropped;
      r.bcastAppend();
      return null;
    }
    case MessageType.MsgReadIndex:
      // A single voter (the leader) answers at once.
      if (r.trk.isSingleton()) {
        const resp = r.responseToReadIndexReq(m, r.raftLog.committed);
        if (resp.to !== None) r.send(resp);
        return null;
      }
      // Until it commits an entry in its term, a new leader does not know the true commit index.
      if (!r.committedEntryInCurrentTerm()) {
        r.pendingReadIndexMessages.push(m);
        return null;
      }
      sendMsgReadIndexResponse(r, m);
      return null;
    case MessageType.MsgForgetLeader:
      return null; // noop on leader
  }

  // Everything else needs the sender's progress.
  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) {
    r.logger.debug(`${hex(r.id)} no progress available for ${hex(m.from)}`);
    return null;
  }
  switch (m.type) {
    case MessageType.MsgAppResp:
      // Also reached from advance, where the leader acks its own appended entries.
      pr.recentActive = true;
      if (m.reject) {
        // rejectHint is the follower's guess of the last matching index and logTerm its term
        // there (0 from old versions or empty logs).
        r.logger.debug(
          `${hex(r.id)} received MsgAppResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${hex(m.from)} for index ${m.index}`,
        );
        let nextProbeIdx = m.rejectHint;
        if (m.logTerm > 0) {
          // Skip every index where our term exceeds the follower's term at the hint: a probe
          // there must fail too. This probes at most once per term in our log.
          nextProbeIdx = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
        }
        if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
          r.logger.debug(`${hex(r.id)} decreased progress of ${hex(m.from)} to [${pr.toString()}]`);
          if (pr.state === ProgressStateType.StateReplicate) pr.becomeProbe();
          r.sendAppend(m.from);
        }
      } else {
        // Update on a higher match, or when an ack at the current match can move a probing peer
        // back to StateReplicate (heartbeat_resp_recovers_from_probing.txt).
        if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === ProgressStateType.StateProbe)) {
          if (pr.state === ProgressStateType.StateProbe) {
            pr.becomeReplicate();
          } else if (pr.state === ProgressStateType.StateSnapshot && pr.match + 1 >= r.raftLog.firstIndex()) {
            // Whatever index the snapshot really landed at, the log can now catch the follower up.
            r.logger.debug(
              `${hex(r.id)} recovered from needing snapshot, resumed sending replication messages to ${hex(m.from)} [${pr.toString()}]`,
            );
            // Go back to replicating via probing, which accounts for the snapshot.
            pr.becomeProbe();
            pr.becomeReplicate();
          } else if (pr.state === ProgressStateType.StateReplicate) {
            pr.inflights.freeLE(m.index);
          }

          if (r.maybeCommit()) {
            // Committed in this term: pending reads can now be answered.
            releasePendingReadIndexMessages(r);
            r.bcastAppend();
          } else if (r.id !== m.from && pr.canBumpCommit(r.raftLog.committed)) {
            // The peer may lack the latest commit index; tell it before the next heartbeat.
            r.sendAppend(m.from);
          }
          // Flow control may now allow several messages (probe -> replicate, freed window).
          if (r.id !== m.from) {
            while (r.maybeSendAppend(m.from, false)) {
              /* keep sending */
            }
          }
          if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) {
            r.logger.info(`${hex(r.id)} sent MsgTimeoutNow to ${hex(m.from)} after received MsgAppResp`);
            r.sendTimeoutNow(m.from);
          }
        }
      }
      break;
    case MessageType.MsgHeartbeatResp:
      pr.recentActive = true;
      pr.msgAppFlowPaused = false;
      // Send an append (possibly empty) to a lagging or probing peer so that a full window whose
      // messages were lost, or a caught-up probe, can recover. Paused StateSnapshot makes it a no-op.
      if (pr.match < r.raftLog.lastIndex() || pr.state === ProgressStateType.StateProbe) r.sendAppend(m.from);

      if (r.readOnly.option !== ReadOnlyOption.ReadOnlySafe || m.context.length === 0) return null;
      {
        const acks = r.readOnly.recvAck(m.from, m.context);
        if (r.trk.config.voters.voteResult(acks ?? new Map<NodeId, boolean>()) !== VoteResult.VoteWon) return null;
      }
      for (const rs of r.readOnly.advance(m)) {
        const resp = r.responseToReadIndexReq(rs.req, rs.index);
        if (resp.to !== None) r.send(resp);
      }
      break;
    case MessageType.MsgSnapStatus:
      if (pr.state !== ProgressStateType.StateSnapshot) return null;
      if (!m.reject) {
        pr.becomeProbe();
        r.logger.debug(
          `${hex(r.id)} snapshot succeeded, resumed sending replication messages to ${hex(m.from)} [${pr.toString()}]`,
        );
      } else {
        // Clear pendingSnapshot first, or we would probe from the never-applied snapshot index.
        pr.pendingSnapshot = 0;
        pr.becomeProbe();
        r.logger.debug(
          `${hex(r.id)} snapshot failed, resumed sending replication messages to ${hex(m.from)} [${pr.toString()}]`,
        );
      }
      // Wait for the MsgAppResp (success) or a heartbeat interval (failure) before the next MsgApp.
      pr.msgAppFlowPaused = true;
      break;
    case MessageType.MsgUnreachable:
      // An optimistic MsgApp was probably lost.
      if (pr.state === ProgressStateType.StateReplicate) pr.becomeProbe();
      r.logger.debug(
        `${hex(r.id)} failed to send message to ${hex(m.from)} because it is unreachable [${pr.toString()}]`,
      );
      break;
    case MessageType.MsgTransferLeader: {
      if (pr.isLearner) {
        r.logger.debug(`${hex(r.id)} is learner. Ignored transferring leadership`);
        return null;
      }
      const leadTransferee = m.from;
      const lastLeadTransferee = r.leadTransferee;
      if (lastLeadTransferee !== None) {
        if (lastLeadTransferee === leadTransferee) {
          r.logger.info(
            `${hex(r.id)} [term ${r.term}] transfer leadership to ${hex(leadTransferee)} is in progress, ignores request to same node ${hex(leadTransferee)}`,
          );
          return null;
        }
        r.abortLeaderTransfer();
        r.logger.info(`${hex(r.id)} [term ${r.term}] abort previous transferring leadership to ${hex(lastLeadTransferee)}`);
      }
      if (leadTransferee === r.id) {
        r.logger.debug(`${hex(r.id)} is already leader. Ignored transferring leadership to self`);
        return null;
      }
      r.logger.info(`${hex(r.id)} [term ${r.term}] starts to transfer leadership to ${hex(leadTransferee)}`);
      // The transfer must finish within one election timeout.
      r.electionElapsed = 0;
      r.leadTransferee = leadTransferee;
      if (pr.match === r.raftLog.lastIndex()) {
        r.sendTimeoutNow(leadTransferee);
        r.logger.info(
          `${hex(r.id)} sends MsgTimeoutNow to ${hex(leadTransferee)} immediately as ${hex(leadTransferee)} already has up-to-date log`,
        );
      } else {
        r.sendAppend(leadTransferee);
      }
      break;
    }
  }
  return null;
}

/** Shared by StateCandidate and StatePreCandidate; each only counts its own kind of vote response. */
export function stepCandidate(r: Raft, m: Message): Error | null {
  // A candidate may still receive stale MsgPreVoteResp from its pre-candidacy in this term.
  const myVoteRespType =
    r.state === StateType.StatePreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
  switch (m.type) {
    case MessageType.MsgProp:
      r.logger.info(`${hex(r.id)} no leader at term ${r.term}; dropping proposal`);
      return ErrProposalDropped;
    case MessageType.MsgApp:
      r.becomeFollower(m.term, m.from); // always m.term == r.term
      r.handleAppendEntries(m);
      break;
    case MessageType.MsgHeartbeat:
      r.becomeFollower(m.term, m.from); // always m.term == r.term
      r.handleHeartbeat(m);
      break;
    case MessageType.MsgSnap:
      r.becomeFollower(m.term, m.from); // always m.term == r.term
      r.handleSnapshot(m);
      break;
    case myVoteRespType: {
      const { granted, rejected, result } = r.poll(m.from, m.type, !m.reject);
      r.logger.info(
        `${hex(r.id)} has received ${granted} ${msgName(m.type)} votes and ${rejected} vote rejections`,
      );
      if (result === VoteResult.VoteWon) {
        if (r.state === StateType.StatePreCandidate) {
          r.campaign(campaignElection);
        } else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (result === VoteResult.VoteLost) {
        // A MsgPreVoteResp carries the pre-candidate's future term; keep ours.
        r.becomeFollower(r.term, None);
      }
      break;
    }
    case MessageType.MsgTimeoutNow:
      r.logger.debug(`${hex(r.id)} [term ${r.term} state ${STATE_NAMES[r.state]}] ignored MsgTimeoutNow from ${hex(m.from)}`);
      break;
  }
  return null;
}

export function stepFollower(r: Raft, m: Message): Error | null {
  switch (m.type) {
    case MessageType.MsgProp:
      if (r.lead === None) {
        r.logger.info(`${hex(r.id)} no leader at term ${r.term}; dropping proposal`);
        return ErrProposalDropped;
      } else if (r.disableProposalForwarding) {
        r.logger.info(`${hex(r.id)} not forwarding to leader ${hex(r.lead)} at term ${r.term}; dropping proposal`);
        return ErrProposalDropped;
      }
      m.to = r.lead;
      r.send(m);
      break;
    case MessageType.MsgApp:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleAppendEntries(m);
      break;
    case MessageType.MsgHeartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleHeartbeat(m);
      break;
    case MessageType.MsgSnap:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleSnapshot(m);
      break;
    case MessageType.MsgTransferLeader:
      if (r.lead === None) {
        r.logger.info(`${hex(r.id)} no leader at term ${r.term}; dropping leader transfer msg`);
        return null;
      }
      m.to = r.lead;
      r.send(m);
      break;
    case MessageType.MsgForgetLeader:
      if (r.readOnly.option === ReadOnlyOption.ReadOnlyLeaseBased) {
        r.logger.error('ignoring MsgForgetLeader due to ReadOnlyLeaseBased');
        return null;
      }
      if (r.lead !== None) {
        r.logger.info(`${hex(r.id)} forgetting leader ${hex(r.lead)} at term ${r.term}`);
        r.lead = None;
      }
      break;
    case MessageType.MsgTimeoutNow:
      r.logger.info(
        `${hex(r.id)} [term ${r.term}] received MsgTimeoutNow from ${hex(m.from)} and starts an election to get leadership.`,
      );
      // Transfers skip PreVote: we know we are not recovering from a partition.
      r.hup(campaignTransfer);
      break;
    case MessageType.MsgReadIndex:
      if (r.lead === None) {
        r.logger.info(`${hex(r.id)} no leader at term ${r.term}; dropping index reading msg`);
        return null;
      }
      m.to = r.lead;
      r.send(m);
      break;
    case MessageType.MsgReadIndexResp:
      if (m.entries.length !== 1) {
        r.logger.error(
          `${hex(r.id)} invalid format of MsgReadIndexResp from ${hex(m.from)}, entries count: ${m.entries.length}`,
        );
        return null;
      }
      r.readStates.push({ index: m.index, requestCtx: m.entries[0].data });
      break;
  }
  return null;
}

function releasePendingReadIndexMessages(r: Raft): void {
  if (r.pendingReadIndexMessages.length === 0) return;
  if (!r.committedEntryInCurrentTerm()) {
    r.logger.error('pending MsgReadIndex should be released only after first commit in current term');
    return;
  }
  const msgs = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of msgs) sendMsgReadIndexResponse(r, m);
}

function sendMsgReadIndexResponse(r: Raft, m: Message): void {
  switch (r.readOnly.option) {
    case ReadOnlyOption.ReadOnlySafe:
      // Confirm leadership with a heartbeat round; the leader acks its own request.
      r.readOnly.addRequest(r.raftLog.committed, m);
      r.readOnly.recvAck(r.id, m.entries[0].data);
      r.bcastHeartbeatWithCtx(m.entries[0].data);
      break;
    case ReadOnlyOption.ReadOnlyLeaseBased: {
      const resp = r.responseToReadIndexReq(m, r.raftLog.committed);
      if (resp.to !== None) r.send(resp);
      break;
    }
  }
}
