// The Raft state machine (ports the important cases of etcd-raft raft_test.go): progress and flow
// control, elections with PreVote and CheckQuorum, replication and commitment, ReadIndex, snapshots
// and restore, configuration changes, and leadership transfer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfChangeTransition,
  ConfChangeType,
  EMPTY_BYTES,
  EntryType,
  MessageType,
  None,
  confChangeAsV2,
  type ConfChange,
  type ConfChangeV2,
  type Entry,
  type Message,
  type NodeId,
} from '../../src/raft/raftpb/types.js';
import { encodeConfChange, encodeConfChangeV2 } from '../../src/raft/raftpb/codec.js';
import { StateType } from '../../src/raft/ready.js';
import {
  Raft,
  newRaft,
  stepCandidate,
  stepFollower,
  stepLeader,
  validateConfig,
  type Config,
} from '../../src/raft/raft.js';
import { ReadOnly, ReadOnlyOption } from '../../src/raft/readOnly.js';
import { ErrProposalDropped } from '../../src/raft/errors.js';
import { ProgressStateType } from '../../src/raft/tracker/state.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { newLog } from '../../src/raft/log.js';
import { payloadSize, payloadsSize, voteRespMsgType } from '../../src/raft/util.js';
import {
  BlackHole,
  bytes,
  entry,
  entsWithConfig,
  idsBySize,
  indexTerms,
  msg,
  mustAppendEntry,
  newNetwork,
  newNetworkWithConfig,
  newTestConfig,
  newTestLearnerRaft,
  newTestMemoryStorage,
  newTestRaft,
  nextEnts,
  nopStepper,
  preVoteConfig,
  testLogger,
  testSnapshot,
  votedWithConfig,
  withLearners,
  withPeers,
  type Network,
  type StateMachine,
} from './raftTestUtil.js';

const S = StateType;
const M = MessageType;

const hup = (id: NodeId) => msg({ from: id, to: id, type: M.MsgHup });
const beat = (id: NodeId) => msg({ from: id, to: id, type: M.MsgBeat });
const prop = (id: NodeId, data = 'somedata', to: NodeId = id) =>
  msg({ from: id, to, type: M.MsgProp, entries: [entry({ data: bytes(data) })] });
const emptyProp = (id: NodeId) => msg({ from: id, to: id, type: M.MsgProp, entries: [entry({})] });
const transfer = (from: NodeId, to: NodeId) => msg({ from, to, type: M.MsgTransferLeader });

const cc = (type: ConfChangeType, nodeId: NodeId): ConfChange => ({ type, nodeId, context: EMPTY_BYTES, id: 0n });
const ccV2 = (type: ConfChangeType, nodeId: NodeId): ConfChangeV2 => confChangeAsV2(cc(type, nodeId));

const setRandomizedElectionTimeout = (r: Raft, v: number) => {
  r.randomizedElectionTimeout = v;
};

const peers = (...ids: number[]) => newTestMemoryStorage(withPeers(...ids.map(BigInt)));
const three = () => peers(1, 2, 3);

// Reads the state without the narrowing left behind by earlier assertions.
const stateOf = (r: Raft): StateType => r.state;

function raftOf(nt: Network, id: number): Raft {
  return nt.peers.get(BigInt(id)) as Raft;
}

/** (term, index, data) of every entry, for log comparisons. */
const tid = (ents: Entry[]) => ents.map((e) => [e.term, e.index, Buffer.from(e.data).toString()]);

/** Asserts committed index and all entries of every Raft peer in the network. */
function assertLogs(nt: Network, committed: number, ents: Entry[], label: string): void {
  for (const [id, p] of nt.peers) {
    if (!(p instanceof Raft)) continue;
    assert.equal(p.raftLog.committed, committed, `${label} peer ${id} committed`);
    assert.deepEqual(tid(p.raftLog.allEntries()), tid(ents), `${label} peer ${id} entries`);
  }
}

function checkLeaderTransferState(r: Raft, state: StateType, lead: NodeId): void {
  assert.equal(r.state, state);
  assert.equal(r.lead, lead);
  assert.equal(r.leadTransferee, None);
}

function expectOneMessage(r: Raft): Message {
  const ms = r.readMessages();
  assert.equal(ms.length, 1, 'expect one message');
  return ms[0];
}

function setStep(r: Raft, state: StateType): void {
  r.state = state;
  r.stepFn = state === S.StateFollower ? stepFollower : state === S.StateLeader ? stepLeader : stepCandidate;
}

/** A Raft over a log holding the given entries (index 0 is the dummy). */
function logWith(r: Raft, ents: Entry[]): void {
  const st = new MemoryStorage();
  st.append(ents);
  r.raftLog = newLog(st, testLogger);
}

// ---------------------------------------------------------------------------------------------
// Progress and flow control

test('progress: the leader self-acks its appended entries', () => {
  const r = newTestRaft(1n, 5, 1, peers(1, 2));
  r.becomeCandidate();
  r.becomeLeader();
  r.trk.progress.get(2n)!.becomeReplicate();
  for (let i = 0; i < 5; i++) assert.equal(r.step(prop(1n, 'foo')), null);
  assert.equal(r.trk.progress.get(1n)!.match, 0);
  const ents = r.raftLog.nextUnstableEnts();
  assert.equal(ents.length, 6);
  assert.equal(ents[0].data.length, 0);
  assert.equal(Buffer.from(ents[5].data).toString(), 'foo');
  r.advanceMessagesAfterAppend();
  assert.equal(r.trk.progress.get(1n)!.match, 6);
  assert.equal(r.trk.progress.get(1n)!.next, 7);
});

test('progress: a heartbeat response resumes a paused probe', () => {
  const r = newTestRaft(1n, 5, 1, peers(1, 2));
  r.becomeCandidate();
  r.becomeLeader();
  const pr2 = r.trk.progress.get(2n)!;
  pr2.msgAppFlowPaused = true;
  r.step(beat(1n));
  assert.ok(pr2.msgAppFlowPaused, 'a heartbeat alone does not resume');
  pr2.becomeReplicate();
  assert.equal(pr2.msgAppFlowPaused, false);
  pr2.msgAppFlowPaused = true;
  r.step(msg({ from: 2n, to: 1n, type: M.MsgHeartbeatResp }));
  // The response resumed the flow; the append it triggered leaves a window with room.
  assert.equal(pr2.msgAppFlowPaused, false);
  const ms = r.readMessages().filter((m) => m.type === M.MsgApp);
  assert.equal(ms.length, 1);
});

test('progress: a probing follower gets one append at a time', () => {
  const r = newTestRaft(1n, 5, 1, peers(1, 2));
  r.becomeCandidate();
  r.becomeLeader();
  for (let i = 0; i < 3; i++) r.step(prop(1n));
  assert.equal(r.readMessages().length, 1);
});

test('progress: flow control bounds in-flight messages and bytes', () => {
  const c = newTestConfig(1n, 5, 1, peers(1, 2));
  c.maxInflightMsgs = 3;
  c.maxSizePerMsg = 2048;
  c.maxInflightBytes = 9000; // a little over maxInflightMsgs * maxSizePerMsg
  const r = newRaft(c);
  r.becomeCandidate();
  r.becomeLeader();
  r.readMessages();
  r.trk.progress.get(2n)!.becomeProbe();
  const blob = 'a'.repeat(1000);
  const large = 'b'.repeat(5000);
  for (let i = 0; i < 22; i++) r.step(prop(1n, i >= 10 && i < 16 ? large : blob));

  let ms = r.readMessages();
  // Probe state: the empty entry plus the first proposal, in one message.
  assert.equal(ms.length, 1);
  assert.equal(ms[0].type, M.MsgApp);
  assert.equal(ms[0].entries.length, 2);
  assert.equal(ms[0].entries[0].data.length, 0);
  assert.equal(ms[0].entries[1].data.length, 1000);

  const ackAndVerify = (index: number, ...expEntries: number[]): number => {
    r.step(msg({ from: 2n, to: 1n, type: M.MsgAppResp, index }));
    ms = r.readMessages();
    assert.deepEqual(
      ms.map((m) => m.entries.length),
      expEntries,
    );
    for (const m of ms) assert.equal(m.type, M.MsgApp);
    const last = ms[ms.length - 1].entries;
    return last.length === 0 ? index : last[last.length - 1].index;
  };
  // Acked: replicate state, several messages at once.
  let index = ackAndVerify(ms[0].entries[1].index, 2, 2, 2);
  // The third message has a single large entry.
  index = ackAndVerify(index, 2, 1, 1);
  // One large entry each, capped at 2 messages by maxInflightBytes.
  index = ackAndVerify(index, 1, 1);
  index = ackAndVerify(index, 1, 1);
  // Small messages again.
  index = ackAndVerify(index, 1, 2, 2);
  ackAndVerify(index, 2);
});

test('uncommitted entry size limit drops proposals, but never empty ones', () => {
  const maxEntries = 1024;
  const testEntry = () => entry({ data: bytes('testdata') });
  const maxEntrySize = maxEntries * payloadSize(testEntry());
  assert.equal(payloadSize(entry({})), 0);

  const c = newTestConfig(1n, 5, 1, three());
  c.maxUncommittedEntriesSize = maxEntrySize;
  c.maxInflightMsgs = 2 * 1024;
  const r = newRaft(c);
  r.becomeCandidate();
  r.becomeLeader();
  assert.equal(r.uncommittedSize, 0);
  const numFollowers = 2;
  r.trk.progress.get(2n)!.becomeReplicate();
  r.trk.progress.get(3n)!.becomeReplicate();
  r.uncommittedSize = 0;

  const propMsg = () => msg({ from: 1n, to: 1n, type: M.MsgProp, entries: [testEntry()] });
  const propEnts: Entry[] = [];
  for (let i = 0; i < maxEntries; i++) {
    assert.equal(r.step(propMsg()), null, `#${i}`);
    propEnts.push(testEntry());
  }
  assert.equal(r.step(propMsg()), ErrProposalDropped);

  let ms = r.readMessages();
  assert.equal(ms.length, maxEntries * numFollowers);
  r.reduceUncommittedSize(payloadsSize(propEnts));
  assert.equal(r.uncommittedSize, 0);

  // A large proposal is accepted when we were below the limit before it.
  const large: Entry[] = [];
  for (let i = 0; i < 2 * maxEntries; i++) large.push(testEntry());
  assert.equal(r.step(msg({ from: 1n, to: 1n, type: M.MsgProp, entries: large })), null);
  assert.equal(r.step(propMsg()), ErrProposalDropped);
  // Empty entries are always accepted.
  assert.equal(r.step(msg({ from: 1n, to: 1n, type: M.MsgProp, entries: [entry({})] })), null);
  ms = r.readMessages();
  assert.equal(ms.length, 2 * numFollowers);
  r.reduceUncommittedSize(payloadsSize(large));
  assert.equal(r.uncommittedSize, 0);
});

// ---------------------------------------------------------------------------------------------
// Elections

for (const preVote of [false, true]) {
  const cfg = preVote ? preVoteConfig : null;
  const name = preVote ? ' (prevote)' : '';

  test(`leader election outcomes${name}`, () => {
    // A pre-candidate that cannot win stays pre-candidate without a new term.
    const candState = preVote ? S.StatePreCandidate : S.StateCandidate;
    const candTerm = preVote ? 0 : 1;
    const cases: [StateMachine | null, ...(StateMachine | null)[]][] = [];
    const expect: [StateType, number][] = [];
    const add = (state: StateType, term: number, ...ps: (StateMachine | null)[]) => {
      cases.push(ps as [StateMachine | null, ...(StateMachine | null)[]]);
      expect.push([state, term]);
    };
    add(S.StateLeader, 1, null, null, null);
    add(S.StateLeader, 1, null, null, nopStepper);
    add(candState, candTerm, null, nopStepper, nopStepper);
    add(candState, candTerm, null, nopStepper, nopStepper, null);
    add(S.StateLeader, 1, null, nopStepper, nopStepper, null, null);
    // Logs further along in the same term: rejections instead of ignored votes.
    add(S.StateFollower, 1, null, entsWithConfig(cfg, 1), entsWithConfig(cfg, 1), entsWithConfig(cfg, 1, 1), null);
    cases.forEach((ps, i) => {
      const nt = newNetworkWithConfig(cfg, ...ps);
      nt.send(hup(1n));
      const sm = raftOf(nt, 1);
      assert.equal(sm.state, expect[i][0], `#${i}`);
      assert.equal(sm.term, expect[i][1], `#${i}`);
    });
  });

  test(`each node can campaign and win in turn${name}`, () => {
    const n = newNetworkWithConfig(cfg, null, null, null);
    for (let campaigner = 1; campaigner <= 3; campaigner++) {
      n.send(hup(BigInt(campaigner)));
      for (const [id, p] of n.peers) {
        const sm = p as Raft;
        assert.equal(sm.state, id === BigInt(campaigner) ? S.StateLeader : S.StateFollower, `c${campaigner} n${id}`);
      }
    }
  });

  test(`a new leader overwrites newer uncommitted entries${name}`, () => {
    // 1 won term 1 and replicated to 2; 3 won term 2 and wrote an entry nobody saw; 4 and 5
    // voted for 3 in term 2.
    const n = newNetworkWithConfig(
      cfg,
      entsWithConfig(cfg, 1),
      entsWithConfig(cfg, 1),
      entsWithConfig(cfg, 2),
      votedWithConfig(cfg, 3n, 2),
      votedWithConfig(cfg, 3n, 2),
    );
    // The first campaign fails (a quorum knows term 2) but pushes 1 to term 2.
    n.send(hup(1n));
    const sm1 = raftOf(n, 1);
    assert.equal(sm1.state, S.StateFollower);
    assert.equal(sm1.term, 2);
    n.send(hup(1n));
    assert.equal(sm1.state, S.StateLeader);
    assert.equal(sm1.term, 3);
    for (const [, p] of n.peers) {
      assert.deepEqual(
        (p as Raft).raftLog.allEntries().map((e) => e.term),
        [1, 3],
      );
    }
  });
}

