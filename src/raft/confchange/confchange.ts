// Membership changes (etcd-raft's confchange/confchange.go): the Changer validates and applies
// simple (one voter at a time) and joint-consensus changes to a copy of the tracker's
// configuration, returning the new configuration and progress map, or an error leaving the
// tracker untouched.
import { ConfChangeType, type ConfChangeSingle } from '../raftpb/types.js';
import { MajorityConfig } from '../quorum/majority.js';
import { Inflights } from '../tracker/inflights.js';
import { Progress, type ProgressMap } from '../tracker/progress.js';
import { TrackerConfig } from '../tracker/tracker.js';

/** What a Changer reads from the tracker (a ProgressTracker satisfies it). */
export interface ChangerTracker {
  config: TrackerConfig;
  progress: ProgressMap;
  readonly maxInflight: number;
  readonly maxInflightBytes: number;
}

/** A successful change: the new configuration and progress map, to be installed together. */
export type ChangeResult = [TrackerConfig, ProgressMap];

export class Changer {
  /**
   * @param tracker the current configuration; it is only read, never modified
   * @param lastIndex the last log index; new peers start probing from max(lastIndex, 1)
   */
  constructor(
    public tracker: ChangerTracker,
    public lastIndex: number,
  ) {}

  /**
   * Enters a joint configuration: the current voters become the outgoing half and the changes
   * are applied to the incoming half. Fails if already joint or if there are no voters.
   */
  enterJoint(autoLeave: boolean, ccs: readonly ConfChangeSingle[]): ChangeResult | Error {
    const copied = this.checkAndCopy();
    if (copied instanceof Error) return copied;
    const [cfg, trk] = copied;
    if (joint(cfg)) return new Error('config is already joint');
    // An empty config may receive voters (bootstrap, tests) but cannot become joint.
    if (cfg.voters.incoming.size === 0) return new Error("can't make a zero-voter config joint");
    cfg.voters.outgoing = new MajorityConfig(cfg.voters.incoming);
    const err = this.apply(cfg, trk, ccs);
    if (err) return err;
    cfg.autoLeave = autoLeave;
    return checkAndReturn(cfg, trk);
  }

  /**
   * Leaves a joint configuration: the incoming half becomes the only one, staged learners
   * (learnersNext) become learners, and peers only in the outgoing half are dropped.
   */
  leaveJoint(): ChangeResult | Error {
    const copied = this.checkAndCopy();
    if (copied instanceof Error) return copied;
    const [cfg, trk] = copied;
    if (!joint(cfg)) return new Error("can't leave a non-joint config");
    if (cfg.learnersNext !== null) {
      for (const id of cfg.learnersNext) {
        cfg.learners = nilAwareAdd(cfg.learners, id);
        trk.get(id)!.isLearner = true;
      }
    }
    cfg.learnersNext = null;
    for (const id of cfg.voters.outgoing) {
      const isVoter = cfg.voters.incoming.has(id);
      const isLearner = cfg.learners !== null && cfg.learners.has(id);
      if (!isVoter && !isLearner) trk.delete(id);
    }
    cfg.voters.outgoing = new MajorityConfig();
    cfg.autoLeave = false;
    return checkAndReturn(cfg, trk);
  }

  /**
   * Applies changes that together alter the voter set by at most one member, without joint
   * consensus. Fails in a joint config.
   */
  simple(ccs: readonly ConfChangeSingle[]): ChangeResult | Error {
    const copied = this.checkAndCopy();
    if (copied instanceof Error) return copied;
    const [cfg, trk] = copied;
    if (joint(cfg)) return new Error("can't apply simple config change in joint config");
    const err = this.apply(cfg, trk, ccs);
    if (err) return err;
    if (symdiff(this.tracker.config.voters.incoming, cfg.voters.incoming) > 1) {
      return new Error('more than one voter changed without entering joint config');
    }
    return checkAndReturn(cfg, trk);
  }

