// Leader-side snapshot handling (etcd-raft raft_snap_test.go): sending a snapshot sets the pending
// snapshot and pauses replication; MsgSnapStatus success/failure and a sufficient MsgAppResp end it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType } from '../../src/raft/raftpb/types.js';
import { ProgressStateType } from '../../src/raft/tracker/state.js';
import { bytes, entry, msg, newTestMemoryStorage, newTestRaft, testSnapshot, withPeers } from './raftTestUtil.js';
import type { Raft } from '../../src/raft/raft.js';

const testingSnap = () => testSnapshot(11, 11, [1n, 2n]);

/** A leader whose log starts with the snapshot at (11, 11), so index 12 is its empty entry. */
function leaderFromSnapshot(peers: bigint[]): Raft {
  const sm = newTestRaft(1n, 10, 1, newTestMemoryStorage(withPeers(...peers)));
  sm.becomeFollower(11, 0n);
  assert.ok(sm.restore(testingSnap()));
  sm.becomeCandidate();
  sm.becomeLeader();
  return sm;
}

test('sending a snapshot sets the pending snapshot', () => {
  const sm = leaderFromSnapshot([1n]);
  const pr2 = sm.trk.progress.get(2n)!;
  // Node 2 needs a snapshot: its next is the first index, and the probe below it is rejected.
  pr2.next = sm.raftLog.firstIndex();
  sm.step(msg({ from: 2n, to: 1n, type: MessageType.MsgAppResp, index: pr2.next - 1, reject: true }));
  assert.equal(pr2.pendingSnapshot, 11);
  assert.equal(pr2.state, ProgressStateType.StateSnapshot);
  const ms = sm.readMessages();
  assert.equal(ms.length, 1);
  assert.equal(ms[0].type, MessageType.MsgSnap);
  assert.equal(ms[0].snapshot!.metadata.index, 11);
});

test('a pending snapshot pauses replication', () => {
  const sm = leaderFromSnapshot([1n, 2n]);
  sm.trk.progress.get(2n)!.becomeSnapshot(11);
  sm.step(msg({ from: 1n, to: 1n, type: MessageType.MsgProp, entries: [entry({ data: bytes('somedata') })] }));
  assert.deepEqual(sm.readMessages(), []);
});

test('snapshot failure resets to probing from the old next, paused', () => {
  const sm = leaderFromSnapshot([1n, 2n]);
  const pr2 = sm.trk.progress.get(2n)!;
  pr2.next = 1;
  pr2.becomeSnapshot(11);
  sm.step(msg({ from: 2n, to: 1n, type: MessageType.MsgSnapStatus, reject: true }));
  assert.equal(pr2.pendingSnapshot, 0);
  assert.equal(pr2.next, 1);
  assert.equal(pr2.state, ProgressStateType.StateProbe);
  assert.ok(pr2.msgAppFlowPaused);
});

test('snapshot success probes from just after the snapshot, paused', () => {
  const sm = leaderFromSnapshot([1n, 2n]);
  const pr2 = sm.trk.progress.get(2n)!;
  pr2.next = 1;
  pr2.becomeSnapshot(11);
  sm.step(msg({ from: 2n, to: 1n, type: MessageType.MsgSnapStatus, reject: false }));
  assert.equal(pr2.pendingSnapshot, 0);
  assert.equal(pr2.next, 12);
  assert.ok(pr2.msgAppFlowPaused);
});

test('an ack at or past the pending snapshot aborts it and resumes replication', () => {
  const sm = leaderFromSnapshot([1n, 2n]);
  const pr2 = sm.trk.progress.get(2n)!;
  pr2.next = 1;
  pr2.becomeSnapshot(11);
  sm.step(msg({ from: 2n, to: 1n, type: MessageType.MsgAppResp, index: 11 }));
  assert.equal(pr2.pendingSnapshot, 0);
  assert.equal(pr2.state, ProgressStateType.StateReplicate);
  // The leader then sent its empty entry at 12 optimistically.
  assert.equal(pr2.next, 13);
  assert.equal(pr2.inflights.count(), 1);
});

test('a follower restores a snapshot, and ignores a stale one', () => {
  const sm = newTestRaft(1n, 10, 1, newTestMemoryStorage(withPeers(1n, 2n)));
  const s = testSnapshot(11, 11, [1n, 2n, 3n]);
  assert.ok(sm.restore(s));
  assert.equal(sm.raftLog.lastIndex(), 11);
  assert.equal(sm.raftLog.committed, 11);
  assert.deepEqual(sm.trk.voterNodes(), [1n, 2n, 3n]);
  assert.equal(sm.restore(s), false, 'the same snapshot again is ignored');
  // A snapshot that does not include this node is refused.
  assert.equal(sm.restore(testSnapshot(20, 11, [2n, 3n])), false);
  assert.equal(sm.raftLog.committed, 11);
});

test('MsgSnap on a follower replies with its new last index', () => {
  const sm = newTestRaft(1n, 10, 1, newTestMemoryStorage(withPeers(1n, 2n)));
  sm.becomeFollower(2, 2n);
  sm.step(msg({ from: 2n, to: 1n, term: 2, type: MessageType.MsgSnap, snapshot: testSnapshot(11, 2, [1n, 2n]) }));
  const ms = sm.readMessages();
  assert.equal(ms.length, 1);
  assert.equal(ms[0].type, MessageType.MsgAppResp);
  assert.equal(ms[0].index, 11);
  assert.equal(sm.raftLog.committed, 11);
});