for (const vt of [M.MsgVote, M.MsgPreVote]) {
  test(`${M[vt]} is granted from any state for a newer term`, () => {
    for (const st of [S.StateFollower, S.StateCandidate, S.StateLeader, S.StatePreCandidate]) {
      const r = newTestRaft(1n, 10, 1, three());
      r.term = 1;
      if (st === S.StateFollower) r.becomeFollower(r.term, 3n);
      else if (st === S.StatePreCandidate) r.becomePreCandidate();
      else if (st === S.StateCandidate) r.becomeCandidate();
      else {
        r.becomeCandidate();
        r.becomeLeader();
      }
      const origTerm = r.term;
      const newTerm = r.term + 1;
      assert.equal(r.step(msg({ from: 2n, to: 1n, type: vt, term: newTerm, logTerm: newTerm, index: 42 })), null);
      const ms = r.readMessages();
      assert.equal(ms.length, 1, `${M[vt]},${S[st]}`);
      assert.equal(ms[0].type, voteRespMsgType(vt));
      assert.equal(ms[0].reject, false);
      if (vt === M.MsgVote) {
        assert.equal(r.state, S.StateFollower);
        assert.equal(r.term, newTerm);
        assert.equal(r.vote, 2n);
      } else {
        // A pre-vote changes nothing.
        assert.equal(r.state, st);
        assert.equal(r.term, origTerm);
        assert.ok(r.vote === None || r.vote === 1n);
      }
    }
  });
}

test('learners do not campaign on election timeout', () => {
  const n2 = newTestLearnerRaft(2n, 10, 1, newTestMemoryStorage(withPeers(1n), withLearners(2n)));
  n2.becomeFollower(1, None);
  setRandomizedElectionTimeout(n2, n2.electionTimeout);
  for (let i = 0; i < n2.electionTimeout; i++) n2.tick();
  assert.equal(n2.state, S.StateFollower);
});

test('a learner campaigns only after being promoted', () => {
  const n1 = newTestLearnerRaft(1n, 10, 1, newTestMemoryStorage(withPeers(1n), withLearners(2n)));
  const n2 = newTestLearnerRaft(2n, 10, 1, newTestMemoryStorage(withPeers(1n), withLearners(2n)));
  n1.becomeFollower(1, None);
  n2.becomeFollower(1, None);
  const nt = newNetwork(n1, n2);
  assert.notEqual(n1.state, S.StateLeader);

  setRandomizedElectionTimeout(n1, n1.electionTimeout);
  for (let i = 0; i < n1.electionTimeout; i++) n1.tick();
  n1.advanceMessagesAfterAppend();
  assert.equal(n1.state, S.StateLeader);
  assert.equal(n2.state, S.StateFollower);

  nt.send(beat(1n));
  n1.applyConfChange(ccV2(ConfChangeType.ConfChangeAddNode, 2n));
  n2.applyConfChange(ccV2(ConfChangeType.ConfChangeAddNode, 2n));
  assert.equal(n2.isLearner, false);

  setRandomizedElectionTimeout(n2, n2.electionTimeout);
  for (let i = 0; i < n2.electionTimeout; i++) n2.tick();
  n2.advanceMessagesAfterAppend();
  nt.send(beat(2n));
  assert.equal(n1.state, S.StateFollower);
  assert.equal(n2.state, S.StateLeader);
});

test('a learner votes when asked (it may have been promoted without knowing)', () => {
  const n2 = newTestLearnerRaft(2n, 10, 1, newTestMemoryStorage(withPeers(1n), withLearners(2n)));
  n2.becomeFollower(1, None);
  n2.step(msg({ from: 1n, to: 2n, term: 2, type: M.MsgVote, logTerm: 11, index: 11 }));
  const ms = n2.readMessages();
  assert.equal(ms.length, 1);
  assert.equal(ms[0].type, M.MsgVoteResp);
  assert.equal(ms[0].reject, false);
});

test('learners do not campaign on MsgHup or MsgTimeoutNow', () => {
  const n1 = newTestRaft(1n, 10, 1, peers(1));
  n1.applyConfChange(ccV2(ConfChangeType.ConfChangeAddLearnerNode, 2n));
  const n2 = newTestRaft(2n, 10, 1, peers(1));
  n2.applyConfChange(ccV2(ConfChangeType.ConfChangeAddLearnerNode, 2n));
  const nt = newNetwork(n1, n2);
  nt.send(hup(2n));
  assert.ok(n2.isLearner);
  assert.equal(n2.state, S.StateFollower);
  nt.send(hup(1n));
  assert.ok(n1.state === S.StateLeader && n1.lead === 1n);
  nt.send(msg({ from: 1n, to: 2n, type: M.MsgTimeoutNow }));
  assert.equal(n2.state, S.StateFollower);
});

test('dueling candidates: the one with the shorter log loses', () => {
  const a = newTestRaft(1n, 10, 1, three());
  const b = newTestRaft(2n, 10, 1, three());
  const c = newTestRaft(3n, 10, 1, three());
  const nt = newNetwork(a, b, c);
  nt.cut(1n, 3n);
  nt.send(hup(1n));
  nt.send(hup(3n));
  assert.equal(a.state, S.StateLeader);
  // 3 got its own vote and a rejection from 2.
  assert.equal(c.state, S.StateCandidate);
  nt.recover();
  // 3 campaigns at a higher term, disrupts 1, but loses: its log is shorter.
  nt.send(hup(3n));
  assert.equal(c.state, S.StateFollower);
  const want: [Raft, StateType, number, number][] = [
    [a, S.StateFollower, 2, 1],
    [b, S.StateFollower, 2, 1],
    [c, S.StateFollower, 2, 0],
  ];
  want.forEach(([sm, state, term, lastIndex], i) => {
    assert.equal(sm.state, state, `#${i}`);
    assert.equal(sm.term, term, `#${i}`);
    assert.equal(sm.raftLog.lastIndex(), lastIndex, `#${i}`);
  });
});

test('dueling pre-candidates: PreVote keeps the leader in place', () => {
  const mk = (id: bigint) => newTestRaft(id, 10, 1, three(), preVoteConfig);
  const a = mk(1n);
  const b = mk(2n);
  const c = mk(3n);
  const nt = newNetwork(a, b, c);
  nt.cut(1n, 3n);
  nt.send(hup(1n));
  nt.send(hup(3n));
  assert.equal(a.state, S.StateLeader);
  // 3's pre-vote was rejected by 2: back to follower.
  assert.equal(c.state, S.StateFollower);
  nt.recover();
  nt.send(hup(3n));
  const want: [Raft, StateType, number, number][] = [
    [a, S.StateLeader, 1, 1],
    [b, S.StateFollower, 1, 1],
    [c, S.StateFollower, 1, 0],
  ];
  want.forEach(([sm, state, term, lastIndex], i) => {
    assert.equal(sm.state, state, `#${i}`);
    assert.equal(sm.term, term, `#${i}`);
    assert.equal(sm.raftLog.lastIndex(), lastIndex, `#${i}`);
  });
});

test('a candidate concedes to a leader of the same term', () => {
  const tt = newNetwork(null, null, null);
  tt.isolate(1n);
  tt.send(hup(1n));
  tt.send(hup(3n));
  tt.recover();
  tt.send(beat(3n));
  tt.send(prop(3n, 'force follower'));
  tt.send(beat(3n));
  const a = raftOf(tt, 1);
  assert.equal(a.state, S.StateFollower);
  assert.equal(a.term, 1);
  assertLogs(tt, 2, [entry({ term: 1, index: 1 }), entry({ term: 1, index: 2, data: bytes('force follower') })], '');
});

test('a single node becomes leader (with and without prevote)', () => {
  const a = newNetwork(null);
  a.send(hup(1n));
  assert.equal(raftOf(a, 1).state, S.StateLeader);
  const b = newNetworkWithConfig(preVoteConfig, null);
  b.send(hup(1n));
  assert.equal(raftOf(b, 1).state, S.StateLeader);
});

test('old messages from a deposed leader are ignored', () => {
  const tt = newNetwork(null, null, null);
  // 1 leads at term 3.
  tt.send(hup(1n));
  tt.send(hup(2n));
  tt.send(hup(1n));
  // An old leader's append at term 2 is ignored.
  tt.send(msg({ from: 2n, to: 1n, type: M.MsgApp, term: 2, entries: indexTerms(3, 2) }));
  tt.send(prop(1n));
  const ents = indexTerms(1, 1, 2, 3, 3);
  ents[3].data = bytes('somedata');
  assertLogs(tt, 4, ents, '');
});

test('proposals commit only with a quorum', () => {
  const cases: [Network, boolean][] = [
    [newNetwork(null, null, null), true],
    [newNetwork(null, null, nopStepper), true],
    [newNetwork(null, nopStepper, nopStepper), false],
    [newNetwork(null, nopStepper, nopStepper, null), false],
    [newNetwork(null, nopStepper, nopStepper, null, null), true],
  ];
  cases.forEach(([tt, success], j) => {
    tt.send(hup(1n));
    tt.send(prop(1n));
    if (success) assertLogs(tt, 2, [entry({ term: 1, index: 1 }), entry({ term: 1, index: 2, data: bytes('somedata') })], `#${j}`);
    else assertLogs(tt, 0, [], `#${j}`);
    assert.equal(raftOf(tt, 1).term, 1, `#${j}`);
  });
});

test('proposals to a follower are forwarded to the leader', () => {
  for (const tt of [newNetwork(null, null, null), newNetwork(null, null, nopStepper)]) {
    tt.send(hup(1n));
    tt.send(prop(2n));
    assertLogs(tt, 2, [entry({ term: 1, index: 1 }), entry({ term: 1, index: 2, data: bytes('somedata') })], '');
    assert.equal(raftOf(tt, 1).term, 1);
  }
});

test('a follower without leader, or with forwarding disabled, drops proposals', () => {
  const r = newTestRaft(1n, 10, 1, three());
  assert.equal(r.step(prop(1n)), ErrProposalDropped);
  const nt = newNetworkWithConfig((c) => (c.disableProposalForwarding = true), null, null, null);
  nt.send(hup(1n));
  assert.equal(raftOf(nt, 2).step(prop(2n)), ErrProposalDropped);
  assert.deepEqual(raftOf(nt, 2).readMessages(), []);
});

test('commit index follows the quorum, counting only current-term entries', () => {
  const cases: [number[], Entry[], number, number][] = [
    // single
    [[1], indexTerms(1, 1), 1, 1],
    [[1], indexTerms(1, 1), 2, 0],
    [[2], indexTerms(1, 1, 2), 2, 2],
    [[1], indexTerms(1, 2), 2, 1],
    // odd
    [[2, 1, 1], indexTerms(1, 1, 2), 1, 1],
    [[2, 1, 1], indexTerms(1, 1, 1), 2, 0],
    [[2, 1, 2], indexTerms(1, 1, 2), 2, 2],
    [[2, 1, 2], indexTerms(1, 1, 1), 2, 0],
    // even
    [[2, 1, 1, 1], indexTerms(1, 1, 2), 1, 1],
    [[2, 1, 1, 1], indexTerms(1, 1, 1), 2, 0],
    [[2, 1, 1, 2], indexTerms(1, 1, 2), 1, 1],
    [[2, 1, 1, 2], indexTerms(1, 1, 1), 2, 0],
    [[2, 1, 2, 2], indexTerms(1, 1, 2), 2, 2],
    [[2, 1, 2, 2], indexTerms(1, 1, 1), 2, 0],
  ];
  cases.forEach(([matches, logs, smTerm, w], i) => {
    const storage = peers(1);
    storage.append(logs);
    storage.setHardState({ term: smTerm, vote: None, commit: 0 });
    const sm = newTestRaft(1n, 10, 2, storage);
    matches.forEach((match, j) => {
      const id = BigInt(j + 1);
      if (id > 1n) sm.applyConfChange(ccV2(ConfChangeType.ConfChangeAddNode, id));
      const pr = sm.trk.progress.get(id)!;
      pr.match = match;
      pr.next = match + 1;
    });
    sm.maybeCommit();
    assert.equal(sm.raftLog.committed, w, `#${i}`);
  });
});

