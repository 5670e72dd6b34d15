// The cluster membership (etcd's membership.RaftCluster): the members by ID, removed IDs, the
// cluster ID, persistence in the backend's members / members_removed buckets, the checks a conf
// change must pass before it is applied (ValidateConfigurationChange) and the quorum arithmetic
// --strict-reconfig-check uses (IsReadyToAdd/Remove/Promote).
import type { Backend } from '../../storage/backend/backend.js';
import { Bucket } from '../../storage/backend/buckets.js';
import { computeClusterId, computeMemberId } from './ids.js';
import { type Member, memberFromJson, memberToJson } from './member.js';

export class MembershipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MembershipError';
  }
}

export const ErrIDRemoved = new MembershipError('membership: ID removed');
export const ErrIDExists = new MembershipError('membership: ID exists');
export const ErrIDNotFound = new MembershipError('membership: ID not found');
export const ErrPeerURLexists = new MembershipError('membership: peerURL exists');
export const ErrMemberNotLearner = new MembershipError('membership: can only promote a learner member');
export const ErrTooManyLearners = new MembershipError('membership: too many learner members in cluster');

/** etcd 3.4 allows one learner at a time. */
export const MAX_LEARNERS = 1;

/** The conf change kinds membership distinguishes (raft's AddNode doubles as "promote"). */
export type MembershipChange =
  | { kind: 'add'; member: Member; asLearner: boolean }
  | { kind: 'promote'; id: bigint }
  | { kind: 'remove'; id: bigint }
  | { kind: 'update'; member: Member };

const memberKey = (id: bigint): Buffer => Buffer.from(id.toString(16));
const REMOVED = Buffer.from('removed');

