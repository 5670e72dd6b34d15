// The replication state a leader keeps for each follower (etcd-raft's tracker/state.go).

export enum ProgressStateType {
  /** Probing: at most one append in flight per heartbeat, to find where the logs match. */
  StateProbe = 0,
  /** Replicating: appends are pipelined optimistically, bounded by the inflights window. */
  StateReplicate = 1,
  /** A snapshot is being sent; appends are paused until it is acknowledged. */
  StateSnapshot = 2,
}

export const StateProbe = ProgressStateType.StateProbe;
export const StateReplicate = ProgressStateType.StateReplicate;
export const StateSnapshot = ProgressStateType.StateSnapshot;

const NAMES = ['StateProbe', 'StateReplicate', 'StateSnapshot'];

export function progressStateString(s: ProgressStateType): string {
  return NAMES[s] ?? `ProgressStateType(${s})`;
}