test('the randomized election timeout is uniform over [et, 2et)', () => {
  const cases: [number, number, boolean][] = [
    [5, 0, false],
    [10, 0.1, true],
    [13, 0.4, true],
    [15, 0.6, true],
    [18, 0.9, true],
    [20, 1, false],
  ];
  for (const [elapse, wprob, round] of cases) {
    const sm = newTestRaft(1n, 10, 1, peers(1));
    sm.electionElapsed = elapse;
    let c = 0;
    for (let j = 0; j < 10000; j++) {
      sm.resetRandomizedElectionTimeout();
      if (sm.pastElectionTimeout()) c++;
    }
    let got = c / 10000;
    if (round) got = Math.floor(got * 10 + 0.5) / 10;
    assert.equal(got, wprob, `elapse ${elapse}`);
  }
});

test('an injected random source drives the timeout draw', () => {
  const c = newTestConfig(1n, 10, 1, peers(1));
  c.random = () => 0.999;
  assert.equal(newRaft(c).randomizedElectionTimeout, 19);
  c.random = () => 0;
  assert.equal(newRaft(c).randomizedElectionTimeout, 10);
});

test('step ignores messages from an old term', () => {
  let called = false;
  const sm = newTestRaft(1n, 10, 1, peers(1));
  sm.stepFn = () => {
    called = true;
    return null;
  };
  sm.term = 2;
  sm.step(msg({ type: M.MsgApp, term: sm.term - 1 }));
  assert.equal(called, false);
});

// ---------------------------------------------------------------------------------------------
// Follower message handling

test('handleAppendEntries: reject on mismatch, truncate conflicts, commit up to the last new entry', () => {
  const m = (f: Partial<Message>) => msg({ type: M.MsgApp, ...f });
  const cases: [Message, number, number, boolean][] = [
    // previous log mismatch / missing
    [m({ term: 2, logTerm: 3, index: 2, commit: 3 }), 2, 0, true],
    [m({ term: 2, logTerm: 3, index: 3, commit: 3 }), 2, 0, true],
    // conflicts and appends
    [m({ term: 2, logTerm: 1, index: 1, commit: 1 }), 2, 1, false],
    [m({ term: 2, logTerm: 0, index: 0, commit: 1, entries: [entry({ index: 1, term: 2 })] }), 1, 1, false],
    [m({ term: 2, logTerm: 2, index: 2, commit: 3, entries: indexTerms(3, 2, 2) }), 4, 3, false],
    [m({ term: 2, logTerm: 2, index: 2, commit: 4, entries: indexTerms(3, 2) }), 3, 3, false],
    [m({ term: 2, logTerm: 1, index: 1, commit: 4, entries: indexTerms(2, 2) }), 2, 2, false],
    // commit up to the last new entry
    [m({ term: 1, logTerm: 1, index: 1, commit: 3 }), 2, 1, false],
    [m({ term: 1, logTerm: 1, index: 1, commit: 3, entries: indexTerms(2, 2) }), 2, 2, false],
    [m({ term: 2, logTerm: 2, index: 2, commit: 3 }), 2, 2, false],
    [m({ term: 2, logTerm: 2, index: 2, commit: 4 }), 2, 2, false],
  ];
  cases.forEach(([mm, wIndex, wCommit, wReject], i) => {
    const storage = peers(1);
    storage.append(indexTerms(1, 1, 2));
    const sm = newTestRaft(1n, 10, 1, storage);
    sm.becomeFollower(2, None);
    sm.handleAppendEntries(mm);
    assert.equal(sm.raftLog.lastIndex(), wIndex, `#${i}`);
    assert.equal(sm.raftLog.committed, wCommit, `#${i}`);
    const ms = sm.readMessages();
    assert.equal(ms.length, 1, `#${i}`);
    assert.equal(ms[0].reject, wReject, `#${i}`);
  });
});

test('handleHeartbeat commits up to the heartbeat commit, never backwards', () => {
  const commit = 2;
  for (const [mc, wc] of [
    [commit + 1, commit + 1],
    [commit - 1, commit],
  ]) {
    const storage = peers(1, 2);
    storage.append(indexTerms(1, 1, 2, 3));
    const sm = newTestRaft(1n, 5, 1, storage);
    sm.becomeFollower(2, 2n);
    sm.raftLog.commitTo(commit);
    sm.handleHeartbeat(msg({ from: 2n, to: 1n, type: M.MsgHeartbeat, term: 2, commit: mc }));
    assert.equal(sm.raftLog.committed, wc);
    const ms = sm.readMessages();
    assert.equal(ms.length, 1);
    assert.equal(ms[0].type, M.MsgHeartbeatResp);
  }
});

test('heartbeat responses re-send appends to a lagging follower only', () => {
  const storage = peers(1, 2);
  storage.append(indexTerms(1, 1, 2, 3));
  const sm = newTestRaft(1n, 5, 1, storage);
  sm.becomeCandidate();
  sm.becomeLeader();
  sm.raftLog.commitTo(sm.raftLog.lastIndex());
  sm.step(msg({ from: 2n, type: M.MsgHeartbeatResp }));
  let ms = sm.readMessages();
  assert.equal(ms.length, 1);
  assert.equal(ms[0].type, M.MsgApp);
  sm.step(msg({ from: 2n, type: M.MsgHeartbeatResp }));
  ms = sm.readMessages();
  assert.equal(ms.length, 1);
  assert.equal(ms[0].type, M.MsgApp);
  sm.step(msg({ from: 2n, type: M.MsgAppResp, index: ms[0].index + ms[0].entries.length }));
  sm.readMessages();
  sm.step(msg({ from: 2n, type: M.MsgHeartbeatResp }));
  assert.deepEqual(sm.readMessages(), []);
});

test('a MsgAppResp releases the wait of only that follower', () => {
  const s = three();
  const sm = newTestRaft(1n, 5, 1, s);
  sm.becomeCandidate();
  sm.becomeLeader();
  nextEnts(sm, s);
  sm.step(msg({ from: 2n, type: M.MsgAppResp, index: 1 }));
  assert.equal(sm.raftLog.committed, 1);
  sm.readMessages();
  sm.step(msg({ from: 1n, type: M.MsgProp, entries: [entry({})] }));
  let ms = sm.readMessages();
  assert.equal(ms.length, 1);
  assert.equal(ms[0].type, M.MsgApp);
  assert.equal(ms[0].to, 2n);
  assert.deepEqual(
    ms[0].entries.map((e) => e.index),
    [2],
  );
  sm.step(msg({ from: 3n, type: M.MsgAppResp, index: 1 }));
  ms = sm.readMessages();
  assert.equal(ms.length, 1);
  assert.equal(ms[0].to, 3n);
  assert.deepEqual(
    ms[0].entries.map((e) => e.index),
    [2],
  );
});

for (const mt of [M.MsgVote, M.MsgPreVote]) {
  test(`receiving ${M[mt]}: grant iff not voted for another and the candidate is up to date`, () => {
    const cases: [StateType, number, number, NodeId, boolean][] = [
      [S.StateFollower, 0, 0, None, true],
      [S.StateFollower, 0, 1, None, true],
      [S.StateFollower, 0, 2, None, true],
      [S.StateFollower, 0, 3, None, false],
      [S.StateFollower, 1, 0, None, true],
      [S.StateFollower, 1, 1, None, true],
      [S.StateFollower, 1, 2, None, true],
      [S.StateFollower, 1, 3, None, false],
      [S.StateFollower, 2, 0, None, true],
      [S.StateFollower, 2, 1, None, true],
      [S.StateFollower, 2, 2, None, false],
      [S.StateFollower, 2, 3, None, false],
      [S.StateFollower, 3, 0, None, true],
      [S.StateFollower, 3, 1, None, true],
      [S.StateFollower, 3, 2, None, false],
      [S.StateFollower, 3, 3, None, false],
      [S.StateFollower, 3, 2, 2n, false],
      [S.StateFollower, 3, 2, 1n, true],
      [S.StateLeader, 3, 3, 1n, true],
      [S.StatePreCandidate, 3, 3, 1n, true],
      [S.StateCandidate, 3, 3, 1n, true],
    ];
    cases.forEach(([state, index, logTerm, voteFor, wreject], i) => {
      const sm = newTestRaft(1n, 10, 1, peers(1));
      setStep(sm, state);
      sm.vote = voteFor;
      logWith(sm, indexTerms(1, 2, 2));
      // Same term on both sides: only the log comparison and the prior vote matter.
      const term = Math.max(sm.raftLog.lastEntryID().term, logTerm);
      sm.term = term;
      sm.step(msg({ type: mt, term, from: 2n, index, logTerm }));
      const ms = sm.readMessages();
      assert.equal(ms.length, 1, `#${i}`);
      assert.equal(ms[0].type, voteRespMsgType(mt), `#${i}`);
      assert.equal(ms[0].reject, wreject, `#${i}`);
    });
  });
}

test('state transitions: allowed ones set term and lead, forbidden ones throw', () => {
  const cases: [StateType, StateType, boolean, number, NodeId][] = [
    [S.StateFollower, S.StateFollower, true, 1, None],
    [S.StateFollower, S.StatePreCandidate, true, 0, None],
    [S.StateFollower, S.StateCandidate, true, 1, None],
    [S.StateFollower, S.StateLeader, false, 0, None],
    [S.StatePreCandidate, S.StateFollower, true, 0, None],
    [S.StatePreCandidate, S.StatePreCandidate, true, 0, None],
    [S.StatePreCandidate, S.StateCandidate, true, 1, None],
    [S.StatePreCandidate, S.StateLeader, true, 0, 1n],
    [S.StateCandidate, S.StateFollower, true, 0, None],
    [S.StateCandidate, S.StatePreCandidate, true, 0, None],
    [S.StateCandidate, S.StateCandidate, true, 1, None],
    [S.StateCandidate, S.StateLeader, true, 0, 1n],
    [S.StateLeader, S.StateFollower, true, 1, None],
    [S.StateLeader, S.StatePreCandidate, false, 0, None],
    [S.StateLeader, S.StateCandidate, false, 1, None],
    [S.StateLeader, S.StateLeader, true, 0, 1n],
  ];
  cases.forEach(([from, to, wallow, wterm, wlead], i) => {
    const sm = newTestRaft(1n, 10, 1, peers(1));
    sm.state = from;
    const run = () => {
      if (to === S.StateFollower) sm.becomeFollower(wterm, wlead);
      else if (to === S.StatePreCandidate) sm.becomePreCandidate();
      else if (to === S.StateCandidate) sm.becomeCandidate();
      else sm.becomeLeader();
    };
    if (!wallow) {
      assert.throws(run, `#${i}`);
      return;
    }
    run();
    assert.equal(sm.term, wterm, `#${i}`);
    assert.equal(sm.lead, wlead, `#${i}`);
  });
});

test('every state steps down on a higher-term vote or append', () => {
  const cases: [StateType, number][] = [
    [S.StateFollower, 0],
    [S.StatePreCandidate, 0],
    [S.StateCandidate, 0],
    [S.StateLeader, 1],
  ];
  for (const [state, windex] of cases) {
    const sm = newTestRaft(1n, 10, 1, three());
    if (state === S.StateFollower) sm.becomeFollower(1, None);
    else if (state === S.StatePreCandidate) sm.becomePreCandidate();
    else if (state === S.StateCandidate) sm.becomeCandidate();
    else {
      sm.becomeCandidate();
      sm.becomeLeader();
    }
    for (const mt of [M.MsgVote, M.MsgApp]) {
      sm.step(msg({ from: 2n, type: mt, term: 3, logTerm: 3 }));
      assert.equal(sm.state, S.StateFollower, `${S[state]} ${M[mt]}`);
      assert.equal(sm.term, 3);
      assert.equal(sm.raftLog.lastIndex(), windex);
      assert.equal(sm.raftLog.allEntries().length, windex);
      assert.equal(sm.lead, mt === M.MsgVote ? None : 2n);
    }
  }
});

for (const mt of [M.MsgHeartbeat, M.MsgApp]) {
  test(`a candidate hearing ${M[mt]} from the leader reverts to follower at its term`, () => {
    const a = newTestRaft(1n, 10, 1, three());
    const b = newTestRaft(2n, 10, 1, three());
    const c = newTestRaft(3n, 10, 1, three());
    const nt = newNetwork(a, b, c);
    nt.send(hup(1n));
    assert.equal(a.state, S.StateLeader);
    nt.isolate(3n);
    nt.send(hup(2n));
    nt.send(hup(1n));
    assert.equal(a.state, S.StateLeader);
    assert.equal(b.state, S.StateFollower);
    c.resetRandomizedElectionTimeout();
    for (let i = 0; i < c.randomizedElectionTimeout; i++) c.tick();
    c.advanceMessagesAfterAppend();
    assert.equal(c.state, S.StateCandidate);
    nt.recover();
    nt.send(msg({ from: 1n, to: 3n, term: a.term, type: mt }));
    assert.equal(c.state, S.StateFollower);
    assert.equal(c.term, a.term);
  });
}

for (const preVote of [false, true]) {
  test(`a late self-vote after losing the election is ignored${preVote ? ' (prevote)' : ''}`, () => {
    const sm = newTestRaft(1n, 5, 1, three());
    sm.preVote = preVote;
    sm.step(hup(1n));
    const steps = sm.takeMessagesAfterAppend();
    // 2 already won: we follow it before our self-vote is durable.
    sm.step(msg({ from: 2n, to: 1n, term: sm.term, type: M.MsgHeartbeat }));
    assert.equal(sm.state, S.StateFollower);
    sm.stepOrSend(steps);
    assert.equal(sm.state, S.StateFollower);
    assert.equal(sm.trk.tallyVotes().granted, 0);
  });
}

