// Applying membership conf changes: what raft, the membership and the peer transport see for
// accepted, rejected and replayed changes; the promote context's JSON.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfChangeType, None, type ConfChange, type ConfState } from '../../../src/raft/index.js';
import { silentLogger } from '../../../src/server/config.js';
import { RaftCluster, ErrPeerURLexists, ErrMemberNotLearner } from '../../../src/server/membership/cluster.js';
import { applyMembershipConfChange, membershipChangeOf, type PeerSet } from '../../../src/server/membership/confChange.js';
import {
  isPromoteContext,
  memberFromJson,
  memberToJson,
  membersFromJsonArray,
  promoteContextJson,
  type Member,
} from '../../../src/server/membership/member.js';

const cs: ConfState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

function harness(localId = 1n) {
  const cluster = new RaftCluster(localId, 7n);
  const toRaft: ConfChange[] = [];
  const calls: string[] = [];
  const peers = new Set<bigint>();
  const transport: PeerSet = {
    addPeer: (id, urls) => {
      peers.add(id);
      calls.push(`add ${id} ${urls.join(',')}`);
    },
    removePeer: async (id) => {
      peers.delete(id);
      calls.push(`remove ${id}`);
    },
    updatePeer: (id, urls) => calls.push(`update ${id} ${urls.join(',')}`),
    hasPeer: (id) => peers.has(id),
  };
  const deps = { id: localId, cluster, transport, lg: silentLogger, applyToRaft: (c: ConfChange) => (toRaft.push(c), cs) };
  return { cluster, toRaft, calls, deps };
}

const member = (id: bigint, url: string, isLearner = false): Member => ({ id, name: '', peerURLs: [url], clientURLs: [], isLearner });
const cc = (type: ConfChangeType, nodeId: bigint, context: string | null): ConfChange => ({
  type,
  nodeId,
  context: context === null ? new Uint8Array(0) : Buffer.from(context),
  id: 0n,
});

test('promote context: etcd ConfigChangeContext JSON, told apart from an add', () => {
  const j = promoteContextJson(0xde1909b20527b7b5n);
  assert.equal(j, '{"id":16003833411033085877,"peerURLs":null,"isPromote":true}');
  assert.equal(isPromoteContext(j), true);
  assert.equal(isPromoteContext(memberToJson(member(5n, 'http://a:1', true))), false);
  assert.deepEqual(memberFromJson(j), { id: 0xde1909b20527b7b5n, name: '', peerURLs: [], clientURLs: [], isLearner: false });
  assert.deepEqual(membershipChangeOf(cc(ConfChangeType.ConfChangeAddNode, 5n, j)), { kind: 'promote', id: 5n });
});

test('a /members array keeps 64-bit IDs exact', () => {
  const text = '[{"id":16003833411033085877,"peerURLs":["http://a:1"],"isLearner":true},{"id":1,"peerURLs":[],"name":"x","clientURLs":["http://c:1"]}]\n';
  assert.deepEqual(membersFromJsonArray(text), [
    { id: 16003833411033085877n, name: '', peerURLs: ['http://a:1'], clientURLs: [], isLearner: true },
    { id: 1n, name: 'x', peerURLs: [], clientURLs: ['http://c:1'], isLearner: false },
  ]);
  assert.deepEqual(membersFromJsonArray('[]'), []);
});

test('add, learner add, promote, update, remove of a peer', () => {
  const h = harness();
  const add = (m: Member, type = ConfChangeType.ConfChangeAddNode) =>
    applyMembershipConfChange(h.deps, cc(type, m.id, memberToJson(m)), true);
  assert.equal(add(member(1n, 'http://a:1')).err, null);
  assert.equal(add(member(2n, 'http://a:2')).err, null);
  assert.equal(add(member(3n, 'http://a:3', true), ConfChangeType.ConfChangeAddLearnerNode).err, null);
  assert.deepEqual(h.calls, ['add 2 http://a:2', 'add 3 http://a:3']); // never itself
  assert.equal(h.cluster.member(3n)?.isLearner, true);

  let out = applyMembershipConfChange(h.deps, cc(ConfChangeType.ConfChangeUpdateNode, 3n, memberToJson(member(3n, 'http://b:3'))), true);
  assert.equal(out.err, null);
  assert.deepEqual(h.cluster.member(3n)?.peerURLs, ['http://b:3']);
  assert.equal(h.cluster.member(3n)?.isLearner, true, 'an update does not touch the learner flag');

  out = applyMembershipConfChange(h.deps, cc(ConfChangeType.ConfChangeAddNode, 3n, promoteContextJson(3n)), true);
  assert.equal(out.err, null);
  assert.equal(h.cluster.member(3n)?.isLearner, false);

  out = applyMembershipConfChange(h.deps, cc(ConfChangeType.ConfChangeRemoveNode, 2n, null), true);
  assert.deepEqual([out.err, out.removedSelf], [null, false]);
  assert.deepEqual(h.calls.slice(2), ['update 3 http://b:3', 'remove 2']);
  assert.deepEqual(h.toRaft.map((c) => c.nodeId), [1n, 2n, 3n, 3n, 3n, 2n]);
  assert.equal(h.cluster.isIdRemoved(2n), true);
});

