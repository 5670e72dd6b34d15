// The errors the Raft library reports, as singletons compared by identity (etcd-raft's sentinel
// errors, with the same texts so callers and tests see etcd's wording).

export class RaftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RaftError';
  }
}

// Storage errors (thrown by Storage implementations, caught by the raft log).
export const ErrCompacted = new RaftError('requested index is unavailable due to compaction');
export const ErrSnapOutOfDate = new RaftError('requested index is older than the existing snapshot');
export const ErrUnavailable = new RaftError('requested entry at index is unavailable');
export const ErrSnapshotTemporarilyUnavailable = new RaftError('snapshot is temporarily unavailable');

// Step / proposal errors (returned, not thrown, by raft.step and RawNode methods).
export const ErrProposalDropped = new RaftError('raft proposal dropped');
export const ErrStepLocalMsg = new RaftError('raft: cannot step raft local message');
export const ErrStepPeerNotFound = new RaftError('raft: cannot step as peer not found');
export const ErrStopped = new RaftError('raft: stopped');