test('a stale pre-vote self-vote is not counted by the candidate', () => {
  const sm = newTestRaft(1n, 5, 1, three());
  sm.preVote = true;
  sm.step(hup(1n));
  assert.equal(sm.state, S.StatePreCandidate);
  let steps = sm.takeMessagesAfterAppend();
  // Pre-votes carry the local term + 1.
  sm.step(msg({ from: 2n, to: 1n, term: sm.term + 1, type: M.MsgPreVoteResp }));
  sm.step(msg({ from: 3n, to: 1n, term: sm.term + 1, type: M.MsgPreVoteResp }));
  assert.equal(sm.state, S.StateCandidate);
  sm.stepOrSend(steps);
  assert.equal(sm.state, S.StateCandidate);
  steps = sm.takeMessagesAfterAppend();
  assert.equal(sm.trk.tallyVotes().granted, 0);
  sm.step(msg({ from: 2n, to: 1n, term: sm.term, type: M.MsgVoteResp }));
  assert.equal(sm.state, S.StateCandidate);
  // The real self-vote completes the quorum.
  sm.stepOrSend(steps);
  assert.equal(sm.state, S.StateLeader);
});

test("a deposed leader ignores its own stale append ack", () => {
  const sm = newTestRaft(1n, 5, 1, three());
  sm.becomeCandidate();
  sm.becomeLeader();
  sm.step(prop(1n));
  const steps = sm.takeMessagesAfterAppend();
  sm.step(msg({ from: 2n, to: 1n, term: sm.term + 1, type: M.MsgHeartbeat }));
  assert.equal(sm.state, S.StateFollower);
  sm.stepOrSend(steps);
  assert.equal(sm.state, S.StateFollower);
});

// ---------------------------------------------------------------------------------------------
// CheckQuorum and PreVote

test('checkQuorum: the leader stays while a quorum is active', () => {
  const sm = newTestRaft(1n, 5, 1, three());
  sm.checkQuorum = true;
  sm.becomeCandidate();
  sm.becomeLeader();
  for (let i = 0; i < sm.electionTimeout + 1; i++) {
    sm.step(msg({ from: 2n, type: M.MsgHeartbeatResp, term: sm.term }));
    sm.tick();
  }
  assert.equal(sm.state, S.StateLeader);
});

test('checkQuorum: the leader steps down when the quorum is lost', () => {
  const sm = newTestRaft(1n, 5, 1, three());
  sm.checkQuorum = true;
  sm.becomeCandidate();
  sm.becomeLeader();
  for (let i = 0; i < sm.electionTimeout + 1; i++) sm.tick();
  assert.equal(sm.state, S.StateFollower);
});

function cqTrio(): [Raft, Raft, Raft, Network] {
  const a = newTestRaft(1n, 10, 1, three());
  const b = newTestRaft(2n, 10, 1, three());
  const c = newTestRaft(3n, 10, 1, three());
  for (const r of [a, b, c]) r.checkQuorum = true;
  return [a, b, c, newNetwork(a, b, c)];
}

test('checkQuorum: a follower within its lease ignores votes', () => {
  const [a, b, c, nt] = cqTrio();
  setRandomizedElectionTimeout(b, b.electionTimeout + 1);
  for (let i = 0; i < b.electionTimeout; i++) b.tick();
  nt.send(hup(1n));
  assert.equal(a.state, S.StateLeader);
  assert.equal(c.state, S.StateFollower);
  nt.send(hup(3n));
  // b's lease had not expired, so it rejected c.
  assert.equal(c.state, S.StateCandidate);
  for (let i = 0; i < b.electionTimeout; i++) b.tick();
  nt.send(hup(3n));
  assert.equal(c.state, S.StateLeader);
});

test('checkQuorum: elections proceed once leases expire', () => {
  const [a, b, c, nt] = cqTrio();
  setRandomizedElectionTimeout(a, a.electionTimeout + 1);
  setRandomizedElectionTimeout(b, b.electionTimeout + 2);
  // Votes right after creation are cast regardless of leases.
  nt.send(hup(1n));
  assert.equal(a.state, S.StateLeader);
  assert.equal(c.state, S.StateFollower);
  setRandomizedElectionTimeout(a, a.electionTimeout + 1);
  setRandomizedElectionTimeout(b, b.electionTimeout + 2);
  for (let i = 0; i < a.electionTimeout; i++) a.tick();
  for (let i = 0; i < b.electionTimeout; i++) b.tick();
  nt.send(hup(3n));
  assert.equal(a.state, S.StateFollower);
  assert.equal(c.state, S.StateLeader);
});

test('checkQuorum: a stuck candidate with a higher term frees itself via the leader', () => {
  const [a, b, c, nt] = cqTrio();
  setRandomizedElectionTimeout(b, b.electionTimeout + 1);
  for (let i = 0; i < b.electionTimeout; i++) b.tick();
  nt.send(hup(1n));
  nt.isolate(1n);
  nt.send(hup(3n));
  assert.equal(b.state, S.StateFollower);
  assert.equal(c.state, S.StateCandidate);
  assert.equal(c.term, b.term + 1);
  nt.send(hup(3n));
  assert.equal(b.state, S.StateFollower);
  assert.equal(c.state, S.StateCandidate);
  assert.equal(c.term, b.term + 2);
  nt.recover();
  nt.send(msg({ from: 1n, to: 3n, type: M.MsgHeartbeat, term: a.term }));
  // c's reply at its higher term disrupts the leader.
  assert.equal(a.state, S.StateFollower);
  assert.equal(c.term, a.term);
  nt.send(hup(3n));
  assert.equal(c.state, S.StateLeader);
});

test('checkQuorum: a non-promotable voter still follows the leader', () => {
  const a = newTestRaft(1n, 10, 1, peers(1, 2));
  const b = newTestRaft(2n, 10, 1, peers(1));
  a.checkQuorum = true;
  b.checkQuorum = true;
  const nt = newNetwork(a, b);
  setRandomizedElectionTimeout(b, b.electionTimeout + 1);
  b.applyConfChange(ccV2(ConfChangeType.ConfChangeRemoveNode, 2n));
  assert.equal(b.promotable(), false);
  for (let i = 0; i < b.electionTimeout; i++) b.tick();
  nt.send(hup(1n));
  assert.equal(a.state, S.StateLeader);
  assert.equal(b.state, S.StateFollower);
  assert.equal(b.lead, 1n);
});

function followerTrio(preVote: boolean): [Raft, Raft, Raft, Network] {
  const rs = [1n, 2n, 3n].map((id) => newTestRaft(id, 10, 1, three()));
  for (const r of rs) {
    r.checkQuorum = true;
    r.becomeFollower(1, None);
    r.preVote = preVote;
  }
  return [rs[0], rs[1], rs[2], newNetwork(rs[0], rs[1], rs[2])];
}

test('a disruptive follower forces the leader down via its higher-term reply', () => {
  const [n1, n2, n3, nt] = followerTrio(false);
  nt.send(hup(1n));
  assert.deepEqual([n1.state, n2.state, n3.state], [S.StateLeader, S.StateFollower, S.StateFollower]);
  setRandomizedElectionTimeout(n3, n3.electionTimeout + 2);
  for (let i = 0; i < n3.randomizedElectionTimeout - 1; i++) n3.tick();
  n3.tick();
  assert.deepEqual([n1.state, n2.state, n3.state], [S.StateLeader, S.StateFollower, S.StateCandidate]);
  assert.deepEqual([n1.term, n2.term, n3.term], [2, 2, 3]);
  // A delayed heartbeat at the old term gets an MsgAppResp at the higher term.
  nt.send(msg({ from: 1n, to: 3n, term: n1.term, type: M.MsgHeartbeat }));
  assert.deepEqual([n1.state, n2.state, n3.state], [S.StateFollower, S.StateFollower, S.StateCandidate]);
  assert.deepEqual([n1.term, n2.term, n3.term], [3, 2, 3]);
});

test('with PreVote, a lagging follower does not disrupt the leader', () => {
  const [n1, n2, n3, nt] = followerTrio(false);
  nt.send(hup(1n));
  nt.isolate(3n);
  for (let i = 0; i < 3; i++) nt.send(prop(1n));
  for (const r of [n1, n2, n3]) r.preVote = true;
  nt.recover();
  nt.send(hup(3n));
  assert.deepEqual([n1.state, n2.state, n3.state], [S.StateLeader, S.StateFollower, S.StatePreCandidate]);
  assert.deepEqual([n1.term, n2.term, n3.term], [2, 2, 2]);
  nt.send(msg({ from: 1n, to: 3n, term: n1.term, type: M.MsgHeartbeat }));
  assert.equal(n1.state, S.StateLeader);
});

test('prevote: a node with a smaller term can complete an election', () => {
  const [n1, n2, n3, nt] = followerTrio(true);
  for (const r of [n1, n2, n3]) r.checkQuorum = false;
  nt.cut(1n, 3n);
  nt.cut(2n, 3n);
  nt.send(hup(1n));
  assert.equal(n1.state, S.StateLeader);
  assert.equal(n2.state, S.StateFollower);
  nt.send(hup(3n));
  assert.equal(n3.state, S.StatePreCandidate);
  nt.send(hup(2n));
  assert.deepEqual([n1.term, n2.term, n3.term], [3, 3, 1]);
  assert.deepEqual([n1.state, n2.state, n3.state], [S.StateFollower, S.StateLeader, S.StatePreCandidate]);
  // Bring 3 back and kill 2, the leader.
  nt.recover();
  nt.cut(2n, 1n);
  nt.cut(2n, 3n);
  nt.send(hup(3n));
  nt.send(hup(1n));
  assert.ok(stateOf(n1) === S.StateLeader || stateOf(n3) === S.StateLeader);
});

test('prevote: after a split vote the next round elects a leader', () => {
  const [n1, n2, n3, nt] = followerTrio(true);
  for (const r of [n1, n2, n3]) r.checkQuorum = false;
  nt.send(hup(1n));
  nt.isolate(1n);
  nt.send(hup(2n), hup(3n));
  assert.deepEqual([n2.term, n3.term], [3, 3]);
  assert.deepEqual([n2.state, n3.state], [S.StateCandidate, S.StateCandidate]);
  nt.send(hup(2n));
  assert.deepEqual([n2.term, n3.term], [4, 4]);
  assert.deepEqual([n2.state, n3.state], [S.StateLeader, S.StateFollower]);
});

test('prevote with checkQuorum: followers with a leader ignore pre-votes until it is gone', () => {
  const [n1, n2, n3, nt] = followerTrio(true);
  nt.send(hup(1n));
  nt.isolate(1n);
  assert.deepEqual([n1.state, n2.state, n3.state], [S.StateLeader, S.StateFollower, S.StateFollower]);
  nt.send(hup(3n));
  nt.send(hup(2n));
  assert.ok(stateOf(n2) === S.StateLeader || stateOf(n3) === S.StateFollower);
});

function preVoteMigrationCluster(): [Raft, Raft, Raft, Network] {
  const rs = [1n, 2n, 3n].map((id) => newTestRaft(id, 10, 1, three()));
  for (const r of rs) r.becomeFollower(1, None);
  // n3 runs without PreVote, as in a rolling upgrade.
  rs[0].preVote = true;
  rs[1].preVote = true;
  const nt = newNetwork(rs[0], rs[1], rs[2]);
  nt.send(hup(1n));
  nt.isolate(3n);
  nt.send(prop(1n, 'some data'));
  nt.send(hup(3n));
  nt.send(hup(3n));
  assert.deepEqual(
    rs.map((r) => r.state),
    [S.StateLeader, S.StateFollower, S.StateCandidate],
  );
  assert.deepEqual(
    rs.map((r) => r.term),
    [2, 2, 4],
  );
  rs[2].preVote = true;
  nt.recover();
  return [rs[0], rs[1], rs[2], nt];
}

test('prevote migration: the cluster can still complete an election', () => {
  const [, n2, n3, nt] = preVoteMigrationCluster();
  nt.isolate(1n);
  nt.send(hup(3n));
  nt.send(hup(2n));
  assert.equal(n2.state, S.StateFollower);
  assert.equal(n3.state, S.StatePreCandidate);
  nt.send(hup(3n));
  nt.send(hup(2n));
  assert.ok(stateOf(n2) === S.StateLeader || stateOf(n3) === S.StateFollower);
});

test('prevote migration: a stuck pre-candidate with a higher term is freed', () => {
  const [n1, n2, n3, nt] = preVoteMigrationCluster();
  nt.send(hup(3n));
  assert.deepEqual([n1.state, n2.state, n3.state], [S.StateLeader, S.StateFollower, S.StatePreCandidate]);
  nt.send(hup(3n));
  assert.deepEqual([n1.state, n2.state, n3.state], [S.StateLeader, S.StateFollower, S.StatePreCandidate]);
  nt.send(msg({ from: 1n, to: 3n, type: M.MsgHeartbeat, term: n1.term }));
  assert.equal(n1.state, S.StateFollower);
  assert.equal(n3.term, n1.term);
});

