// Membership requests (etcd's EtcdServer AddMember / RemoveMember / UpdateMember / PromoteMember):
// the --strict-reconfig-check safety checks, then a raft conf change whose apply result (the
// member list, or the reason it was rejected) answers the request. Promotion is decided by the
// leader, which alone knows how far the learner's log is: other members forward it over HTTP.
import { ConfChangeType, None, type ConfChange, type Status } from '../../raft/index.js';
import type { ServerLogger } from '../config.js';
import type { Member as PbMember } from '../etcdserverpb/rpc.js';
import { ErrNotLeader, ErrStopped, ErrTimeout, ErrTimeoutWaitAppliedIndex, ErrUnhealthy, ErrNoLeader } from '../errors.js';
import type { WaitIndex } from '../wait.js';
import { ErrIDNotFound, ErrMemberNotLearner, type RaftCluster } from './cluster.js';
import { ErrLearnerNotReady, ErrNotEnoughStartedMembers } from './errors.js';
import { computeMemberId } from './ids.js';
import { type Member, memberToJson, promoteContextJson } from './member.js';
import { promoteMemberHttp } from './promoteHttp.js';
import type { PeerSessions } from '../peerSessions.js';

/** How long every voting peer must have been connected before a member is added (etcd). */
export const HEALTH_INTERVAL_MS = 5000;
/** A learner is ready once its match index is this share of the leader's (etcd's readyPercent). */
export const READY_PERCENT = 0.9;
/** How long a promote waits for committed entries to be applied first (etcd's waitAppliedIndex). */
const APPLY_WAIT_MS = 1000;

/** The server as membership requests use it (EtcdServer satisfies it structurally). */
export interface ReconfigHost {
  readonly id: bigint;
  readonly cfg: {
    readonly strictReconfigCheck: boolean;
    readonly requestTimeoutMs: number;
    readonly electionMs: number;
    readonly logger: ServerLogger;
  };
  /** Sessions to other members (a promotion is forwarded to the leader over them). */
  readonly peerSessions: PeerSessions;
  readonly cluster: RaftCluster;
  readonly transport: { activeSince(id: bigint): number } | null;
  readonly node: { status(): Status; readonly rn: { readonly raft: { readonly raftLog: { readonly committed: number } } } };
  readonly appliedWait: WaitIndex;
  readonly appliedIndex: number;
  readonly leader: bigint;
  /** Proposes `cc` and resolves with the members once it is applied (rejects with why it was refused). */
  configure(cc: ConfChange): Promise<Member[]>;
}

const EMPTY = new Uint8Array(0);

function confChange(type: ConfChangeType, nodeId: bigint, context: string | null): ConfChange {
  return { type, nodeId, context: context === null ? EMPTY : Buffer.from(context), id: 0n };
}

/** A member to add at runtime: ID from the sorted peer URLs and the current time (no cluster token, as etcd). */
export function newRuntimeMember(peerURLs: string[], isLearner: boolean, nowMs = Date.now()): Member {
  const urls = [...peerURLs].sort();
  return { id: computeMemberId(urls, '', nowMs / 1000), name: '', peerURLs: urls, clientURLs: [], isLearner };
}

// ---- add ----------------------------------------------------------------------------------------

export async function addMember(h: ReconfigHost, m: Member): Promise<Member[]> {
  mayAddMember(h, m);
  const type = m.isLearner ? ConfChangeType.ConfChangeAddLearnerNode : ConfChangeType.ConfChangeAddNode;
  return h.configure(confChange(type, m.id, memberToJson(m)));
}

function mayAddMember(h: ReconfigHost, m: Member): void {
  if (!h.cfg.strictReconfigCheck) return;
  const lg = h.cfg.logger;
  const fields = { 'local-member-id': h.id.toString(16), 'requested-member-add': m.id.toString(16) };
  if (!m.isLearner && !h.cluster.isReadyToAddVotingMember()) {
    lg.warn({ ...fields, error: ErrNotEnoughStartedMembers.message }, 'rejecting member add request; not enough healthy members');
    throw ErrNotEnoughStartedMembers;
  }
  if (numConnectedSince(h, Date.now() - HEALTH_INTERVAL_MS, h.cluster.votingMembers()) !== h.cluster.votingMembers().length) {
    lg.warn(
      { ...fields, error: ErrUnhealthy.message },
      'rejecting member add request; local member has not been connected to all peers, reconfigure breaks active quorum',
    );
    throw ErrUnhealthy;
  }
}

// ---- remove -------------------------------------------------------------------------------------

export async function removeMember(h: ReconfigHost, id: bigint): Promise<Member[]> {
  mayRemoveMember(h, id);
  return h.configure(confChange(ConfChangeType.ConfChangeRemoveNode, id, null));
}

function mayRemoveMember(h: ReconfigHost, id: bigint): void {
  if (!h.cfg.strictReconfigCheck) return;
  // A learner does not vote: removing it never endangers the quorum.
  if (h.cluster.member(id)?.isLearner) return;
  const lg = h.cfg.logger;
  const fields = { 'local-member-id': h.id.toString(16), 'requested-member-remove-id': id.toString(16) };
  if (!h.cluster.isReadyToRemoveVotingMember(id)) {
    lg.warn({ ...fields, error: ErrNotEnoughStartedMembers.message }, 'rejecting member remove request; not enough healthy members');
    throw ErrNotEnoughStartedMembers;
  }
  // A member that is down is not part of the active quorum: removing it is safe.
  if (id !== h.id && (h.transport?.activeSince(id) ?? 0) === 0) return;
  // Removing an active member must leave a majority of the remaining voters connected.
  const voters = h.cluster.votingMembers();
  const active = numConnectedSince(h, Date.now() - HEALTH_INTERVAL_MS, voters);
  if (active - 1 < 1 + Math.floor((voters.length - 1) / 2)) {
    lg.warn(
      { ...fields, 'active-peers': active, error: ErrUnhealthy.message },
      'rejecting member remove request; local member has not been connected to all peers, reconfigure breaks active quorum',
    );
    throw ErrUnhealthy;
  }
}

