// Rebuilds a tracker configuration from a ConfState (etcd-raft's confchange/restore.go), by
// replaying it as a sequence of changes on an empty configuration — so a restored config passes
// exactly the validation a live one did.
import { ConfChangeType, type ConfChangeSingle, type ConfState } from '../raftpb/types.js';
import { Changer, type ChangeResult } from './confchange.js';

// Splits a ConfState into the changes that build the outgoing config (applied one by one) and
// those that, applied while entering the joint state, turn it into the incoming config.
// E.g. voters=(1 2 3) learners=(5) outgoing=(1 2 4 6) learners_next=(4) gives
//   out: v1 v2 v4 v6      in: r1 r2 r4 r6 v1 v2 v3 l5 l4
function toConfChangeSingle(cs: ConfState): { out: ConfChangeSingle[]; in: ConfChangeSingle[] } {
  const out: ConfChangeSingle[] = [];
  const inc: ConfChangeSingle[] = [];
  for (const id of cs.votersOutgoing) out.push({ type: ConfChangeType.ConfChangeAddNode, nodeId: id });
  for (const id of cs.votersOutgoing) inc.push({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: id });
  for (const id of cs.voters) inc.push({ type: ConfChangeType.ConfChangeAddNode, nodeId: id });
  for (const id of cs.learners) inc.push({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: id });
  // learnersNext are outgoing voters to be demoted once the joint config is left.
  for (const id of cs.learnersNext) {
    inc.push({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: id });
  }
  return { out, in: inc };
}

/**
 * Runs the changes enacting `cs` on the Changer, whose tracker must hold an empty configuration.
 * The Changer's tracker is not modified; install the returned config and progress map.
 */
export function restore(chg: Changer, cs: ConfState): ChangeResult | Error {
  const { out, in: inc } = toConfChangeSingle(cs);
  // A private tracker view: each step's result feeds the next without touching the caller's.
  const t = chg.tracker;
  const local = new Changer(
    { config: t.config, progress: t.progress, maxInflight: t.maxInflight, maxInflightBytes: t.maxInflightBytes },
    chg.lastIndex,
  );
  const ops: Array<(c: Changer) => ChangeResult | Error> = [];
  if (out.length === 0) {
    for (const cc of inc) ops.push((c) => c.simple([cc]));
  } else {
    // Build the outgoing voters as a plain config, then enter the joint state, which rotates them
    // into the outgoing half while applying the incoming changes.
    for (const cc of out) ops.push((c) => c.simple([cc]));
    ops.push((c) => c.enterJoint(cs.autoLeave, inc));
  }
  for (const op of ops) {
    const res = op(local);
    if (res instanceof Error) return res;
    local.tracker.config = res[0];
    local.tracker.progress = res[1];
  }
  return [local.tracker.config, local.tracker.progress];
}
