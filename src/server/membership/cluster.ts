// The cluster membership (etcd's membership.RaftCluster): the members by ID, removed IDs, the
// cluster ID, persistence in the backend's members / members_removed buckets, and the checks a
// conf change must pass before it is applied.
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

const memberKey = (id: bigint): Buffer => Buffer.from(id.toString(16));
const REMOVED = Buffer.from('removed');

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
    this.members.clear();
    this.removed.clear();
    this.be.readTx.forEach(Bucket.Members, (_k, v) => {
      const m = memberFromJson(v.toString('utf8'));
      this.members.set(m.id, m);
    });
    this.be.readTx.forEach(Bucket.MembersRemoved, (k) => {
      this.removed.add(BigInt('0x' + k.toString('latin1')));
    });
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
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  memberIds(): bigint[] {
    return this.memberList().map((m) => m.id);
  }

  isIdRemoved(id: bigint): boolean {
    return this.removed.has(id);
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

  /** etcd's ValidateConfigurationChange for add / remove / update. */
  validateAdd(m: Member): Error | null {
    if (this.removed.has(m.id)) return ErrIDRemoved;
    if (this.members.has(m.id)) return ErrIDExists;
    const urls = new Set<string>();
    for (const x of this.members.values()) for (const u of x.peerURLs) urls.add(u);
    for (const u of m.peerURLs) if (urls.has(u)) return ErrPeerURLexists;
    return null;
  }

  validateRemove(id: bigint): Error | null {
    if (this.removed.has(id)) return ErrIDRemoved;
    if (!this.members.has(id)) return ErrIDNotFound;
    return null;
  }
}

export { computeMemberId };
