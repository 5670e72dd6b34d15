// MsgApp flow control on the leader (etcd-raft raft_flow_control_test.go): the inflights window fills,
// pauses replication, slides forward on acks, and heartbeat responses let one empty append through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType } from '../../src/raft/raftpb/types.js';
import { bytes, entry, msg, newTestMemoryStorage, newTestRaft, withPeers } from './raftTestUtil.js';
import type { Raft } from '../../src/raft/raft.js';

function leaderWithReplicatingPeer(): Raft {
  const r = newTestRaft(1n, 5, 1, newTestMemoryStorage(withPeers(1n, 2n)));
  r.becomeCandidate();
  r.becomeLeader();
  // Force the follower into StateReplicate so appends are pipelined.
  r.trk.progress.get(2n)!.becomeReplicate();
  return r;
}

const propose = (r: Raft) =>
  r.step(msg({ from: 1n, to: 1n, type: MessageType.MsgProp, entries: [entry({ data: bytes('somedata') })] }));

test('msgApp fills the window until full, then nothing more is sent', () => {
  const r = leaderWithReplicatingPeer();
  const pr2 = r.trk.progress.get(2n)!;
  for (let i = 0; i < r.trk.maxInflight; i++) {
    propose(r);
    const ms = r.readMessages();
    assert.equal(ms.length, 1);
    assert.equal(ms[0].type, MessageType.MsgApp);
  }
  assert.ok(pr2.isPaused());
  for (let i = 0; i < 10; i++) {
    propose(r);
    assert.deepEqual(r.readMessages(), []);
  }
});

test('msgAppResp moves the window forward; stale acks do not', () => {
  const r = leaderWithReplicatingPeer();
  const pr2 = r.trk.progress.get(2n)!;
  for (let i = 0; i < r.trk.maxInflight; i++) {
    propose(r);
    r.readMessages();
  }
  // Index 1 is the leader's empty entry; the first proposal is at 2.
  for (let tt = 2; tt < r.trk.maxInflight; tt++) {
    r.step(msg({ from: 2n, to: 1n, type: MessageType.MsgAppResp, index: tt }));
    r.readMessages();

    propose(r);
    const ms = r.readMessages();
    assert.equal(ms.length, 1);
    assert.equal(ms[0].type, MessageType.MsgApp);
    assert.ok(pr2.isPaused());

    for (let i = 0; i < tt; i++) {
      r.step(msg({ from: 2n, to: 1n, type: MessageType.MsgAppResp, index: i }));
      assert.ok(pr2.isPaused(), `stale ack ${i} must not free the window`);
    }
  }
});

test('a heartbeat response lets one empty append through a full window', () => {
  const r = leaderWithReplicatingPeer();
  const pr2 = r.trk.progress.get(2n)!;
  for (let i = 0; i < r.trk.maxInflight; i++) {
    propose(r);
    r.readMessages();
  }
  for (let tt = 1; tt < 5; tt++) {
    for (let i = 0; i < tt; i++) {
      assert.ok(pr2.isPaused());
      // Unpauses, sends an empty MsgApp, and pauses again.
      r.step(msg({ from: 2n, to: 1n, type: MessageType.MsgHeartbeatResp }));
      const ms = r.readMessages();
      assert.equal(ms.length, 1);
      assert.equal(ms[0].type, MessageType.MsgApp);
      assert.equal(ms[0].entries.length, 0);
    }
    // No more appends without heartbeats.
    for (let i = 0; i < 10; i++) {
      assert.ok(pr2.isPaused());
      propose(r);
      assert.deepEqual(r.readMessages(), []);
    }
    r.step(msg({ from: 2n, to: 1n, type: MessageType.MsgHeartbeatResp }));
    r.readMessages();
  }
});