// ---------------------------------------------------------------------------------------------
// Replication

test('log replication through elections and forwarded proposals', () => {
  const cases: [Message[], number][] = [
    [[prop(1n)], 2],
    [[prop(1n), msg({ from: 1n, to: 2n, type: M.MsgHup }), prop(1n, 'somedata', 2n)], 4],
  ];
  cases.forEach(([msgs, wcommitted], i) => {
    const tt = newNetwork(null, null, null);
    tt.send(hup(1n));
    for (const m of msgs) tt.send(m);
    for (const [id, p] of tt.peers) {
      const sm = p as Raft;
      assert.equal(sm.raftLog.committed, wcommitted, `#${i}.${id}`);
      const ents = nextEnts(sm, tt.storage.get(id)!).filter((e) => e.data.length > 0);
      const props = msgs.filter((m) => m.type === M.MsgProp);
      props.forEach((m, k) => assert.deepEqual(ents[k].data, m.entries[0].data, `#${i}.${id}.${k}`));
    }
  });
});

test('a learner receives and commits entries from the leader', () => {
  const n1 = newTestLearnerRaft(1n, 10, 1, newTestMemoryStorage(withPeers(1n), withLearners(2n)));
  const n2 = newTestLearnerRaft(2n, 10, 1, newTestMemoryStorage(withPeers(1n), withLearners(2n)));
  const nt = newNetwork(n1, n2);
  n1.becomeFollower(1, None);
  n2.becomeFollower(1, None);
  setRandomizedElectionTimeout(n1, n1.electionTimeout);
  for (let i = 0; i < n1.electionTimeout; i++) n1.tick();
  n1.advanceMessagesAfterAppend();
  nt.send(beat(1n));
  assert.equal(n1.state, S.StateLeader);
  assert.ok(n2.isLearner);
  nt.send(prop(1n));
  assert.equal(n1.raftLog.committed, 2);
  assert.equal(n2.raftLog.committed, n1.raftLog.committed);
  assert.equal(n1.trk.progress.get(2n)!.match, n2.raftLog.committed);
});

test('a single node commits its own proposals', () => {
  const tt = newNetwork(newTestRaft(1n, 10, 1, peers(1)));
  tt.send(hup(1n));
  tt.send(prop(1n, 'some data'));
  tt.send(prop(1n, 'some data'));
  assert.equal(raftOf(tt, 1).raftLog.committed, 3);
});

test('entries of a previous term commit only with an entry of the new term', () => {
  const tt = newNetwork(null, null, null, null, null);
  tt.send(hup(1n));
  tt.cut(1n, 3n);
  tt.cut(1n, 4n);
  tt.cut(1n, 5n);
  tt.send(prop(1n, 'some data'));
  tt.send(prop(1n, 'some data'));
  assert.equal(raftOf(tt, 1).raftLog.committed, 1);
  tt.recover();
  // Keep the new leader's empty entry from committing.
  tt.ignore(M.MsgApp);
  tt.send(hup(2n));
  const sm = raftOf(tt, 2);
  assert.equal(sm.raftLog.committed, 1);
  tt.recover();
  tt.send(beat(2n));
  tt.send(prop(2n, 'some data'));
  assert.equal(sm.raftLog.committed, 5);
});

test("a new leader's empty entry commits the previous term's entries", () => {
  const tt = newNetwork(null, null, null, null, null);
  tt.send(hup(1n));
  tt.cut(1n, 3n);
  tt.cut(1n, 4n);
  tt.cut(1n, 5n);
  tt.send(prop(1n, 'some data'));
  tt.send(prop(1n, 'some data'));
  const sm = raftOf(tt, 1);
  assert.equal(sm.raftLog.committed, 1);
  tt.recover();
  tt.send(hup(2n));
  assert.equal(sm.raftLog.committed, 4);
});

test('leader handling of MsgAppResp: stale, rejected, accepted, probe-to-replicate', () => {
  // initial progress: match = 0; next = 3
  const cases: [number, boolean, number, number, number, number, number][] = [
    [3, true, 0, 3, 0, 0, 0], // stale rejection: no reply
    [2, true, 0, 2, 1, 1, 0], // rejection: decrease next, probe
    [2, false, 2, 4, 2, 2, 2], // accept: commit and broadcast
    [0, false, 0, 4, 1, 0, 0], // ack at match in probe: replicate everything
  ];
  for (const [index, reject, wmatch, wnext, wmsgNum, windex, wcommitted] of cases) {
    const sm = newTestRaft(1n, 10, 1, three());
    logWith(sm, indexTerms(1, 1, 1));
    sm.becomeCandidate();
    sm.becomeLeader();
    sm.readMessages();
    assert.equal(
      sm.step(msg({ from: 2n, type: M.MsgAppResp, index, term: sm.term, reject, rejectHint: index })),
      null,
    );
    const p = sm.trk.progress.get(2n)!;
    assert.equal(p.match, wmatch);
    assert.equal(p.next, wnext);
    const ms = sm.readMessages();
    assert.equal(ms.length, wmsgNum);
    for (const m of ms) {
      assert.equal(m.index, windex);
      assert.equal(m.commit, wcommitted);
    }
  }
});

test('heartbeats carry min(match, committed) and no entries', () => {
  const offset = 1000;
  const storage = new MemoryStorage();
  storage.applySnapshot(testSnapshot(offset, 1, [1n, 2n, 3n]));
  const sm = newTestRaft(1n, 10, 1, storage);
  sm.term = 1;
  sm.becomeCandidate();
  sm.becomeLeader();
  for (let i = 0; i < 10; i++) mustAppendEntry(sm, entry({ index: i + 1 }));
  sm.advanceMessagesAfterAppend();
  const pr2 = sm.trk.progress.get(2n)!;
  const pr3 = sm.trk.progress.get(3n)!;
  pr2.match = 5;
  pr2.next = 6;
  pr3.match = sm.raftLog.lastIndex();
  pr3.next = sm.raftLog.lastIndex() + 1;
  sm.step(msg({ type: M.MsgBeat }));
  const ms = sm.readMessages();
  assert.equal(ms.length, 2);
  const want = new Map([
    [2n, Math.min(sm.raftLog.committed, pr2.match)],
    [3n, Math.min(sm.raftLog.committed, pr3.match)],
  ]);
  for (const m of ms) {
    assert.equal(m.type, M.MsgHeartbeat);
    assert.equal(m.index, 0);
    assert.equal(m.logTerm, 0);
    assert.equal(m.commit, want.get(m.to));
    assert.equal(m.entries.length, 0);
  }
});

test('only the leader acts on MsgBeat', () => {
  const cases: [StateType, number][] = [
    [S.StateLeader, 2],
    [S.StateCandidate, 0],
    [S.StateFollower, 0],
  ];
  for (const [state, wMsg] of cases) {
    const sm = newTestRaft(1n, 10, 1, three());
    logWith(sm, indexTerms(1, 1, 1));
    sm.term = 1;
    setStep(sm, state);
    sm.step(beat(1n));
    const ms = sm.readMessages();
    assert.equal(ms.length, wMsg);
    for (const m of ms) assert.equal(m.type, M.MsgHeartbeat);
  }
});

test('next increases optimistically in replicate state only', () => {
  const previousEnts = indexTerms(1, 1, 2, 3);
  const cases: [ProgressStateType, number, number][] = [
    [ProgressStateType.StateReplicate, 2, previousEnts.length + 1 + 1 + 1],
    [ProgressStateType.StateProbe, 2, 2],
  ];
  for (const [state, next, wnext] of cases) {
    const sm = newTestRaft(1n, 10, 1, peers(1, 2));
    sm.raftLog.append(previousEnts.map((e) => ({ ...e })));
    sm.becomeCandidate();
    sm.becomeLeader();
    const pr = sm.trk.progress.get(2n)!;
    pr.state = state;
    pr.next = next;
    sm.step(prop(1n));
    assert.equal(pr.next, wnext);
  }
});

test('sendAppend in probe state sends one message per heartbeat response', () => {
  const r = newTestRaft(1n, 10, 1, peers(1, 2));
  r.becomeCandidate();
  r.becomeLeader();
  r.readMessages();
  const pr2 = r.trk.progress.get(2n)!;
  pr2.becomeProbe();
  for (let i = 0; i < 3; i++) {
    if (i === 0) {
      // Only the first round sends; then the follower is paused until a heartbeat response.
      mustAppendEntry(r, entry({ data: bytes('somedata') }));
      r.sendAppend(2n);
      const ms = r.readMessages();
      assert.equal(ms.length, 1);
      assert.equal(ms[0].index, 0);
    }
    assert.ok(pr2.msgAppFlowPaused);
    for (let j = 0; j < 10; j++) {
      mustAppendEntry(r, entry({ data: bytes('somedata') }));
      r.sendAppend(2n);
      assert.deepEqual(r.readMessages(), []);
    }
    for (let j = 0; j < r.heartbeatTimeout; j++) r.step(beat(1n));
    assert.ok(pr2.msgAppFlowPaused);
    const ms = r.readMessages();
    assert.equal(ms.length, 1);
    assert.equal(ms[0].type, M.MsgHeartbeat);
  }
  r.step(msg({ from: 2n, to: 1n, type: M.MsgHeartbeatResp }));
  const ms = r.readMessages();
  assert.equal(ms.length, 1);
  assert.equal(ms[0].index, 0);
  assert.ok(pr2.msgAppFlowPaused);
});

test('sendAppend in replicate state sends every time; in snapshot state never', () => {
  const r = newTestRaft(1n, 10, 1, peers(1, 2));
  r.becomeCandidate();
  r.becomeLeader();
  r.readMessages();
  r.trk.progress.get(2n)!.becomeReplicate();
  for (let i = 0; i < 10; i++) {
    mustAppendEntry(r, entry({ data: bytes('somedata') }));
    r.sendAppend(2n);
    assert.equal(r.readMessages().length, 1, `#${i}`);
  }
  r.trk.progress.get(2n)!.becomeSnapshot(10);
  for (let i = 0; i < 10; i++) {
    mustAppendEntry(r, entry({ data: bytes('somedata') }));
    r.sendAppend(2n);
    assert.deepEqual(r.readMessages(), [], `#${i}`);
  }
});

test('MsgUnreachable moves a replicating follower back to probe', () => {
  const s = peers(1, 2);
  s.append(indexTerms(1, 1, 2, 3));
  const r = newTestRaft(1n, 10, 1, s);
  r.becomeCandidate();
  r.becomeLeader();
  r.readMessages();
  const pr = r.trk.progress.get(2n)!;
  pr.match = 3;
  pr.becomeReplicate();
  pr.next = 6;
  r.step(msg({ from: 2n, to: 1n, type: M.MsgUnreachable }));
  assert.equal(pr.state, ProgressStateType.StateProbe);
  assert.equal(pr.next, pr.match + 1);
});

test('fast log rejection finds the conflict in one round trip', () => {
  const cases: [Entry[], Entry[], number, number, number, number, number][] = [
    // leader log, follower log, follower compaction, hint term, hint index, next append term, index
    [indexTerms(1, 1, 2, 2, 4, 4, 4, 4), indexTerms(1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3), 0, 3, 7, 2, 3],
    [indexTerms(1, 1, 2, 2, 3, 4, 4, 4, 5), indexTerms(1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3), 0, 3, 8, 3, 4],
    [indexTerms(1, 1, 1, 1, 1), indexTerms(1, 1, 2, 2, 4), 0, 1, 1, 1, 1],
    [indexTerms(1, 1, 1, 1, 1, 1, 1), indexTerms(1, 1, 2, 2, 4), 0, 1, 1, 1, 1],
    [indexTerms(1, 1, 1, 1, 1), indexTerms(1, 1, 2, 2, 4, 4, 4), 0, 1, 1, 1, 1],
    [indexTerms(1, 1, 1, 1, 4, 5), indexTerms(1, 1, 1, 1, 4), 0, 4, 4, 4, 4],
    [indexTerms(1, 2, 5, 5, 5, 5, 5, 5, 5, 5), indexTerms(1, 2, 4, 4, 4, 4, 4), 0, 4, 6, 2, 1],
    [indexTerms(1, 2, 2, 2, 2, 2), indexTerms(1, 2, 4, 4, 4, 4, 4, 4, 4), 0, 2, 1, 2, 1],
    // A stale append after the follower compacted past its index.
    [indexTerms(1, 1, 1, 3), indexTerms(1, 1, 1, 3, 3, 3), 5, 0, 3, 1, 2],
  ];
  cases.forEach(([leaderLog, followerLog, followerCompact, hintTerm, hintIndex, nextTerm, nextIndex], i) => {
    const s1 = three();
    s1.append(leaderLog);
    const last = leaderLog[leaderLog.length - 1];
    s1.setHardState({ term: last.term - 1, vote: None, commit: last.index });
    const n1 = newTestRaft(1n, 10, 1, s1);
    n1.becomeCandidate(); // term = last.term
    n1.becomeLeader();

    const s2 = three();
    s2.append(followerLog);
    s2.setHardState({ term: last.term, vote: 1n, commit: 0 });
    const n2 = newTestRaft(2n, 10, 1, s2);
    if (followerCompact !== 0) s2.compact(followerCompact);

    assert.equal(n2.step(msg({ from: 1n, to: 2n, type: M.MsgHeartbeat })), null);
    let ms = n2.readMessages();
    assert.equal(ms.length, 1);
    assert.equal(ms[0].type, M.MsgHeartbeatResp);
    assert.equal(n1.step(ms[0]), null);
    ms = n1.readMessages();
    assert.equal(ms.length, 1);
    assert.equal(ms[0].type, M.MsgApp);
    assert.equal(n2.step(ms[0]), null);
    ms = n2.readMessages();
    assert.equal(ms.length, 1);
    assert.equal(ms[0].type, M.MsgAppResp);
    assert.ok(ms[0].reject, `#${i}`);
    assert.equal(ms[0].logTerm, hintTerm, `#${i} hint term`);
    assert.equal(ms[0].rejectHint, hintIndex, `#${i} hint index`);
    assert.equal(n1.step(ms[0]), null);
    ms = n1.readMessages();
    assert.equal(ms[0].logTerm, nextTerm, `#${i} next term`);
    assert.equal(ms[0].index, nextIndex, `#${i} next index`);
  });
});

