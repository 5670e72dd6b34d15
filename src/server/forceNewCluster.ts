// --force-new-cluster (etcd's bootstrapClusterWithWAL with ForceNewCluster): on restart from a WAL,
// drop the entries past the HardState commit, append ConfChangeRemoveNode entries for every other
// member (and an AddNode for this one if the log no longer names it), and commit them at once, so
// raft restarts with this member alone; the removals are applied like any committed conf change,
// keeping all data, the cluster ID and this member's ID.
import { ConfChangeType, EntryType, type ConfChange, type Entry, type HardState, type Snapshot } from '../raft/index.js';
import { decodeConfChange, encodeConfChange } from '../raft/raftpb/codec.js';
import type { ServerLogger } from './config.js';
import { memberToJson } from './membership/member.js';

/** The slice of the WAL this needs (save is the one appending the forced entries). */
export interface ForceWal {
  save(hardState: HardState, entries: readonly Entry[]): Promise<void>;
}

/** Entries up to the commit index; logs what is discarded, as etcd does. */
export function committedEntries(entries: Entry[], commit: number, lg: ServerLogger): Entry[] {
  for (let i = 0; i < entries.length; i++) {
    if (entries[i].index > commit) {
      lg.info(
        {
          'entry-index': entries[i].index,
          'commit-index-from-wal': commit,
          'number-of-discarded-entries': entries.length - i,
        },
        'discarding uncommitted WAL entries',
      );
      return entries.slice(0, i);
    }
  }
  return entries;
}

/**
 * The member IDs the snapshot and the entries leave in the configuration, ascending. Learners of
 * the snapshot count too (etcd counts only voters there, which would leave a learner behind).
 */
export function memberIdsOf(snapshot: Snapshot | null, entries: readonly Entry[]): bigint[] {
  const ids = new Set<bigint>();
  if (snapshot !== null) {
    for (const id of snapshot.metadata.confState.voters) ids.add(id);
    for (const id of snapshot.metadata.confState.learners) ids.add(id);
  }
  for (const e of entries) {
    if (e.type !== EntryType.EntryConfChange) continue;
    const cc = decodeConfChange(e.data);
    switch (cc.type) {
      case ConfChangeType.ConfChangeAddNode:
      case ConfChangeType.ConfChangeAddLearnerNode:
        ids.add(cc.nodeId);
        break;
      case ConfChangeType.ConfChangeRemoveNode:
        ids.delete(cc.nodeId);
        break;
      default:
        break;
    }
  }
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The conf change entries making `self` the only member, from index+1 at `term`: an AddNode for
 * self first when it is missing (raft must never see an empty voter set), then one RemoveNode per
 * other ID.
 */
export function configChangeEntries(ids: readonly bigint[], self: bigint, term: number, index: number): Entry[] {
  const ents: Entry[] = [];
  let next = index + 1;
  const push = (cc: ConfChange): void => {
    ents.push({ term, index: next++, type: EntryType.EntryConfChange, data: encodeConfChange(cc) });
  };
  if (!ids.includes(self)) {
    // etcd's placeholder member: its default peer URL, no name.
    const context = Buffer.from(
      memberToJson({ id: self, name: '', peerURLs: ['http://localhost:2380'], clientURLs: [], isLearner: false }),
    );
    push({ type: ConfChangeType.ConfChangeAddNode, nodeId: self, context, id: 0n });
  }
  for (const id of ids) {
    if (id !== self) push({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: id, context: new Uint8Array(0), id: 0n });
  }
  return ents;
}

/**
 * Rewrites what was read from the WAL for a standalone restart: returns the entries raft restarts
 * with (committed ones plus the forced conf changes, which are saved to the WAL first) and the
 * HardState whose commit covers them. Logs etcd's "forcing restart member".
 */
export async function forceStandalone(
  wal: ForceWal,
  snapshot: Snapshot | null,
  hardState: HardState,
  entries: Entry[],
  ids: { nodeId: bigint; clusterId: bigint },
  lg: ServerLogger,
): Promise<{ hardState: HardState; entries: Entry[] }> {
  const kept = committedEntries(entries, hardState.commit, lg);
  const forced = configChangeEntries(memberIdsOf(snapshot, kept), ids.nodeId, hardState.term, hardState.commit);
  const all = forced.length === 0 ? kept : kept.concat(forced);
  const hs: HardState = { ...hardState, commit: all.length !== 0 ? all[all.length - 1].index : hardState.commit };
  // Saved with the commit that covers them, so a crash before raft's first Ready cannot leave them
  // uncommitted in a configuration that still needs the lost members' votes.
  if (forced.length !== 0) await wal.save(hs, forced);
  lg.info(
    {
      'cluster-id': ids.clusterId.toString(16),
      'local-member-id': ids.nodeId.toString(16),
      'commit-index': hs.commit,
    },
    'forcing restart member',
  );
  return { hardState: hs, entries: all };
}