test('a rejected change reaches raft with node ID None and changes nothing else', () => {
  const h = harness();
  applyMembershipConfChange(h.deps, cc(ConfChangeType.ConfChangeAddNode, 1n, memberToJson(member(1n, 'http://a:1'))), true);
  const before = h.cluster.memberList();
  let out = applyMembershipConfChange(h.deps, cc(ConfChangeType.ConfChangeAddNode, 4n, memberToJson(member(4n, 'http://a:1'))), true);
  assert.equal(out.err, ErrPeerURLexists);
  assert.equal(h.toRaft[h.toRaft.length - 1].nodeId, None);
  out = applyMembershipConfChange(h.deps, cc(ConfChangeType.ConfChangeAddNode, 1n, promoteContextJson(1n)), true);
  assert.equal(out.err, ErrMemberNotLearner);
  assert.equal(h.toRaft[h.toRaft.length - 1].nodeId, None);
  assert.deepEqual(h.cluster.memberList(), before);
  assert.deepEqual(h.calls, []);
});

test('removing this member asks the server to stop', () => {
  const h = harness(1n);
  applyMembershipConfChange(h.deps, cc(ConfChangeType.ConfChangeAddNode, 1n, memberToJson(member(1n, 'http://a:1'))), true);
  const out = applyMembershipConfChange(h.deps, cc(ConfChangeType.ConfChangeRemoveNode, 1n, null), true);
  assert.equal(out.removedSelf, true);
  assert.deepEqual(h.calls, []);
});

test('replayed entries leave membership alone and repeat raft\'s earlier decision', () => {
  // The backend (and so membership) already has: 1 and 2; 5 was removed.
  const h = harness(1n);
  h.cluster.addMember(member(1n, 'http://a:1'), false);
  h.cluster.addMember(member(2n, 'http://a:2'), false);
  h.cluster.addMember(member(5n, 'http://a:5'), false);
  h.cluster.removeMember(5n, false);
  const before = h.cluster.memberList();
  const replay = (c: ConfChange) => applyMembershipConfChange(h.deps, c, false);
  replay(cc(ConfChangeType.ConfChangeAddNode, 2n, memberToJson(member(2n, 'http://a:2'))));
  replay(cc(ConfChangeType.ConfChangeAddNode, 5n, memberToJson(member(5n, 'http://a:5'))));
  replay(cc(ConfChangeType.ConfChangeAddNode, 6n, memberToJson(member(6n, 'http://a:1')))); // was rejected
  replay(cc(ConfChangeType.ConfChangeAddNode, 7n, promoteContextJson(7n))); // 7 never was a member
  replay(cc(ConfChangeType.ConfChangeRemoveNode, 5n, null));
  replay(cc(ConfChangeType.ConfChangeRemoveNode, 2n, null)); // 2 is still here: that remove failed
  assert.deepEqual(h.toRaft.map((c) => c.nodeId), [2n, 5n, None, None, 5n, None]);
  assert.deepEqual(h.cluster.memberList(), before);
  assert.equal(applyMembershipConfChange(h.deps, cc(ConfChangeType.ConfChangeRemoveNode, 1n, null), false).removedSelf, false);
  h.cluster.removeMember(1n, false);
  assert.equal(applyMembershipConfChange(h.deps, cc(ConfChangeType.ConfChangeRemoveNode, 1n, null), false).removedSelf, true);
});
