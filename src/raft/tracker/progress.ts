// A follower's replication progress as the leader sees it (etcd-raft's tracker/progress.go): the
// matched and next index, the flow-control state (probe / replicate / snapshot) and its
// transitions, and the printable form used in log lines and `status` output.
import { Inflights } from './inflights.js';
import { ProgressStateType, progressStateString } from './state.js';

/** Fields a Progress can be created with (Go's struct literal); omitted ones take zero values. */
export interface ProgressInit {
  match?: number;
  next?: number;
  sentCommit?: number;
  state?: ProgressStateType;
  pendingSnapshot?: number;
  recentActive?: boolean;
  msgAppFlowPaused?: boolean;
  inflights?: Inflights;
  isLearner?: boolean;
}

export class Progress {
  /** Highest index known to match the leader's log. */
  match: number;
  /** Next index to send; entries in (match, next) are in flight. Invariant: match < next. */
  next: number;
  /** Highest commit index sent to the follower (Go's unexported `sentCommit`). */
  sentCommitIndex: number;
  state: ProgressStateType;
  /** In StateSnapshot: the index of the snapshot being sent. */
  pendingSnapshot: number;
  /** Whether the follower was heard from recently (CheckQuorum); always true for the leader. */
  recentActive: boolean;
  /** Set when appends are throttled: in StateProbe after a probe, in StateReplicate when full. */
  msgAppFlowPaused: boolean;
  inflights: Inflights;
  isLearner: boolean;

  constructor(init: ProgressInit = {}) {
    this.match = init.match ?? 0;
    this.next = init.next ?? 0;
    this.sentCommitIndex = init.sentCommit ?? 0;
    this.state = init.state ?? ProgressStateType.StateProbe;
    this.pendingSnapshot = init.pendingSnapshot ?? 0;
    this.recentActive = init.recentActive ?? false;
    this.msgAppFlowPaused = init.msgAppFlowPaused ?? false;
    // Without an explicit window the count is unbounded (tests build bare Progress values).
    this.inflights = init.inflights ?? new Inflights(Infinity, 0);
    this.isLearner = init.isLearner ?? false;
  }

  /** A shallow copy (shares the Inflights), as Go's `ppr := *pr`. */
  clone(): Progress {
    return new Progress({
      match: this.match,
      next: this.next,
      sentCommit: this.sentCommitIndex,
      state: this.state,
      pendingSnapshot: this.pendingSnapshot,
      recentActive: this.recentActive,
      msgAppFlowPaused: this.msgAppFlowPaused,
      inflights: this.inflights,
      isLearner: this.isLearner,
    });
  }

  /** Moves to `state`, clearing the pause flag, the pending snapshot and the inflights. */
  resetState(state: ProgressStateType): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** Enters StateProbe with next = match+1 or, after a snapshot, just past the snapshot. */
  becomeProbe(): void {
    if (this.state === ProgressStateType.StateSnapshot) {
      // The snapshot was delivered, so probe from just after it.
      const pendingSnapshot = this.pendingSnapshot;
      this.resetState(ProgressStateType.StateProbe);
      this.next = Math.max(this.match + 1, pendingSnapshot + 1);
    } else {
      this.resetState(ProgressStateType.StateProbe);
      this.next = this.match + 1;
    }
    this.sentCommitIndex = Math.min(this.sentCommitIndex, this.next - 1);
  }

  /** Enters StateReplicate with next = match+1. */
  becomeReplicate(): void {
    this.resetState(ProgressStateType.StateReplicate);
    this.next = this.match + 1;
  }

  /** Enters StateSnapshot for a snapshot at index `snapshoti`. */
  becomeSnapshot(snapshoti: number): void {
    this.resetState(ProgressStateType.StateSnapshot);
    this.pendingSnapshot = snapshoti;
    this.next = snapshoti + 1;
    this.sentCommitIndex = snapshoti;
  }

  /**
   * Accounts for a MsgApp carrying `entries` entries (`bytes` payload bytes) appended at indexes
   * ≥ next. Only valid in StateProbe or StateReplicate.
   */
  sentEntries(entries: number, bytes: number): void {
    switch (this.state) {
      case ProgressStateType.StateReplicate:
        if (entries > 0) {
          this.next += entries;
          this.inflights.add(this.next - 1, bytes);
        }
        // A message that fills the window counts as a probe: the flow pauses until a response.
        this.msgAppFlowPaused = this.inflights.full();
        break;
      case ProgressStateType.StateProbe:
        if (entries > 0) this.msgAppFlowPaused = true;
        break;
      default:
        throw new Error(`sending append in unhandled state ${progressStateString(this.state)}`);
    }
  }

  /** Older name of sentEntries (etcd-raft ≤ 3.5 also passed the first index, now implied by next). */
  updateOnEntriesSend(entries: number, bytes: number, _nextIndex?: number): void {
    this.sentEntries(entries, bytes);
  }

  /** Whether sending commit index `index` could advance the follower's commit index. */
  canBumpCommit(index: number): boolean {
    // The follower can commit at most up to next-1 from what it has been sent; once a commit
    // reaching that far was sent there is nothing to gain.
    return index > this.sentCommitIndex && this.sentCommitIndex < this.next - 1;
  }

  /** Records that commit index `commit` was sent. */
  sentCommit(commit: number): void {
    this.sentCommitIndex = commit;
  }

  /**
   * Handles an acknowledgement of index `n` (MsgAppResp). Returns false if it is stale (n ≤ match),
   * otherwise advances match (and next if needed) and resumes the flow.
   */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) return false;
    this.match = n;
    this.next = Math.max(this.next, n + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * Handles the rejection of the MsgApp at index `rejected`, with the follower's hint of where
   * the logs may match. Returns false if the rejection is stale; otherwise lowers next and
   * resumes the flow.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressStateType.StateReplicate) {
      // Rejections at or below match are stale (reordered or duplicated messages).
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      this.sentCommitIndex = Math.min(this.sentCommitIndex, this.next - 1);
      return true;
    }
    // Probes go one at a time, so a genuine rejection is for next-1.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.sentCommitIndex = Math.min(this.sentCommitIndex, this.next - 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** Whether sending appends to this follower is currently throttled. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressStateType.StateProbe:
      case ProgressStateType.StateReplicate:
        return this.msgAppFlowPaused;
      case ProgressStateType.StateSnapshot:
        return true;
      default:
        throw new Error('unexpected state');
    }
  }

  /** E.g. `StateReplicate match=14 next=17 paused inflight=2[full]`. */
  toString(): string {
    let s = `${progressStateString(this.state)} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.isPaused()) s += ' paused';
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    const n = this.inflights.count();
    if (n > 0) {
      s += ` inflight=${n}`;
      if (this.inflights.full()) s += '[full]';
    }
    return s;
  }
}

/** Progress of every tracked peer, keyed by ID. */
export type ProgressMap = Map<bigint, Progress>;

/** One `id: progress` line per peer, sorted by ID (IDs in decimal). */
export function progressMapString(m: ProgressMap): string {
  const ids = Array.from(m.keys()).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let s = '';
  for (const id of ids) s += `${id}: ${m.get(id)!.toString()}\n`;
  return s;
}