test('a reordered rejection below match re-sends from match', () => {
  const r1 = newTestRaft(1n, 10, 1, peers(1, 2));
  r1.becomeCandidate();
  r1.becomeLeader();
  r1.readMessages();
  r1.trk.progress.get(2n)!.becomeReplicate();
  const r2 = newTestRaft(2n, 10, 1, peers(1, 2));
  mustAppendEntry(r1, entry({ data: bytes('somedata') }));
  r1.sendAppend(2n);
  const req1 = expectOneMessage(r1);
  mustAppendEntry(r1, entry({ data: bytes('somedata') }));
  r1.sendAppend(2n);
  const req2 = expectOneMessage(r1);
  // r2 gets the second append first and rejects it.
  r2.step(req2);
  const resp2 = expectOneMessage(r2);
  assert.ok(resp2.reject);
  assert.equal(resp2.rejectHint, 0);
  assert.equal(resp2.index, 2);
  r2.step(req1);
  let m = expectOneMessage(r2);
  assert.equal(m.reject, false);
  assert.equal(m.index, 2);
  r1.step(m);
  m = expectOneMessage(r1);
  assert.equal(r1.trk.progress.get(2n)!.match, 2);
  r1.step(msg({ from: 2n, to: 1n, type: M.MsgUnreachable }));
  assert.equal(r1.trk.progress.get(2n)!.state, ProgressStateType.StateProbe);
  r1.step(resp2);
  m = expectOneMessage(r1);
  assert.equal(m.index, r1.trk.progress.get(2n)!.match);
});

// ---------------------------------------------------------------------------------------------
// ReadIndex

function readIndexCluster(configure?: (r: Raft) => void): [Raft, Raft, Raft, Network] {
  const a = newTestRaft(1n, 10, 1, three());
  const b = newTestRaft(2n, 10, 1, three());
  const c = newTestRaft(3n, 10, 1, three());
  for (const r of [a, b, c]) configure?.(r);
  const nt = newNetwork(a, b, c);
  setRandomizedElectionTimeout(b, b.electionTimeout + 1);
  for (let i = 0; i < b.electionTimeout; i++) b.tick();
  nt.send(hup(1n));
  assert.equal(a.state, S.StateLeader);
  return [a, b, c, nt];
}

for (const lease of [false, true]) {
  test(`ReadIndex ${lease ? 'lease-based' : 'safe'}: every node gets the leader's commit index`, () => {
    const [a, b, c, nt] = readIndexCluster(
      lease
        ? (r) => {
            r.readOnly = new ReadOnly(ReadOnlyOption.ReadOnlyLeaseBased);
            r.checkQuorum = true;
          }
        : undefined,
    );
    const cases: [Raft, number, number, string][] = [
      [a, 10, 11, 'ctx1'],
      [b, 10, 21, 'ctx2'],
      [c, 10, 31, 'ctx3'],
      [a, 10, 41, 'ctx4'],
      [b, 10, 51, 'ctx5'],
      [c, 10, 61, 'ctx6'],
    ];
    cases.forEach(([r, proposals, wri, wctx], i) => {
      for (let j = 0; j < proposals; j++) nt.send(emptyProp(1n));
      nt.send(msg({ from: r.id, to: r.id, type: M.MsgReadIndex, entries: [entry({ data: bytes(wctx) })] }));
      assert.ok(r.readStates.length > 0, `#${i}`);
      assert.equal(r.readStates[0].index, wri, `#${i}`);
      assert.deepEqual(r.readStates[0].requestCtx, bytes(wctx), `#${i}`);
      r.readStates = [];
    });
  });
}

test('ReadIndex with a learner: learners can read through the leader', () => {
  const s = newTestMemoryStorage(withPeers(1n), withLearners(2n));
  const a = newTestLearnerRaft(1n, 10, 1, s);
  const b = newTestLearnerRaft(2n, 10, 1, newTestMemoryStorage(withPeers(1n), withLearners(2n)));
  const nt = newNetwork(a, b);
  setRandomizedElectionTimeout(b, b.electionTimeout + 1);
  for (let i = 0; i < b.electionTimeout; i++) b.tick();
  nt.send(hup(1n));
  assert.equal(a.state, S.StateLeader);
  const cases: [Raft, number, number, string][] = [
    [a, 10, 11, 'ctx1'],
    [b, 10, 21, 'ctx2'],
    [a, 10, 31, 'ctx3'],
    [b, 10, 41, 'ctx4'],
  ];
  cases.forEach(([r, proposals, wri, wctx], i) => {
    for (let j = 0; j < proposals; j++) {
      nt.send(emptyProp(1n));
      nextEnts(a, s);
    }
    nt.send(msg({ from: r.id, to: r.id, type: M.MsgReadIndex, entries: [entry({ data: bytes(wctx) })] }));
    assert.ok(r.readStates.length > 0, `#${i}`);
    assert.equal(r.readStates[0].index, wri, `#${i}`);
    assert.deepEqual(r.readStates[0].requestCtx, bytes(wctx), `#${i}`);
    r.readStates = [];
  });
});

test('ReadIndex on a new leader waits for a commit in its term', () => {
  const nodeConfigs: [bigint, number, number, number][] = [
    [1n, 1, 1, 0],
    [2n, 2, 2, 2],
    [3n, 2, 2, 2],
  ];
  const rs: Raft[] = [];
  for (const [id, committed, applied, compactIndex] of nodeConfigs) {
    const storage = three();
    storage.append(indexTerms(1, 1, 1));
    storage.setHardState({ term: 1, vote: None, commit: committed });
    if (compactIndex !== 0) storage.compact(compactIndex);
    const c = newTestConfig(id, 10, 1, storage);
    c.applied = applied;
    rs.push(newRaft(c));
  }
  const nt = newNetwork(...rs);
  // Keep the new leader from committing in its term.
  nt.ignore(M.MsgApp);
  nt.send(hup(1n));
  const sm = rs[0];
  assert.equal(sm.state, S.StateLeader);
  const wctx = bytes('ctx');
  nt.send(msg({ from: 1n, to: 1n, type: M.MsgReadIndex, entries: [entry({ data: wctx })] }));
  assert.equal(sm.readStates.length, 0);
  nt.recover();
  for (let i = 0; i < sm.heartbeatTimeout; i++) sm.tick();
  nt.send(emptyProp(1n));
  assert.equal(sm.raftLog.committed, 4);
  assert.ok(sm.committedEntryInCurrentTerm());
  // The postponed request was answered.
  assert.equal(sm.readStates.length, 1);
  assert.equal(sm.readStates[0].index, 4);
  assert.deepEqual(sm.readStates[0].requestCtx, wctx);
  nt.send(msg({ from: 1n, to: 1n, type: M.MsgReadIndex, entries: [entry({ data: wctx })] }));
  assert.equal(sm.readStates.length, 2);
  assert.equal(sm.readStates[1].index, 4);
});

test('ReadIndex frees its bookkeeping once confirmed', () => {
  const sm = newTestRaft(1n, 5, 1, peers(1, 2));
  sm.becomeCandidate();
  sm.becomeLeader();
  sm.raftLog.commitTo(sm.raftLog.lastIndex());
  const ctx = bytes('ctx');
  sm.step(msg({ from: 2n, type: M.MsgReadIndex, entries: [entry({ data: ctx })] }));
  const ms = sm.readMessages();
  assert.equal(ms.length, 1);
  assert.equal(ms[0].type, M.MsgHeartbeat);
  assert.deepEqual(ms[0].context, ctx);
  assert.equal(sm.readOnly.readIndexQueue.length, 1);
  assert.equal(sm.readOnly.pendingReadIndex.size, 1);
  sm.step(msg({ from: 2n, type: M.MsgHeartbeatResp, context: ctx }));
  assert.equal(sm.readOnly.readIndexQueue.length, 0);
  assert.equal(sm.readOnly.pendingReadIndex.size, 0);
  // The remote request was answered with a MsgReadIndexResp.
  const resp = sm.readMessages().filter((m) => m.type === M.MsgReadIndexResp);
  assert.equal(resp.length, 1);
  assert.equal(resp[0].to, 2n);
  assert.equal(resp[0].index, sm.raftLog.committed);
});

// ---------------------------------------------------------------------------------------------
// Snapshots and restore

test('restore replaces log and configuration; a repeat is ignored', () => {
  const s = testSnapshot(11, 11, [1n, 2n, 3n]);
  const sm = newTestRaft(1n, 10, 1, peers(1, 2));
  assert.ok(sm.restore(s));
  assert.equal(sm.raftLog.lastIndex(), 11);
  assert.equal(sm.raftLog.term(11)[0], 11);
  assert.deepEqual(sm.trk.voterNodes(), [1n, 2n, 3n]);
  assert.equal(sm.restore(s), false);
  // No campaign while the snapshot is pending application.
  for (let i = 0; i < sm.randomizedElectionTimeout; i++) sm.tick();
  assert.equal(sm.state, S.StateFollower);
});

test('restore with learners and outgoing voters', () => {
  const s = testSnapshot(11, 11, [1n, 2n], [3n]);
  const sm = newTestLearnerRaft(3n, 8, 2, newTestMemoryStorage(withPeers(1n, 2n), withLearners(3n)));
  assert.ok(sm.restore(s));
  assert.equal(sm.raftLog.lastIndex(), 11);
  assert.equal(sm.trk.voterNodes().length, 2);
  assert.equal(sm.trk.learnerNodes().length, 1);
  for (const n of [1n, 2n]) assert.equal(sm.trk.progress.get(n)!.isLearner, false);
  assert.equal(sm.trk.progress.get(3n)!.isLearner, true);
  assert.equal(sm.restore(s), false);

  const so = testSnapshot(11, 11, [2n, 3n, 4n]);
  so.metadata.confState.votersOutgoing = [1n, 2n, 3n];
  const sm2 = newTestRaft(1n, 10, 1, peers(1, 2));
  assert.ok(sm2.restore(so));
  assert.deepEqual(sm2.trk.voterNodes(), [1n, 2n, 3n, 4n]);
  assert.equal(sm2.restore(so), false);
  for (let i = 0; i < sm2.randomizedElectionTimeout; i++) sm2.tick();
  assert.equal(sm2.state, S.StateFollower);
});

test('restore can demote a voter to learner and promote a learner', () => {
  const demote = newTestRaft(3n, 10, 1, three());
  assert.equal(demote.isLearner, false);
  assert.ok(demote.restore(testSnapshot(11, 11, [1n, 2n], [3n])));
  assert.equal(demote.isLearner, true);

  const promote = newTestLearnerRaft(3n, 10, 1, newTestMemoryStorage(withPeers(1n, 2n), withLearners(3n)));
  assert.equal(promote.isLearner, true);
  assert.ok(promote.restore(testSnapshot(11, 11, [1n, 2n, 3n])));
  assert.equal(promote.isLearner, false);
});

test('a learner receives a snapshot from the leader', () => {
  const store = newTestMemoryStorage(withPeers(1n), withLearners(2n));
  const n1 = newTestLearnerRaft(1n, 10, 1, store);
  const n2 = newTestLearnerRaft(2n, 10, 1, newTestMemoryStorage(withPeers(1n), withLearners(2n)));
  n1.restore(testSnapshot(11, 11, [1n], [2n]));
  const snap = n1.raftLog.nextUnstableSnapshot()!;
  store.applySnapshot(snap);
  n1.appliedSnap(snap);
  const nt = newNetwork(n1, n2);
  setRandomizedElectionTimeout(n1, n1.electionTimeout);
  for (let i = 0; i < n1.electionTimeout; i++) n1.tick();
  nt.send(beat(1n));
  assert.equal(n2.raftLog.committed, n1.raftLog.committed);
});

test('restore ignores an old snapshot but fast-forwards commit to a matching one', () => {
  const commit = 1;
  const sm = newTestRaft(1n, 10, 1, peers(1, 2));
  sm.raftLog.append(indexTerms(1, 1, 1, 1));
  sm.raftLog.commitTo(commit);
  const s = testSnapshot(commit, 1, [1n, 2n]);
  assert.equal(sm.restore(s), false);
  assert.equal(sm.raftLog.committed, commit);
  s.metadata.index = commit + 1;
  assert.equal(sm.restore(s), false);
  assert.equal(sm.raftLog.committed, commit + 1);
});