/** Voters connected to this member for longer than `since` (this member counts as connected). */
function numConnectedSince(h: ReconfigHost, since: number, members: Member[]): number {
  let n = 0;
  for (const m of members) {
    if (m.id === h.id) {
      n++;
      continue;
    }
    const t = h.transport?.activeSince(m.id) ?? 0;
    if (t !== 0 && t < since) n++;
  }
  return n;
}

// ---- update -------------------------------------------------------------------------------------

export async function updateMember(h: ReconfigHost, id: bigint, peerURLs: string[]): Promise<Member[]> {
  const m: Member = { id, name: '', peerURLs, clientURLs: [], isLearner: false };
  return h.configure(confChange(ConfChangeType.ConfChangeUpdateNode, id, memberToJson(m)));
}

// ---- promote ------------------------------------------------------------------------------------

/**
 * Promotes learner `id`: on the leader directly, elsewhere by forwarding to the leader's peer
 * URLs, retrying until the request timeout unless the leader gave a final answer.
 */
export async function promoteMember(h: ReconfigHost, id: bigint, isStopping: () => boolean = () => false): Promise<Member[]> {
  try {
    return await promoteLocal(h, id);
  } catch (err) {
    if (err !== ErrNotLeader) throw err;
  }
  const deadline = Date.now() + h.cfg.requestTimeoutMs;
  while (Date.now() < deadline) {
    if (isStopping()) throw ErrStopped;
    const leader = await waitLeader(h, deadline, isStopping);
    for (const url of leader.peerURLs) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        return await promoteMemberHttp(url, id, left, h.peerSessions);
      } catch (err) {
        if (err === ErrLearnerNotReady || err === ErrIDNotFound || err === ErrMemberNotLearner) throw err;
      }
    }
    await sleep(Math.min(50, Math.max(0, deadline - Date.now())));
  }
  throw ErrTimeout;
}

/** Promotes on this member; ErrNotLeader when it is not the leader (it cannot judge readiness). */
export async function promoteLocal(h: ReconfigHost, id: bigint): Promise<Member[]> {
  await isLearnerReady(h, id);
  if (h.cfg.strictReconfigCheck && !h.cluster.isReadyToPromoteMember(id)) {
    h.cfg.logger.warn(
      { 'local-member-id': h.id.toString(16), 'requested-member-remove-id': id.toString(16), error: ErrNotEnoughStartedMembers.message },
      'rejecting member promote request; not enough healthy members',
    );
    throw ErrNotEnoughStartedMembers;
  }
  return h.configure(confChange(ConfChangeType.ConfChangeAddNode, id, promoteContextJson(id)));
}

/** etcd's isLearnerReady: the learner's match index is at least 90% of the leader's. */
async function isLearnerReady(h: ReconfigHost, id: bigint): Promise<void> {
  await waitAppliedIndex(h);
  const st = h.node.status();
  if (st.progress.size === 0) throw ErrNotLeader;
  const learner = st.progress.get(id);
  if (learner === undefined) throw ErrIDNotFound;
  const leaderMatch = st.progress.get(st.id)?.match ?? 0;
  if (learner.match < leaderMatch * READY_PERCENT) throw ErrLearnerNotReady;
}

async function waitAppliedIndex(h: ReconfigHost): Promise<void> {
  const committed = h.node.rn.raft.raftLog.committed;
  if (h.appliedIndex >= committed) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(ErrTimeoutWaitAppliedIndex), APPLY_WAIT_MS);
  });
  try {
    await Promise.race([h.appliedWait.wait(committed), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The leader as a member, waiting an election timeout at a time while there is none. */
async function waitLeader(h: ReconfigHost, deadline: number, isStopping: () => boolean): Promise<Member> {
  for (;;) {
    const lead = h.leader;
    const m = lead === None ? undefined : h.cluster.member(lead);
    if (m !== undefined && m.peerURLs.length > 0) return m;
    if (isStopping()) throw ErrStopped;
    if (Date.now() >= deadline) throw ErrNoLeader;
    await sleep(Math.min(h.cfg.electionMs, Math.max(0, deadline - Date.now())));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- the Cluster service's requests (responses in etcdserverpb's shape; the API adds headers) ----

export interface PbMemberList {
  members: PbMember[];
}

export function toPbMember(m: Member): PbMember {
  return { ID: m.id, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner };
}

const toPb = (ms: Member[]): PbMemberList => ({ members: ms.map(toPbMember) });

/** MemberAdd: peer URLs already validated by the API layer. */
export async function memberAdd(h: ReconfigHost, peerURLs: string[], isLearner: boolean): Promise<PbMemberList & { member: PbMember }> {
  const m = newRuntimeMember(peerURLs, isLearner);
  const members = await addMember(h, m);
  return { member: { ID: m.id, name: '', peerURLs: m.peerURLs, clientURLs: [], isLearner: m.isLearner }, ...toPb(members) };
}

export async function memberRemove(h: ReconfigHost, id: bigint): Promise<PbMemberList> {
  return toPb(await removeMember(h, id));
}

export async function memberUpdate(h: ReconfigHost, id: bigint, peerURLs: string[]): Promise<PbMemberList> {
  return toPb(await updateMember(h, id, peerURLs));
}

export async function memberPromote(h: ReconfigHost, id: bigint, isStopping?: () => boolean): Promise<PbMemberList> {
  return toPb(await promoteMember(h, id, isStopping));
}
