// A point-in-time view of one raft peer for callers outside the state machine (etcd-raft
// status.go): BasicStatus (ids, HardState, SoftState, applied; cheap) and Status (adds the tracker
// config and, on the leader, a copy of every peer's Progress), plus etcd's JSON rendering of it.
import type { NodeId } from './raftpb/types.js';
import { STATE_NAMES, StateType } from './ready.js';
import type { Raft } from './raft.js';
import type { Progress } from './tracker/progress.js';
import type { TrackerConfig } from './tracker/tracker.js';
import { ProgressStateType } from './tracker/state.js';

/** Go embeds HardState and SoftState in BasicStatus; their fields are flattened here the same way. */
export interface BasicStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  lead: NodeId;
  raftState: StateType;
  applied: number;
  leadTransferee: NodeId;
}

export interface Status extends BasicStatus {
  config: TrackerConfig;
  /** Peers' progress, sorted by ID; empty unless this peer is the leader. */
  progress: Map<NodeId, Progress>;
}

export function getBasicStatus(r: Raft): BasicStatus {
  const hs = r.hardState();
  const ss = r.softState();
  return {
    id: r.id,
    term: hs.term,
    vote: hs.vote,
    commit: hs.commit,
    lead: ss.lead,
    raftState: ss.raftState,
    applied: r.raftLog.applied,
    leadTransferee: r.leadTransferee,
  };
}

// A detached copy: the caller may keep it while raft keeps mutating its own Progress objects.
function getProgressCopy(r: Raft): Map<NodeId, Progress> {
  const m = new Map<NodeId, Progress>();
  r.trk.visit((id, pr) => {
    const p = pr.clone();
    p.inflights = pr.inflights.clone();
    m.set(id, p);
  });
  return m;
}

export function getStatus(r: Raft): Status {
  const b = getBasicStatus(r) as Status;
  b.progress = b.raftState === StateType.StateLeader ? getProgressCopy(r) : new Map();
  b.config = r.trk.config.clone();
  return b;
}

const PROGRESS_STATE_NAMES = ['StateProbe', 'StateReplicate', 'StateSnapshot'];

/** etcd's Status JSON (raft.Status.MarshalJSON): IDs in hex, progress keyed by hex ID. */
export function statusToJSON(s: Status): string {
  let j =
    `{"id":"${s.id.toString(16)}","term":${s.term},"vote":"${s.vote.toString(16)}",` +
    `"commit":${s.commit},"lead":"${s.lead.toString(16)}",` +
    `"raftState":${JSON.stringify(STATE_NAMES[s.raftState] ?? String(s.raftState))},` +
    `"applied":${s.applied},"progress":{`;
  let first = true;
  for (const [id, pr] of s.progress) {
    if (!first) j += ',';
    first = false;
    const st = PROGRESS_STATE_NAMES[pr.state as ProgressStateType] ?? String(pr.state);
    j += `"${id.toString(16)}":{"match":${pr.match},"next":${pr.next},"state":${JSON.stringify(st)}}`;
  }
  return j + `},"leadtransferee":"${s.leadTransferee.toString(16)}"}`;
}