test('the leader sends a snapshot to a recently active follower that needs one, not to an inactive one', () => {
  const mk = () => {
    const sm = newTestRaft(1n, 10, 1, peers(1));
    sm.restore(testSnapshot(11, 11, [1n, 2n]));
    sm.becomeCandidate();
    sm.becomeLeader();
    return sm;
  };
  const sm = mk();
  sm.trk.progress.get(2n)!.next = sm.raftLog.firstIndex();
  sm.step(msg({ from: 2n, to: 1n, type: M.MsgAppResp, index: sm.trk.progress.get(2n)!.next - 1, reject: true }));
  const ms = sm.readMessages();
  assert.equal(ms.length, 1);
  assert.equal(ms[0].type, M.MsgSnap);

  const idle = mk();
  idle.trk.progress.get(2n)!.next = idle.raftLog.firstIndex() - 1;
  idle.trk.progress.get(2n)!.recentActive = false;
  idle.step(prop(1n));
  assert.deepEqual(idle.readMessages(), []);
});

test('a follower learns the leader from MsgSnap', () => {
  const sm = newTestRaft(2n, 10, 1, peers(1, 2));
  sm.step(msg({ type: M.MsgSnap, from: 1n, term: 2, snapshot: testSnapshot(11, 11, [1n, 2n]) }));
  assert.equal(sm.lead, 1n);
});

test('a slow node is restored from a snapshot and catches up', () => {
  const nt = newNetwork(null, null, null);
  nt.send(hup(1n));
  nt.isolate(3n);
  for (let j = 0; j <= 100; j++) nt.send(emptyProp(1n));
  const lead = raftOf(nt, 1);
  nextEnts(lead, nt.storage.get(1n)!);
  const st1 = nt.storage.get(1n)!;
  st1.createSnapshot(lead.raftLog.applied, { ...lead.trk.confState() }, EMPTY_BYTES);
  st1.compact(lead.raftLog.applied);
  nt.recover();
  // Heartbeats until the leader sees 3 as active again.
  do nt.send(beat(1n));
  while (!lead.trk.progress.get(3n)!.recentActive);
  nt.send(emptyProp(1n));
  const follower = raftOf(nt, 3);
  nt.send(emptyProp(1n));
  assert.equal(follower.raftLog.committed, lead.raftLog.committed);
});

// ---------------------------------------------------------------------------------------------
// Configuration changes

test('a proposed conf change sets pendingConfIndex; a second one becomes a no-op', () => {
  const r = newTestRaft(1n, 10, 1, peers(1, 2));
  r.becomeCandidate();
  r.becomeLeader();
  const index = r.raftLog.lastIndex();
  const ccEntry = () =>
    entry({ type: EntryType.EntryConfChange, data: encodeConfChange(cc(ConfChangeType.ConfChangeAddNode, 3n)) });
  r.step(msg({ from: 1n, to: 1n, type: M.MsgProp, entries: [ccEntry()] }));
  assert.equal(r.raftLog.lastIndex(), index + 1);
  assert.equal(r.pendingConfIndex, index + 1);
  const pending = r.pendingConfIndex;
  r.step(msg({ from: 1n, to: 1n, type: M.MsgProp, entries: [ccEntry()] }));
  const [ents, err] = r.raftLog.entries(index + 2, Infinity);
  assert.equal(err, null);
  assert.deepEqual(
    ents.map((e) => [e.type, e.term, e.index, e.data.length]),
    [[EntryType.EntryNormal, 1, 3, 0]],
  );
  assert.equal(r.pendingConfIndex, pending);
});

test('conf change validation: joint-state checks, and the opt-out', () => {
  const mk = (disable: boolean) => {
    const r = newTestRaft(1n, 10, 1, peers(1, 2), (c) => (c.disableConfChangeValidation = disable));
    r.becomeCandidate();
    r.becomeLeader();
    // Pretend everything is applied so that only the joint-state checks apply.
    nextEnts(r, new MemoryStorage());
    return r;
  };
  const leaveJoint = () =>
    entry({
      type: EntryType.EntryConfChangeV2,
      data: encodeConfChangeV2({ transition: ConfChangeTransition.ConfChangeTransitionAuto, changes: [], context: EMPTY_BYTES }),
    });
  const r = mk(false);
  r.raftLog.appliedTo(r.raftLog.committed, 0);
  r.step(msg({ from: 1n, to: 1n, type: M.MsgProp, entries: [leaveJoint()] }));
  const last = r.raftLog.entries(r.raftLog.lastIndex(), Infinity)[0][0];
  assert.equal(last.type, EntryType.EntryNormal, 'refused: not in a joint config');

  const d = mk(true);
  d.step(msg({ from: 1n, to: 1n, type: M.MsgProp, entries: [leaveJoint()] }));
  const lastD = d.raftLog.entries(d.raftLog.lastIndex(), Infinity)[0][0];
  assert.equal(lastD.type, EntryType.EntryConfChangeV2, 'accepted with validation disabled');
});

test("a new leader's pendingConfIndex covers its uncommitted tail", () => {
  for (const [addEntry, wpending] of [
    [false, 0],
    [true, 1],
  ] as const) {
    const r = newTestRaft(1n, 10, 1, peers(1, 2));
    if (addEntry) mustAppendEntry(r, entry({}));
    r.becomeCandidate();
    r.becomeLeader();
    assert.equal(r.pendingConfIndex, wpending);
  }
});

test('adding and removing voters and learners updates the tracker', () => {
  const r = newTestRaft(1n, 10, 1, peers(1));
  r.applyConfChange(ccV2(ConfChangeType.ConfChangeAddNode, 2n));
  assert.deepEqual(r.trk.voterNodes(), [1n, 2n]);

  const l = newTestRaft(1n, 10, 1, peers(1));
  l.applyConfChange(ccV2(ConfChangeType.ConfChangeAddLearnerNode, 2n));
  assert.equal(l.isLearner, false);
  assert.deepEqual(l.trk.learnerNodes(), [2n]);
  assert.ok(l.trk.progress.get(2n)!.isLearner);
  l.applyConfChange(ccV2(ConfChangeType.ConfChangeAddNode, 2n));
  assert.equal(l.trk.progress.get(2n)!.isLearner, false);
  l.applyConfChange(ccV2(ConfChangeType.ConfChangeAddLearnerNode, 1n));
  assert.ok(l.trk.progress.get(1n)!.isLearner);
  assert.ok(l.isLearner);
  l.applyConfChange(ccV2(ConfChangeType.ConfChangeAddNode, 1n));
  assert.equal(l.trk.progress.get(1n)!.isLearner, false);
  assert.equal(l.isLearner, false);

  const rm = newTestRaft(1n, 10, 1, peers(1, 2));
  rm.applyConfChange(ccV2(ConfChangeType.ConfChangeRemoveNode, 2n));
  assert.deepEqual(rm.trk.voterNodes(), [1n]);
  assert.throws(() => rm.applyConfChange(ccV2(ConfChangeType.ConfChangeRemoveNode, 1n)), /removed all voters/);

  const rl = newTestLearnerRaft(1n, 10, 1, newTestMemoryStorage(withPeers(1n), withLearners(2n)));
  rl.applyConfChange(ccV2(ConfChangeType.ConfChangeRemoveNode, 2n));
  assert.deepEqual(rl.trk.voterNodes(), [1n]);
  assert.deepEqual(rl.trk.learnerNodes(), []);
  assert.throws(() => rl.applyConfChange(ccV2(ConfChangeType.ConfChangeRemoveNode, 1n)));
});

test('adding a node with checkQuorum does not trigger an immediate step-down', () => {
  const r = newTestRaft(1n, 10, 1, peers(1));
  r.checkQuorum = true;
  r.becomeCandidate();
  r.becomeLeader();
  for (let i = 0; i < r.electionTimeout - 1; i++) r.tick();
  r.applyConfChange(ccV2(ConfChangeType.ConfChangeAddNode, 2n));
  r.tick();
  assert.equal(r.state, S.StateLeader);
  for (let i = 0; i < r.electionTimeout; i++) r.tick();
  assert.equal(r.state, S.StateFollower);
});

test('promotable and voter nodes', () => {
  const cases: [number[], boolean][] = [
    [[1], true],
    [[1, 2, 3], true],
    [[], false],
    [[2, 3], false],
  ];
  for (const [ps, wp] of cases) assert.equal(newTestRaft(1n, 5, 1, peers(...ps)).promotable(), wp, `${ps}`);
  assert.deepEqual(newTestRaft(1n, 10, 1, peers(3, 2, 1)).trk.voterNodes(), [1n, 2n, 3n]);
});

for (const preVote of [false, true]) {
  test(`campaigning while leader is a no-op${preVote ? ' (prevote)' : ''}`, () => {
    const c = newTestConfig(1n, 5, 1, peers(1));
    c.preVote = preVote;
    const r = newRaft(c);
    assert.equal(r.state, S.StateFollower);
    r.step(hup(1n));
    r.advanceMessagesAfterAppend();
    assert.equal(r.state, S.StateLeader);
    const term = r.term;
    r.step(hup(1n));
    r.advanceMessagesAfterAppend();
    assert.equal(r.state, S.StateLeader);
    assert.equal(r.term, term);
  });
}

test('removing a node lowers the quorum so pending entries commit', () => {
  const s = peers(1, 2);
  const r = newTestRaft(1n, 5, 1, s);
  r.becomeCandidate();
  r.becomeLeader();
  const rm = cc(ConfChangeType.ConfChangeRemoveNode, 2n);
  r.step(msg({ type: M.MsgProp, entries: [entry({ type: EntryType.EntryConfChange, data: encodeConfChange(rm) })] }));
  assert.deepEqual(nextEnts(r, s), []);
  const ccIndex = r.raftLog.lastIndex();
  r.step(msg({ type: M.MsgProp, entries: [entry({ data: bytes('hello') })] }));
  r.step(msg({ type: M.MsgAppResp, from: 2n, index: ccIndex }));
  let ents = nextEnts(r, s);
  assert.equal(ents.length, 2);
  assert.equal(ents[0].type, EntryType.EntryNormal);
  assert.equal(ents[0].data.length, 0);
  assert.equal(ents[1].type, EntryType.EntryConfChange);
  r.applyConfChange(confChangeAsV2(rm));
  ents = nextEnts(r, s);
  assert.equal(ents.length, 1);
  assert.equal(ents[0].type, EntryType.EntryNormal);
  assert.deepEqual(ents[0].data, bytes('hello'));
});

test('a removed leader steps down only with stepDownOnRemoval', () => {
  for (const stepDown of [false, true]) {
    const r = newTestRaft(1n, 5, 1, peers(1, 2), (c) => (c.stepDownOnRemoval = stepDown));
    r.becomeCandidate();
    r.becomeLeader();
    r.applyConfChange(ccV2(ConfChangeType.ConfChangeRemoveNode, 1n));
    assert.equal(r.state, stepDown ? S.StateFollower : S.StateLeader);
    if (!stepDown) assert.equal(r.step(prop(1n)), ErrProposalDropped, 'a removed leader drops proposals');
  }
});

test('a joint config with autoLeave is left automatically once applied', () => {
  const s = peers(1);
  const r = newTestRaft(1n, 5, 1, s);
  r.becomeCandidate();
  r.becomeLeader();
  nextEnts(r, s);
  const enter: ConfChangeV2 = {
    transition: ConfChangeTransition.ConfChangeTransitionJointImplicit,
    changes: [{ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 2n }],
    context: EMPTY_BYTES,
  };
  r.step(msg({ type: M.MsgProp, entries: [entry({ type: EntryType.EntryConfChangeV2, data: encodeConfChangeV2(enter) })] }));
  const ents = nextEnts(r, s);
  assert.equal(ents.length, 1);
  r.applyConfChange(enter);
  assert.ok(r.trk.config.autoLeave);
  assert.ok(r.trk.config.voters.isJoint());
  // Applying up to the conf change proposes the empty ConfChangeV2 that leaves the joint config.
  const before = r.raftLog.lastIndex();
  r.appliedTo(ents[0].index, 0);
  assert.equal(r.raftLog.lastIndex(), before + 1);
  const leave = nextEnts(r, s);
  assert.equal(leave.length, 1);
  assert.equal(leave[0].type, EntryType.EntryConfChangeV2);
  assert.equal(leave[0].data.length, 0);
  r.applyConfChange({ transition: ConfChangeTransition.ConfChangeTransitionAuto, changes: [], context: EMPTY_BYTES });
  assert.equal(r.trk.config.voters.isJoint(), false);
  assert.deepEqual(r.trk.learnerNodes(), [2n]);
});

