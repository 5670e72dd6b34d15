// Shared quorum vocabulary: the result of a vote, the lookup of acknowledged log indexes, and how
// an index prints (etcd-raft's quorum.go). Go's math.MaxUint64 "commits everything" becomes Infinity.

/** Outcome of counting votes against a (majority or joint) configuration. */
export enum VoteResult {
  /** Neither a quorum of yes nor of no has been reached yet. */
  VotePending = 1,
  /** A quorum of no has been reached. */
  VoteLost = 2,
  /** A quorum of yes has been reached. */
  VoteWon = 3,
}

/**
 * Returns the log index a voter has acknowledged, or undefined when nothing is known about it
 * (which is different from index 0).
 */
export type AckedIndexer = (id: bigint) => number | undefined;

/** An AckedIndexer over a plain map, as the tests build them. */
export function mapAckIndexer(m: ReadonlyMap<bigint, number>): AckedIndexer {
  return (id) => m.get(id);
}

/** Prints an index the way etcd does: decimal, or `∞` for "no limit" (an empty quorum's commit). */
export function indexString(i: number): string {
  return i === Infinity ? '∞' : String(i);
}

export function voteResultString(r: VoteResult): string {
  return VoteResult[r] ?? `VoteResult(${r})`;
}
