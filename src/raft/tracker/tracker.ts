// The leader's view of the cluster (etcd-raft's tracker/tracker.go): the active membership
// configuration (TrackerConfig), each peer's Progress, and the votes of an election.
import type { ConfState } from '../raftpb/types.js';
import { JointConfig } from '../quorum/joint.js';
import { idSetString, sortedIds } from '../quorum/majority.js';
import { type AckedIndexer, VoteResult } from '../quorum/quorum.js';
import type { Progress, ProgressMap } from './progress.js';

/** The membership configuration: voters (possibly joint) and learners. */
export class TrackerConfig {
  voters: JointConfig;
  /** When joint: leave the joint config automatically once it is committed. */
  autoLeave: boolean;
  /**
   * Learners; never overlap with the voters of either half. null when empty (Go's nil map): an
   * empty-but-present set would print as `learners=()`.
   */
  learners: Set<bigint> | null;
  /**
   * Voters of the outgoing config that become learners when the joint config is left (they
   * cannot be learners and voters at once). null when empty.
   */
  learnersNext: Set<bigint> | null;

  constructor(
    voters: JointConfig = new JointConfig(),
    autoLeave = false,
    learners: Set<bigint> | null = null,
    learnersNext: Set<bigint> | null = null,
  ) {
    this.voters = voters;
    this.autoLeave = autoLeave;
    this.learners = learners;
    this.learnersNext = learnersNext;
  }

  /** E.g. `voters=(1 2 3)&&(1) learners=(4) learners_next=(5) autoleave`. */
  toString(): string {
    let s = 'voters=' + this.voters.toString();
    if (this.learners !== null) s += ' learners=' + idSetString(this.learners);
    if (this.learnersNext !== null) s += ' learners_next=' + idSetString(this.learnersNext);
    if (this.autoLeave) s += ' autoleave';
    return s;
  }

  /** A copy that shares no sets with this one. */
  clone(): TrackerConfig {
    return new TrackerConfig(
      this.voters.clone(),
      this.autoLeave,
      this.learners === null ? null : new Set(this.learners),
      this.learnersNext === null ? null : new Set(this.learnersNext),
    );
  }
}

/** Tracks the active configuration and what is known about each peer in it. */
export class ProgressTracker {
  config: TrackerConfig;
  votes: Map<bigint, boolean> = new Map();
  readonly maxInflight: number;
  readonly maxInflightBytes: number;

  private progressMap: ProgressMap = new Map();
  // Sorted IDs of progressMap, reused by visit() while the key set is unchanged.
  private sortedIds: bigint[] = [];
  private sortedFor: ProgressMap | null = null;
  // Allocated once: committed() runs on every append acknowledgement.
  private readonly matchAckIndexer: AckedIndexer = (id) => this.progressMap.get(id)?.match;

  /**
   * @param maxInflight the inflights window of each new Progress (messages)
   * @param maxInflightBytes its byte budget; 0 or Infinity means no limit
   */
  constructor(maxInflight: number, maxInflightBytes: number) {
    this.maxInflight = maxInflight;
    this.maxInflightBytes = maxInflightBytes;
    this.config = new TrackerConfig();
  }

  get progress(): ProgressMap {
    return this.progressMap;
  }
  set progress(m: ProgressMap) {
    this.progressMap = m;
    this.sortedFor = null;
  }

  // Go embeds Config in ProgressTracker, so raft code reads trk.Voters, trk.Learners, ...
  get voters(): JointConfig {
    return this.config.voters;
  }
  set voters(v: JointConfig) {
    this.config.voters = v;
  }
  get learners(): Set<bigint> | null {
    return this.config.learners;
  }
  set learners(v: Set<bigint> | null) {
    this.config.learners = v;
  }
  get learnersNext(): Set<bigint> | null {
    return this.config.learnersNext;
  }
  set learnersNext(v: Set<bigint> | null) {
    this.config.learnersNext = v;
  }
  get autoLeave(): boolean {
    return this.config.autoLeave;
  }
  set autoLeave(v: boolean) {
    this.config.autoLeave = v;
  }

  /** The active configuration as a ConfState (lists sorted ascending). */
  confState(): ConfState {
    const c = this.config;
    return {
      voters: c.voters.incoming.slice(),
      votersOutgoing: c.voters.outgoing.slice(),
      learners: c.learners === null ? [] : sortedIds(c.learners),
      learnersNext: c.learnersNext === null ? [] : sortedIds(c.learnersNext),
      autoLeave: c.autoLeave,
    };
  }

  /** Whether the leader is the only voter (and the config is not joint). */
  isSingleton(): boolean {
    return this.config.voters.incoming.size === 1 && this.config.voters.outgoing.size === 0;
  }

  /** The highest log index acknowledged by a quorum of voters (Infinity with no voters). */
  committed(): number {
    return this.config.voters.committedIndex(this.matchAckIndexer);
  }

  /** Calls `f` for every tracked peer in ascending ID order. */
  visit(f: (id: bigint, pr: Progress) => void): void {
    const m = this.progressMap;
    const ids = this.idsSorted();
    for (let i = 0; i < ids.length; i++) {
      const pr = m.get(ids[i]);
      // f may remove peers (Go iterates a snapshot of the IDs and reads a nil entry); skip them.
      if (pr !== undefined) f(ids[i], pr);
    }
  }

  private idsSorted(): bigint[] {
    const m = this.progressMap;
    let valid = this.sortedFor === m && this.sortedIds.length === m.size;
    if (valid) {
      for (const id of this.sortedIds) {
        if (!m.has(id)) {
          valid = false;
          break;
        }
      }
    }
    if (!valid) {
      this.sortedIds = sortedIds(m.keys());
      this.sortedFor = m;
    }
    return this.sortedIds;
  }

  /** Whether a quorum of voters has been recently active, as seen by this (leader) node. */
  quorumActive(): boolean {
    const votes = new Map<bigint, boolean>();
    this.visit((id, pr) => {
      if (!pr.isLearner) votes.set(id, pr.recentActive);
    });
    return this.config.voters.voteResult(votes) === VoteResult.VoteWon;
  }

  /** All voters of both halves, sorted ascending. */
  voterNodes(): bigint[] {
    return sortedIds(this.config.voters.ids());
  }

  /** The learners, sorted ascending. */
  learnerNodes(): bigint[] {
    return this.config.learners === null ? [] : sortedIds(this.config.learners);
  }

  /** Starts a new round of vote counting. */
  resetVotes(): void {
    this.votes = new Map();
  }

  /** Records a vote from `id` (true = granted); only the first vote of a peer counts. */
  recordVote(id: bigint, v: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, v);
  }

  /** Counts granted and rejected votes of tracked voters, and the election's outcome. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progressMap) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.config.voters.voteResult(this.votes) };
  }
}

/** Go's MakeProgressTracker. */
export function makeProgressTracker(maxInflight: number, maxInflightBytes: number): ProgressTracker {
  return new ProgressTracker(maxInflight, maxInflightBytes);
}
