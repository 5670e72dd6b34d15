// Applying a committed membership conf change (etcd's EtcdServer.applyConfChange): validate it
// against the stored membership, hand it to raft (with node ID None when rejected, so raft's
// pending-conf-change slot is released without changing the configuration), update the
// membership and the peer transport. AddNode doubles as "promote a learner" (isPromote context).
import { ConfChangeType, None, type ConfChange, type ConfState } from '../../raft/index.js';
import type { ServerLogger } from '../config.js';
import type { MembershipChange, RaftCluster } from './cluster.js';
import { isPromoteContext, memberFromJson } from './member.js';

/** The peer transport as membership changes drive it. */
export interface PeerSet {
  addPeer(id: bigint, urls: string[]): void;
  removePeer(id: bigint): Promise<void>;
  updatePeer(id: bigint, urls: string[]): void;
  hasPeer(id: bigint): boolean;
}

export interface ConfChangeDeps {
  readonly id: bigint;
  readonly cluster: RaftCluster;
  readonly transport: PeerSet | null;
  readonly lg: ServerLogger;
  /** raft's ApplyConfChange. */
  applyToRaft(cc: ConfChange): ConfState;
}

export interface ConfChangeOutcome {
  confState: ConfState;
  /** Why the change was rejected (the proposer's error), or null. */
  err: Error | null;
  /** This member was removed: the server must stop. */
  removedSelf: boolean;
}

/** What a conf change entry means to the membership. */
export function membershipChangeOf(cc: ConfChange): MembershipChange {
  const ctx = cc.context.length !== 0 ? Buffer.from(cc.context).toString('utf8') : '';
  switch (cc.type) {
    case ConfChangeType.ConfChangeAddNode:
    case ConfChangeType.ConfChangeAddLearnerNode:
      if (isPromoteContext(ctx)) return { kind: 'promote', id: cc.nodeId };
      return { kind: 'add', member: memberFromJson(ctx), asLearner: cc.type === ConfChangeType.ConfChangeAddLearnerNode };
    case ConfChangeType.ConfChangeRemoveNode:
      return { kind: 'remove', id: cc.nodeId };
    default:
      if (ctx !== '') return { kind: 'update', member: memberFromJson(ctx) };
      return { kind: 'update', member: { id: cc.nodeId, name: '', peerURLs: [], clientURLs: [], isLearner: false } };
  }
}

/**
 * Applies one conf change entry. `shouldApply` is false for entries the backend already holds
 * (replayed after a restart): membership, loaded from the backend, has them already, so only
 * raft learns them again, as it first did (see RaftCluster.wasAccepted).
 */
export function applyMembershipConfChange(d: ConfChangeDeps, cc: ConfChange, shouldApply: boolean): ConfChangeOutcome {
  const ch = membershipChangeOf(cc);
  if (!shouldApply) return replay(d, cc, ch);
  const err = d.cluster.validateConfigurationChange(ch);
  if (err !== null) {
    d.lg.warn({ 'raft-conf-change-node-id': cc.nodeId.toString(16), error: err.message }, 'rejected conf change');
    return { confState: d.applyToRaft({ ...cc, nodeId: None }), err, removedSelf: false };
  }
  const confState = d.applyToRaft(cc);
  const fields = { 'cluster-id': d.cluster.clusterId.toString(16), 'local-member-id': d.id.toString(16) };
  let removedSelf = false;
  switch (ch.kind) {
    case 'promote':
      d.cluster.promoteMember(ch.id, shouldApply);
      d.lg.info({ ...fields, 'promoted-member-id': ch.id.toString(16) }, 'promote member');
      break;
    case 'add': {
      const m = ch.member;
      d.cluster.addMember(m, shouldApply);
      d.lg.info(
        { ...fields, 'added-peer-id': m.id.toString(16), 'added-peer-peer-urls': m.peerURLs, 'added-peer-is-learner': m.isLearner },
        'added member',
      );
      if (m.id !== d.id && d.transport !== null && !d.transport.hasPeer(m.id)) d.transport.addPeer(m.id, m.peerURLs);
      break;
    }
    case 'remove':
      d.cluster.removeMember(ch.id, shouldApply);
      d.lg.info({ ...fields, 'removed-remote-peer-id': ch.id.toString(16) }, 'removed member');
      if (ch.id === d.id) removedSelf = true;
      else if (d.transport !== null) void d.transport.removePeer(ch.id);
      break;
    case 'update': {
      const m = ch.member;
      // The learner flag is raft's to change (promote); an update only moves peer URLs.
      const isLearner = d.cluster.member(m.id)?.isLearner ?? false;
      d.cluster.updateRaftAttributes(m.id, m.peerURLs, isLearner, shouldApply);
      d.lg.info({ ...fields, 'updated-remote-peer-id': m.id.toString(16), 'updated-remote-peer-urls': m.peerURLs }, 'updated member');
      if (m.id !== d.id) d.transport?.updatePeer(m.id, m.peerURLs);
      break;
    }
  }
  return { confState, err: null, removedSelf };
}

function replay(d: ConfChangeDeps, cc: ConfChange, ch: MembershipChange): ConfChangeOutcome {
  if (!d.cluster.wasAccepted(ch)) return { confState: d.applyToRaft({ ...cc, nodeId: None }), err: null, removedSelf: false };
  return { confState: d.applyToRaft(cc), err: null, removedSelf: ch.kind === 'remove' && ch.id === d.id };
}
