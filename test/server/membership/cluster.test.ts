// RaftCluster: validation of conf changes as etcd's ValidateConfigurationChange, the quorum
// arithmetic of --strict-reconfig-check, replay decisions, joining (ID assignment) and persistence.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { after, describe, test } from 'node:test';
import { Backend } from '../../../src/storage/backend/backend.js';
import {
  ErrIDExists,
  ErrIDNotFound,
  ErrIDRemoved,
  ErrMemberNotLearner,
  ErrPeerURLexists,
  ErrTooManyLearners,
  RaftCluster,
} from '../../../src/server/membership/cluster.js';
import type { Member } from '../../../src/server/membership/member.js';

const dirs: string[] = [];
const backends: Backend[] = [];
after(async () => {
  for (const b of backends) await b.close().catch(() => {});
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function backend(): Backend {
  const d = fs.mkdtempSync(os.tmpdir() + '/tsetcd-membership-');
  dirs.push(d);
  const be = Backend.open(d + '/db', { noSync: true });
  backends.push(be);
  return be;
}

const mem = (id: bigint, url: string, over: Partial<Member> = {}): Member => ({
  id,
  name: `n${id}`,
  peerURLs: [url],
  clientURLs: [],
  isLearner: false,
  ...over,
});

/** A cluster persisted in a backend with members 1 (a:1), 2 (a:2) and learner 3 (a:3); 9 was removed. */
function sample(): RaftCluster {
  const c = new RaftCluster(1n, 100n);
  c.setBackend(backend());
  c.addMember(mem(1n, 'http://a:1'), true);
  c.addMember(mem(2n, 'http://a:2'), true);
  c.addMember(mem(3n, 'http://a:3', { isLearner: true }), true);
  c.addMember(mem(9n, 'http://a:9'), true);
  c.removeMember(9n, true);
  return c;
}

describe('validateConfigurationChange', () => {
  const c = sample();

  test('add: removed ID, existing ID, peer URL in use, one learner at most', () => {
    assert.equal(c.validateConfigurationChange({ kind: 'add', member: mem(9n, 'http://b:9'), asLearner: false }), ErrIDRemoved);
    assert.equal(c.validateConfigurationChange({ kind: 'add', member: mem(2n, 'http://b:2'), asLearner: false }), ErrIDExists);
    assert.equal(c.validateConfigurationChange({ kind: 'add', member: mem(4n, 'http://a:2'), asLearner: false }), ErrPeerURLexists);
    const learner = mem(4n, 'http://b:4', { isLearner: true });
    assert.equal(c.validateConfigurationChange({ kind: 'add', member: learner, asLearner: true }), ErrTooManyLearners);
    assert.equal(c.validateConfigurationChange({ kind: 'add', member: mem(4n, 'http://b:4'), asLearner: false }), null);
  });

  test('promote: only an existing learner', () => {
    assert.equal(c.validateConfigurationChange({ kind: 'promote', id: 3n }), null);
    assert.equal(c.validateConfigurationChange({ kind: 'promote', id: 2n }), ErrMemberNotLearner);
    assert.equal(c.validateConfigurationChange({ kind: 'promote', id: 7n }), ErrIDNotFound);
    assert.equal(c.validateConfigurationChange({ kind: 'promote', id: 9n }), ErrIDRemoved);
  });

  test('remove and update: known members; update may keep its own URLs but not take others', () => {
    assert.equal(c.validateConfigurationChange({ kind: 'remove', id: 2n }), null);
    assert.equal(c.validateConfigurationChange({ kind: 'remove', id: 7n }), ErrIDNotFound);
    assert.equal(c.validateConfigurationChange({ kind: 'remove', id: 9n }), ErrIDRemoved);
    assert.equal(c.validateConfigurationChange({ kind: 'update', member: mem(2n, 'http://a:2') }), null);
    assert.equal(c.validateConfigurationChange({ kind: 'update', member: mem(2n, 'http://a:1') }), ErrPeerURLexists);
    assert.equal(c.validateConfigurationChange({ kind: 'update', member: mem(7n, 'http://b:7') }), ErrIDNotFound);
  });

  test('validates against the stored members, not what a joining member was told', () => {
    const j = new RaftCluster(5n, 100n);
    j.addMember(mem(1n, 'http://a:1'), false); // known from the peers, not yet applied
    j.setBackend(backend());
    assert.equal(j.validateConfigurationChange({ kind: 'add', member: mem(1n, 'http://a:1'), asLearner: false }), null);
  });
});

describe('strict reconfig quorum arithmetic', () => {
  const named = (id: bigint, started: boolean, learner = false): Member => mem(id, `http://q:${id}`, { name: started ? `n${id}` : '', isLearner: learner });

  function cluster(...ms: Member[]): RaftCluster {
    const c = new RaftCluster(1n, 1n);
    for (const m of ms) c.addMember(m, false);
    return c;
  }

  test('adding a voter needs a quorum of started voters counting the new one', () => {
    assert.equal(cluster(named(1n, true)).isReadyToAddVotingMember(), true); // 1 -> 2 is always allowed
    assert.equal(cluster(named(1n, true), named(2n, false)).isReadyToAddVotingMember(), false); // 1 of 3
    assert.equal(cluster(named(1n, true), named(2n, true)).isReadyToAddVotingMember(), true); // 2 of 3
    assert.equal(cluster(named(1n, true), named(2n, true), named(3n, false)).isReadyToAddVotingMember(), false); // 2 of 4
    // Learners are not counted.
    assert.equal(cluster(named(1n, true), named(2n, true), named(3n, false, true)).isReadyToAddVotingMember(), true);
  });

  test('removing a voter leaves a quorum of started voters', () => {
    const c = cluster(named(1n, true), named(2n, true), named(3n, false));
    assert.equal(c.isReadyToRemoveVotingMember(3n), true); // 2 of 2
    assert.equal(c.isReadyToRemoveVotingMember(2n), false); // 1 of 2
    assert.equal(cluster(named(1n, true), named(2n, true), named(3n, true)).isReadyToRemoveVotingMember(2n), true);
  });

  test('promoting counts the learner as a started voter', () => {
    assert.equal(cluster(named(1n, true), named(3n, true, true)).isReadyToPromoteMember(3n), true); // 2 of 2
    assert.equal(cluster(named(1n, true), named(2n, false), named(3n, true, true)).isReadyToPromoteMember(3n), true); // 2 of 3
    assert.equal(
      cluster(named(1n, true), named(2n, false), named(4n, false), named(3n, true, true)).isReadyToPromoteMember(3n),
      false, // 2 of 4
    );
  });
});

test('wasAccepted judges replayed changes by their outcome', () => {
  const c = sample();
  assert.equal(c.wasAccepted({ kind: 'add', member: mem(2n, 'http://a:2'), asLearner: false }), true);
  assert.equal(c.wasAccepted({ kind: 'add', member: mem(9n, 'http://a:9'), asLearner: false }), true); // added, removed later
  assert.equal(c.wasAccepted({ kind: 'add', member: mem(8n, 'http://a:1'), asLearner: false }), false);
  assert.equal(c.wasAccepted({ kind: 'promote', id: 3n }), true);
  assert.equal(c.wasAccepted({ kind: 'promote', id: 8n }), false);
  assert.equal(c.wasAccepted({ kind: 'remove', id: 9n }), true);
  assert.equal(c.wasAccepted({ kind: 'remove', id: 2n }), false);
});

test('changes persist in the backend and survive a reload', () => {
  const c = sample();
  c.promoteMember(3n, true);
  c.updateRaftAttributes(2n, ['http://z:2'], false, true);
  const be = backends[backends.length - 1];
  const r = RaftCluster.fromBackend(be, 1n, 100n);
  assert.deepEqual(
    r.memberList().map((m) => [m.id, m.peerURLs, m.isLearner]),
    [
      [1n, ['http://a:1'], false],
      [2n, ['http://z:2'], false],
      [3n, ['http://a:3'], false],
    ],
  );
  assert.equal(r.isIdRemoved(9n), true);
  assert.deepEqual(r.votingMembers().map((m) => m.id), [1n, 2n, 3n]);
});

test('assignIdsFrom takes the running cluster IDs, learner flags and cluster ID by peer URLs', () => {
  const initial = new Map([
    ['m0', ['http://h:1']],
    ['m1', ['http://h:2']],
  ]);
  const c = RaftCluster.fromInitialCluster(initial, 'tok', 'm1');
  c.assignIdsFrom(
    [
      { id: 0xaan, name: 'm0', peerURLs: ['http://h:1'], clientURLs: ['http://c:1'], isLearner: false },
      { id: 0xbbn, name: '', peerURLs: ['http://h:2'], clientURLs: [], isLearner: true },
    ],
    0xccn,
    'm1',
  );
  assert.equal(c.clusterId, 0xccn);
  assert.equal(c.localId, 0xbbn);
  assert.deepEqual(
    c.memberList().map((m) => [m.id, m.name, m.isLearner]),
    [
      [0xaan, 'm0', false],
      [0xbbn, 'm1', true],
    ],
  );
  assert.equal(c.isLocalMemberLearner(), true);

  const d = RaftCluster.fromInitialCluster(initial, 'tok', 'm1');
  assert.throws(() => d.assignIdsFrom([{ id: 1n, name: '', peerURLs: ['http://h:1'], clientURLs: [], isLearner: false }], 1n, 'm1'), /member count is unequal/);
  assert.throws(
    () =>
      d.assignIdsFrom(
        [
          { id: 1n, name: '', peerURLs: ['http://h:1'], clientURLs: [], isLearner: false },
          { id: 2n, name: '', peerURLs: ['http://h:3'], clientURLs: [], isLearner: false },
        ],
        1n,
        'm1',
      ),
    /PeerURLs: no match found for existing member \(2/,
  );
});
