// A joint configuration: two majority configs that must both agree (etcd-raft's quorum/joint.go),
// used while a membership change moves from the outgoing to the incoming voter set.
import { MajorityConfig, describeMajority } from './majority.js';
import { type AckedIndexer, VoteResult } from './quorum.js';

export class JointConfig {
  /** The incoming (active, or only) voter set. */
  incoming: MajorityConfig;
  /** The outgoing voter set; empty unless the configuration is joint. */
  outgoing: MajorityConfig;

  constructor(incoming?: MajorityConfig, outgoing?: MajorityConfig) {
    this.incoming = incoming ?? new MajorityConfig();
    this.outgoing = outgoing ?? new MajorityConfig();
  }

  // Go's JointConfig is `[2]MajorityConfig`; these aliases keep `voters[0]`/`voters[1]` working.
  get 0(): MajorityConfig {
    return this.incoming;
  }
  set 0(c: MajorityConfig) {
    this.incoming = c;
  }
  get 1(): MajorityConfig {
    return this.outgoing;
  }
  set 1(c: MajorityConfig) {
    this.outgoing = c;
  }

  /** Whether there is an outgoing config, i.e. a membership change is in progress. */
  isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  /** `(1 2 3)`, or `(1 2 3)&&(1 2)` when joint. */
  toString(): string {
    if (this.outgoing.size > 0) return this.incoming.toString() + '&&' + this.outgoing.toString();
    return this.incoming.toString();
  }

  /** A new set of every voter of either half. */
  ids(): Set<bigint> {
    const m = new Set<bigint>(this.incoming);
    for (const id of this.outgoing) m.add(id);
    return m;
  }

  describe(l: AckedIndexer): string {
    return describeMajority(this.ids(), l);
  }

  /** The highest index committed in both halves. */
  committedIndex(l: AckedIndexer): number {
    const idx0 = this.incoming.committedIndex(l);
    const idx1 = this.outgoing.committedIndex(l);
    return idx0 < idx1 ? idx0 : idx1;
  }

  /** Both halves must win; a loss in either is a loss; anything else is pending. */
  voteResult(votes: ReadonlyMap<bigint, boolean>): VoteResult {
    const r1 = this.incoming.voteResult(votes);
    const r2 = this.outgoing.voteResult(votes);
    if (r1 === r2) return r1;
    if (r1 === VoteResult.VoteLost || r2 === VoteResult.VoteLost) return VoteResult.VoteLost;
    return VoteResult.VotePending;
  }

  /** A deep copy (the sets are not shared). */
  clone(): JointConfig {
    return new JointConfig(new MajorityConfig(this.incoming), new MajorityConfig(this.outgoing));
  }
}