  // Voter changes always go to the incoming half; the outgoing half only preserves the old
  // voters while joint.
  private apply(cfg: TrackerConfig, trk: ProgressMap, ccs: readonly ConfChangeSingle[]): Error | null {
    for (const cc of ccs) {
      // etcd zeroes the node ID of a change it decided not to apply.
      if (cc.nodeId === 0n) continue;
      switch (cc.type) {
        case ConfChangeType.ConfChangeAddNode:
          this.makeVoter(cfg, trk, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeAddLearnerNode:
          this.makeLearner(cfg, trk, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeRemoveNode:
          this.remove(cfg, trk, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeUpdateNode:
          break;
        default:
          return new Error(`unexpected conf type ${cc.type as number}`);
      }
    }
    if (cfg.voters.incoming.size === 0) return new Error('removed all voters');
    return null;
  }

  // Adds or promotes `id` to a voter of the incoming half.
  private makeVoter(cfg: TrackerConfig, trk: ProgressMap, id: bigint): void {
    const pr = trk.get(id);
    if (pr === undefined) {
      this.initProgress(cfg, trk, id, false);
      return;
    }
    pr.isLearner = false;
    cfg.learners = nilAwareDelete(cfg.learners, id);
    cfg.learnersNext = nilAwareDelete(cfg.learnersNext, id);
    cfg.voters.incoming.add(id);
  }

  // Makes `id` a learner, or stages it in learnersNext while it is still an outgoing voter (a
  // peer cannot be a voter and a learner at once; leaveJoint completes the demotion).
  private makeLearner(cfg: TrackerConfig, trk: ProgressMap, id: bigint): void {
    const pr = trk.get(id);
    if (pr === undefined) {
      this.initProgress(cfg, trk, id, true);
      return;
    }
    if (pr.isLearner) return;
    // Drop it as an incoming voter but keep its progress.
    this.remove(cfg, trk, id);
    trk.set(id, pr);
    if (cfg.voters.outgoing.has(id)) {
      cfg.learnersNext = nilAwareAdd(cfg.learnersNext, id);
    } else {
      pr.isLearner = true;
      cfg.learners = nilAwareAdd(cfg.learners, id);
    }
  }

  // Removes `id` as a voter or learner of the incoming config; its progress stays while it is
  // still an outgoing voter.
  private remove(cfg: TrackerConfig, trk: ProgressMap, id: bigint): void {
    if (!trk.has(id)) return;
    cfg.voters.incoming.delete(id);
    cfg.learners = nilAwareDelete(cfg.learners, id);
    cfg.learnersNext = nilAwareDelete(cfg.learnersNext, id);
    if (!cfg.voters.outgoing.has(id)) trk.delete(id);
  }

  private initProgress(cfg: TrackerConfig, trk: ProgressMap, id: bigint, isLearner: boolean): void {
    if (!isLearner) cfg.voters.incoming.add(id);
    else cfg.learners = nilAwareAdd(cfg.learners, id);
    trk.set(
      id,
      new Progress({
        // Probing from the last index is optimistic; a peer without that entry answers with a
        // rejection hint (or gets a snapshot).
        match: 0,
        next: Math.max(this.lastIndex, 1),
        inflights: new Inflights(this.tracker.maxInflight, this.tracker.maxInflightBytes),
        isLearner,
        // New peers count as active, so CheckQuorum does not step down before they report in.
        recentActive: true,
      }),
    );
  }

  // Copies the tracker's config and progress (progress shallowly: only isLearner is mutated)
  // after checking the invariants.
  private checkAndCopy(): ChangeResult | Error {
    const cfg = this.tracker.config.clone();
    const trk: ProgressMap = new Map();
    for (const [id, pr] of this.tracker.progress) trk.set(id, pr.clone());
    return checkAndReturn(cfg, trk);
  }
}

/** Checks that a config and progress map fit together; returns the first violation. */
export function checkInvariants(cfg: TrackerConfig, trk: ProgressMap): Error | null {
  // The empty config is allowed: it is where bootstrap starts.
  for (const ids of [cfg.voters.ids(), cfg.learners, cfg.learnersNext]) {
    if (ids === null) continue;
    for (const id of ids) {
      if (!trk.has(id)) return new Error(`no progress for ${id}`);
    }
  }
  // A staged learner is staged only because it is still an outgoing voter.
  if (cfg.learnersNext !== null) {
    for (const id of cfg.learnersNext) {
      if (!cfg.voters.outgoing.has(id)) return new Error(`${id} is in LearnersNext, but not Voters[1]`);
      if (trk.get(id)!.isLearner) {
        return new Error(`${id} is in LearnersNext, but is already marked as learner`);
      }
    }
  }
  // Learners and voters never intersect.
  if (cfg.learners !== null) {
    for (const id of cfg.learners) {
      if (cfg.voters.outgoing.has(id)) return new Error(`${id} is in Learners and Voters[1]`);
      if (cfg.voters.incoming.has(id)) return new Error(`${id} is in Learners and Voters[0]`);
      if (!trk.get(id)!.isLearner) return new Error(`${id} is in Learners, but is not marked as learner`);
    }
  }
  if (!joint(cfg)) {
    if (cfg.learnersNext !== null) return new Error('cfg.LearnersNext must be nil when not joint');
    if (cfg.autoLeave) return new Error('AutoLeave must be false when not joint');
  }
  return null;
}

function checkAndReturn(cfg: TrackerConfig, trk: ProgressMap): ChangeResult | Error {
  const err = checkInvariants(cfg, trk);
  return err ?? [cfg, trk];
}

// Sets stay null while empty so that an emptied learner set does not print as `learners=()`.
function nilAwareAdd(s: Set<bigint> | null, id: bigint): Set<bigint> {
  const out = s ?? new Set<bigint>();
  out.add(id);
  return out;
}

function nilAwareDelete(s: Set<bigint> | null, id: bigint): Set<bigint> | null {
  if (s === null) return null;
  s.delete(id);
  return s.size === 0 ? null : s;
}

/** Size of the symmetric difference of two ID sets. */
function symdiff(l: ReadonlySet<bigint>, r: ReadonlySet<bigint>): number {
  let n = 0;
  for (const id of l) if (!r.has(id)) n++;
  for (const id of r) if (!l.has(id)) n++;
  return n;
}

function joint(cfg: TrackerConfig): boolean {
  return cfg.voters.outgoing.size > 0;
}

/** `AddNode(2) RemoveNode(3)`: a short description of changes, for test failures. */
export function describeChanges(ccs: readonly ConfChangeSingle[]): string {
  return ccs.map((cc) => `${ConfChangeType[cc.type]}(${cc.nodeId})`).join(' ');
}