for (const v2 of [false, true]) {
  test(`an unapplied committed conf change blocks campaigning (${v2 ? 'v2' : 'v1'})`, () => {
    const nt = newNetwork(null, null, null);
    const n1 = raftOf(nt, 1);
    const n2 = raftOf(nt, 2);
    nt.send(hup(1n));
    assert.equal(n1.state, S.StateLeader);
    const rm = cc(ConfChangeType.ConfChangeRemoveNode, 2n);
    const e = v2
      ? entry({ type: EntryType.EntryConfChangeV2, data: encodeConfChangeV2(confChangeAsV2(rm)) })
      : entry({ type: EntryType.EntryConfChange, data: encodeConfChange(rm) });
    nt.send(msg({ from: 1n, to: 1n, type: M.MsgProp, entries: [e] }));
    for (let i = 0; i < n2.randomizedElectionTimeout; i++) n2.tick();
    assert.equal(n2.state, S.StateFollower);
    nt.send(transfer(2n, 1n));
    assert.equal(n1.state, S.StateLeader);
    assert.equal(n2.state, S.StateFollower);
    // Abort the transfer, then apply on 2 and try again.
    for (let i = 0; i < n1.electionTimeout; i++) n1.tick();
    nextEnts(n2, nt.storage.get(2n)!);
    nt.send(transfer(2n, 1n));
    assert.equal(n1.state, S.StateFollower);
    assert.equal(n2.state, S.StateLeader);
    nextEnts(n1, nt.storage.get(1n)!);
    for (let i = 0; i < n1.randomizedElectionTimeout; i++) n1.tick();
    assert.equal(n1.state, S.StateCandidate);
  });
}

// ---------------------------------------------------------------------------------------------
// Leadership transfer

test('transfer to an up-to-date node, and back (via leader and via follower)', () => {
  for (const viaFollower of [false, true]) {
    const nt = newNetwork(null, null, null);
    nt.send(hup(1n));
    const lead = raftOf(nt, 1);
    assert.equal(lead.lead, 1n);
    nt.send(transfer(2n, viaFollower ? 2n : 1n));
    checkLeaderTransferState(lead, S.StateFollower, 2n);
    nt.send(emptyProp(1n));
    nt.send(transfer(1n, viaFollower ? 1n : 2n));
    checkLeaderTransferState(lead, S.StateLeader, 1n);
  }
});

test('transfer works while the leader holds a checkQuorum lease', () => {
  const nt = newNetwork(null, null, null);
  for (let i = 1; i < 4; i++) {
    const r = raftOf(nt, i);
    r.checkQuorum = true;
    setRandomizedElectionTimeout(r, r.electionTimeout + i);
  }
  const f = raftOf(nt, 2);
  for (let i = 0; i < f.electionTimeout; i++) f.tick();
  nt.send(hup(1n));
  const lead = raftOf(nt, 1);
  assert.equal(lead.state, S.StateLeader);
  nt.send(transfer(2n, 1n));
  checkLeaderTransferState(lead, S.StateFollower, 2n);
  nt.send(emptyProp(1n));
  nt.send(transfer(1n, 2n));
  checkLeaderTransferState(lead, S.StateLeader, 1n);
});

test('transfer to a slow follower catches it up first', () => {
  const nt = newNetwork(null, null, null);
  nt.send(hup(1n));
  nt.isolate(3n);
  nt.send(emptyProp(1n));
  nt.recover();
  const lead = raftOf(nt, 1);
  assert.equal(lead.trk.progress.get(3n)!.match, 1);
  nt.send(transfer(3n, 1n));
  checkLeaderTransferState(lead, S.StateFollower, 3n);
});

test('transfer to a follower that needs a snapshot completes after it applies it', () => {
  const nt = newNetwork(null, null, null);
  nt.send(hup(1n));
  nt.isolate(3n);
  nt.send(emptyProp(1n));
  const lead = raftOf(nt, 1);
  nextEnts(lead, nt.storage.get(1n)!);
  const st1 = nt.storage.get(1n)!;
  st1.createSnapshot(lead.raftLog.applied, lead.trk.confState(), EMPTY_BYTES);
  st1.compact(lead.raftLog.applied);
  nt.recover();
  assert.equal(lead.trk.progress.get(3n)!.match, 1);
  let filtered: Message | null = null;
  // The snapshot must be applied before the follower's MsgAppResp counts.
  nt.msgHook = (m) => {
    if (m.type !== M.MsgAppResp || m.from !== 3n || m.reject) return true;
    filtered = m;
    return false;
  };
  nt.send(transfer(3n, 1n));
  assert.equal(lead.state, S.StateLeader);
  assert.notEqual(filtered, null);
  const follower = raftOf(nt, 3);
  const snap = follower.raftLog.nextUnstableSnapshot()!;
  nt.storage.get(3n)!.applySnapshot(snap);
  follower.appliedSnap(snap);
  nt.msgHook = null;
  nt.send(filtered!);
  checkLeaderTransferState(lead, S.StateFollower, 3n);
});

test('transfer to self or to a non-member is a no-op', () => {
  const nt = newNetwork(null, null, null);
  nt.send(hup(1n));
  const lead = raftOf(nt, 1);
  nt.send(transfer(1n, 1n));
  checkLeaderTransferState(lead, S.StateLeader, 1n);
  nt.send(transfer(4n, 1n));
  checkLeaderTransferState(lead, S.StateLeader, 1n);
});

test('a transfer times out after an election timeout', () => {
  const nt = newNetwork(null, null, null);
  nt.send(hup(1n));
  nt.isolate(3n);
  const lead = raftOf(nt, 1);
  nt.send(transfer(3n, 1n));
  assert.equal(lead.leadTransferee, 3n);
  for (let i = 0; i < lead.heartbeatTimeout; i++) lead.tick();
  assert.equal(lead.leadTransferee, 3n);
  for (let i = 0; i < lead.electionTimeout - lead.heartbeatTimeout; i++) lead.tick();
  checkLeaderTransferState(lead, S.StateLeader, 1n);
});

test('proposals are dropped while a transfer is pending', () => {
  const s = three();
  const r = newTestRaft(1n, 10, 1, s);
  const nt = newNetwork(r, null, null);
  nt.send(hup(1n));
  nt.isolate(3n);
  const lead = raftOf(nt, 1);
  nextEnts(r, s);
  nt.send(transfer(3n, 1n));
  assert.equal(lead.leadTransferee, 3n);
  nt.send(emptyProp(1n));
  assert.equal(lead.step(emptyProp(1n)), ErrProposalDropped);
  assert.equal(lead.trk.progress.get(1n)!.match, 1);
});

test('a higher-term vote during a transfer deposes the leader', () => {
  const nt = newNetwork(null, null, null);
  nt.send(hup(1n));
  nt.isolate(3n);
  const lead = raftOf(nt, 1);
  nt.send(transfer(3n, 1n));
  assert.equal(lead.leadTransferee, 3n);
  nt.send(msg({ from: 2n, to: 2n, type: M.MsgHup, index: 1, term: 2 }));
  checkLeaderTransferState(lead, S.StateFollower, 2n);
});

test('removing or demoting the transferee aborts the transfer', () => {
  const nt = newNetwork(null, null, null);
  nt.send(hup(1n));
  nt.ignore(M.MsgTimeoutNow);
  const lead = raftOf(nt, 1);
  nt.send(transfer(3n, 1n));
  assert.equal(lead.leadTransferee, 3n);
  lead.applyConfChange(ccV2(ConfChangeType.ConfChangeRemoveNode, 3n));
  checkLeaderTransferState(lead, S.StateLeader, 1n);

  const nt2 = newNetwork(null, null, null);
  nt2.send(hup(1n));
  nt2.ignore(M.MsgTimeoutNow);
  const lead2 = raftOf(nt2, 1);
  nt2.send(transfer(3n, 1n));
  assert.equal(lead2.leadTransferee, 3n);
  lead2.applyConfChange({
    transition: ConfChangeTransition.ConfChangeTransitionAuto,
    changes: [
      { type: ConfChangeType.ConfChangeRemoveNode, nodeId: 3n },
      { type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 3n },
    ],
    context: EMPTY_BYTES,
  });
  lead2.applyConfChange({ transition: ConfChangeTransition.ConfChangeTransitionAuto, changes: [], context: EMPTY_BYTES });
  checkLeaderTransferState(lead2, S.StateLeader, 1n);
});

test('a pending transfer can be redirected back to self or to another node', () => {
  const back = newNetwork(null, null, null);
  back.send(hup(1n));
  back.isolate(3n);
  const lead = raftOf(back, 1);
  back.send(transfer(3n, 1n));
  assert.equal(lead.leadTransferee, 3n);
  back.send(transfer(1n, 1n));
  checkLeaderTransferState(lead, S.StateLeader, 1n);

  const other = newNetwork(null, null, null);
  other.send(hup(1n));
  other.isolate(3n);
  const lead2 = raftOf(other, 1);
  other.send(transfer(3n, 1n));
  assert.equal(lead2.leadTransferee, 3n);
  other.send(transfer(2n, 1n));
  checkLeaderTransferState(lead2, S.StateFollower, 2n);
});

test('a second transfer request to the same node does not extend the timeout', () => {
  const nt = newNetwork(null, null, null);
  nt.send(hup(1n));
  nt.isolate(3n);
  const lead = raftOf(nt, 1);
  nt.send(transfer(3n, 1n));
  assert.equal(lead.leadTransferee, 3n);
  for (let i = 0; i < lead.heartbeatTimeout; i++) lead.tick();
  nt.send(transfer(3n, 1n));
  for (let i = 0; i < lead.electionTimeout - lead.heartbeatTimeout; i++) lead.tick();
  checkLeaderTransferState(lead, S.StateLeader, 1n);
});

test('MsgTimeoutNow to a removed node does nothing', () => {
  const r = newTestRaft(1n, 5, 1, peers(2, 3, 4));
  r.step(msg({ from: 2n, to: 1n, type: M.MsgTimeoutNow }));
  r.step(msg({ from: 2n, to: 1n, type: M.MsgVoteResp }));
  r.step(msg({ from: 3n, to: 1n, type: M.MsgVoteResp }));
  assert.equal(r.state, S.StateFollower);
});

// ---------------------------------------------------------------------------------------------
// Forget leader, config validation, misc

test('forget leader: followers drop the leader, leaders ignore it, lease-based refuses', () => {
  const nt = newNetwork(null, null, null);
  nt.send(hup(1n));
  const f = raftOf(nt, 2);
  assert.equal(f.lead, 1n);
  f.step(msg({ type: M.MsgForgetLeader }));
  assert.equal(f.lead, None);
  const l = raftOf(nt, 1);
  l.step(msg({ type: M.MsgForgetLeader }));
  assert.equal(l.state, S.StateLeader);

  const lb = newTestRaft(2n, 10, 1, three(), (c) => {
    c.checkQuorum = true;
    c.readOnlyOption = ReadOnlyOption.ReadOnlyLeaseBased;
  });
  lb.becomeFollower(1, 1n);
  lb.step(msg({ type: M.MsgForgetLeader }));
  assert.equal(lb.lead, 1n);
});

test('config validation errors and defaults', () => {
  const base = (): Config => newTestConfig(1n, 10, 1, three());
  const bad: [Partial<Config>, RegExp][] = [
    [{ id: 0n }, /cannot use none as id/],
    [{ id: (1n << 64n) - 1n }, /cannot use local target as id/],
    [{ heartbeatTick: 0 }, /heartbeat tick must be greater than 0/],
    [{ electionTick: 1 }, /election tick must be greater than heartbeat tick/],
    [{ maxInflightMsgs: 0 }, /max inflight messages must be greater than 0/],
    [{ maxSizePerMsg: 1024, maxInflightBytes: 100 }, /max inflight bytes must be >= max message size/],
    [{ readOnlyOption: ReadOnlyOption.ReadOnlyLeaseBased }, /CheckQuorum must be enabled/],
  ];
  for (const [fields, re] of bad) {
    const c = { ...base(), ...fields };
    const err = validateConfig(c);
    assert.ok(err !== null && re.test(err.message), `${JSON.stringify(Object.keys(fields))}: ${err?.message}`);
    assert.throws(() => newRaft({ ...base(), ...fields }), re);
  }
  const c = base();
  c.maxSizePerMsg = 4096;
  assert.equal(validateConfig(c), null);
  assert.equal(c.maxUncommittedEntriesSize, Infinity);
  assert.equal(c.maxCommittedSizePerReady, 4096);
  assert.equal(c.maxInflightBytes, Infinity);
  assert.equal(c.readOnlyOption, ReadOnlyOption.ReadOnlySafe);
});

test('restart from storage keeps term, vote and commit', () => {
  const s = three();
  s.append(indexTerms(1, 1, 1, 2));
  s.setHardState({ term: 2, vote: 3n, commit: 2 });
  const r = newTestRaft(1n, 10, 1, s, (c) => (c.applied = 1));
  assert.equal(r.term, 2);
  assert.equal(r.vote, 3n);
  assert.equal(r.raftLog.committed, 2);
  assert.equal(r.raftLog.applied, 1);
  assert.equal(r.state, S.StateFollower);
  assert.deepEqual(r.hardState(), { term: 2, vote: 3n, commit: 2 });
  assert.deepEqual(r.softState(), { lead: None, raftState: S.StateFollower });
});

test('network helpers: a black hole absorbs everything', () => {
  const bh = new BlackHole();
  assert.equal(bh.step(), null);
  assert.deepEqual(bh.readMessages(), []);
  assert.deepEqual(idsBySize(3), [1n, 2n, 3n]);
});