const byId = (a: Member, b: Member): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class RaftCluster {
  clusterId: bigint;
  localId: bigint;
  private readonly members = new Map<bigint, Member>();
  private readonly removed = new Set<bigint>();
  private be: Backend | null = null;

  constructor(localId: bigint, clusterId: bigint) {
    this.localId = localId;
    this.clusterId = clusterId;
  }

  /**
   * The cluster described by --initial-cluster (name -> peer URLs) and the cluster token, with
   * member and cluster IDs derived as etcd derives them.
   */
  static fromInitialCluster(initial: Map<string, string[]>, token: string, localName: string): RaftCluster {
    const c = new RaftCluster(0n, 0n);
    for (const [name, urls] of initial) {
      const id = computeMemberId(urls, token);
      if (c.members.has(id)) throw new MembershipError(`member exists with identical ID ${id.toString(16)}`);
      if (id === 0n) throw new MembershipError('cannot use 0 as member ID');
      c.members.set(id, { id, name, peerURLs: [...urls].sort(), clientURLs: [], isLearner: false });
      if (name === localName) c.localId = id;
    }
    c.clusterId = computeClusterId([...c.members.keys()]);
    return c;
  }

  /** The membership stored in the backend (on restart). */
  static fromBackend(be: Backend, localId: bigint, clusterId: bigint): RaftCluster {
    const c = new RaftCluster(localId, clusterId);
    c.be = be;
    c.reload();
    return c;
  }

  setBackend(be: Backend): void {
    this.be = be;
  }

  /** Rereads members from the backend (after a snapshot replaced it). */
  reload(): void {
    if (this.be === null) return;
    const { members, removed } = this.readBackend(this.be);
    this.members.clear();
    this.removed.clear();
    for (const [id, m] of members) this.members.set(id, m);
    for (const id of removed) this.removed.add(id);
  }

  private readBackend(be: Backend): { members: Map<bigint, Member>; removed: Set<bigint> } {
    const members = new Map<bigint, Member>();
    const removed = new Set<bigint>();
    be.readTx.forEach(Bucket.Members, (_k, v) => {
      const m = memberFromJson(v.toString('utf8'));
      members.set(m.id, m);
    });
    be.readTx.forEach(Bucket.MembersRemoved, (k) => {
      removed.add(BigInt('0x' + k.toString('latin1')));
    });
    return { members, removed };
  }

  /**
   * etcd's ValidateClusterAndAssignIDs: this member's view from --initial-cluster must list the
   * same members, by peer URLs, as the running cluster; the running cluster's IDs (members added
   * at runtime have time-salted IDs), learner flags and cluster ID replace the derived ones.
   */
  assignIdsFrom(existing: Member[], clusterId: bigint, localName: string): void {
    const local = [...this.members.values()];
    if (existing.length !== local.length) throw new MembershipError('member count is unequal');
    const sameUrls = (a: string[], b: string[]): boolean => {
      const x = [...a].sort();
      const y = [...b].sort();
      return x.length === y.length && x.every((u, i) => u === y[i]);
    };
    const assigned: Member[] = [];
    for (const e of existing) {
      const l = local.find((m) => sameUrls(m.peerURLs, e.peerURLs));
      if (l === undefined) {
        throw new MembershipError(
          `PeerURLs: no match found for existing member (${e.id.toString(16)}, ${JSON.stringify(e.peerURLs)})`,
        );
      }
      assigned.push({ ...l, id: e.id, isLearner: e.isLearner });
    }
    this.members.clear();
    for (const m of assigned) {
      this.members.set(m.id, m);
      if (m.name === localName) this.localId = m.id;
    }
    this.clusterId = clusterId;
  }

  member(id: bigint): Member | undefined {
    return this.members.get(id);
  }

  memberByName(name: string): Member | undefined {
    for (const m of this.members.values()) if (m.name === name) return m;
    return undefined;
  }

  /** Members sorted by ID. */
  memberList(): Member[] {
    return [...this.members.values()].sort(byId);
  }

  /** Voting (non-learner) members sorted by ID. */
  votingMembers(): Member[] {
    return this.memberList().filter((m) => !m.isLearner);
  }

  memberIds(): bigint[] {
    return this.memberList().map((m) => m.id);
  }

  isIdRemoved(id: bigint): boolean {
    return this.removed.has(id);
  }

  /** Whether this member is a learner (false when it is not (yet) a known member). */
  isLocalMemberLearner(): boolean {
    return this.members.get(this.localId)?.isLearner ?? false;
  }

  /** Adds (or, for a known ID, refreshes) a member; persisted when `persist` (entry not yet applied). */
  addMember(m: Member, persist: boolean): void {
    const old = this.members.get(m.id);
    // Attributes published earlier survive a replayed AddNode.
    const merged: Member = old ? { ...m, name: m.name || old.name, clientURLs: m.clientURLs.length ? m.clientURLs : old.clientURLs } : m;
    this.members.set(m.id, merged);
    if (persist) this.save(merged);
  }

  removeMember(id: bigint, persist: boolean): void {
    this.members.delete(id);
    this.removed.add(id);
    if (persist && this.be !== null) {
      this.be.batchTx.delete(Bucket.Members, memberKey(id));
      this.be.batchTx.put(Bucket.MembersRemoved, memberKey(id), REMOVED);
    }
  }

  /** Makes a learner a voting member. */
  promoteMember(id: bigint, persist: boolean): void {
    const m = this.members.get(id);
    if (m === undefined) return;
    m.isLearner = false;
    if (persist) this.save(m);
  }

  updateAttributes(id: bigint, name: string, clientURLs: string[], persist: boolean): void {
    const m = this.members.get(id);
    if (m === undefined) return;
    m.name = name;
    m.clientURLs = clientURLs;
    if (persist) this.save(m);
  }

  updateRaftAttributes(id: bigint, peerURLs: string[], isLearner: boolean, persist: boolean): void {
    const m = this.members.get(id);
    if (m === undefined) return;
    m.peerURLs = peerURLs;
    m.isLearner = isLearner;
    if (persist) this.save(m);
  }

  private save(m: Member): void {
    this.be?.batchTx.put(Bucket.Members, memberKey(m.id), Buffer.from(memberToJson(m)));
  }

  /**
   * etcd's ValidateConfigurationChange, against the members as stored (the backend when there is
   * one: a joining member knows the cluster's members before their AddNode entries reach it).
   */
  validateConfigurationChange(ch: MembershipChange): Error | null {
    const stored = this.be !== null ? this.readBackend(this.be) : { members: this.members, removed: this.removed };
    const id = ch.kind === 'add' || ch.kind === 'update' ? ch.member.id : ch.id;
    if (stored.removed.has(id)) return ErrIDRemoved;
    const cur = stored.members.get(id);
    switch (ch.kind) {
      case 'promote':
        if (cur === undefined) return ErrIDNotFound;
        return cur.isLearner ? null : ErrMemberNotLearner;
      case 'add': {
        if (cur !== undefined) return ErrIDExists;
        const urls = new Set<string>();
        let learners = 0;
        for (const m of stored.members.values()) {
          for (const u of m.peerURLs) urls.add(u);
          if (m.isLearner) learners++;
        }
        for (const u of ch.member.peerURLs) if (urls.has(u)) return ErrPeerURLexists;
        if (ch.asLearner && ch.member.isLearner && learners + 1 > MAX_LEARNERS) return ErrTooManyLearners;
        return null;
      }
      case 'remove':
        return cur === undefined ? ErrIDNotFound : null;
      case 'update': {
        if (cur === undefined) return ErrIDNotFound;
        const urls = new Set<string>();
        for (const m of stored.members.values()) if (m.id !== id) for (const u of m.peerURLs) urls.add(u);
        for (const u of ch.member.peerURLs) if (urls.has(u)) return ErrPeerURLexists;
        return null;
      }
    }
  }

  /**
   * Whether a conf change replayed after a restart (its entry already in the backend, which
   * membership was loaded from) was accepted when first applied, judged from the outcome: an
   * added member is still here or was removed since; a promoted one is still here; a removed
   * one is gone. Rejected changes must reach raft as no-ops again, or its configuration would
   * differ from the one it had before the restart.
   */
  wasAccepted(ch: MembershipChange): boolean {
    switch (ch.kind) {
      case 'add':
        return this.members.has(ch.member.id) || this.removed.has(ch.member.id);
      case 'promote':
        return this.members.has(ch.id);
      case 'remove':
        return !this.members.has(ch.id);
      case 'update':
        return true; // raft does not change its configuration for UpdateNode
    }
  }

  /**
   * Adding a voting member keeps a quorum of started (published) voters, counting the new one
   * as not started; a one-member cluster may always grow to two (etcd's restore procedure).
   */
  isReadyToAddVotingMember(): boolean {
    let members = 1;
    let started = 0;
    for (const m of this.members.values()) {
      if (m.isLearner) continue;
      if (m.name !== '') started++;
      members++;
    }
    if (started === 1 && members === 2) return true;
    return started >= Math.floor(members / 2) + 1;
  }

  /** Removing voter `id` leaves a quorum of started voters among the rest. */
  isReadyToRemoveVotingMember(id: bigint): boolean {
    let members = 0;
    let started = 0;
    for (const m of this.members.values()) {
      if (m.isLearner || m.id === id) continue;
      if (m.name !== '') started++;
      members++;
    }
    return started >= Math.floor(members / 2) + 1;
  }

  /** Promoting a learner (counted as started) keeps a quorum of started voters. */
  isReadyToPromoteMember(_id: bigint): boolean {
    let members = 1;
    let started = 1;
    for (const m of this.members.values()) {
      if (m.isLearner) continue;
      if (m.name !== '') started++;
      members++;
    }
    return started >= Math.floor(members / 2) + 1;
  }
}

export { computeMemberId };
