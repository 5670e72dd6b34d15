// The Raft paper's rules, one test per group of sentences (etcd-raft raft_paper_test.go): term
// updates, stale terms, elections and randomized timeouts, voting rules, replication and commitment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType, None, type Entry, type Message } from '../../src/raft/raftpb/types.js';
import { StateType } from '../../src/raft/ready.js';
import type { Raft } from '../../src/raft/raft.js';
import {
  acceptAndReply,
  bytes,
  commitNoopEntry,
  entry,
  idsBySize,
  indexTerms,
  msg,
  mustAppendEntry,
  newNetwork,
  newTestMemoryStorage,
  newTestRaft,
  nopStepper,
  sortMessages,
  withPeers,
} from './raftTestUtil.js';

const peers3 = () => newTestMemoryStorage(withPeers(1n, 2n, 3n));

function becomeState(r: Raft, state: StateType): void {
  switch (state) {
    case StateType.StateFollower:
      r.becomeFollower(1, 2n);
      break;
    case StateType.StateCandidate:
      r.becomeCandidate();
      break;
    case StateType.StateLeader:
      r.becomeCandidate();
      r.becomeLeader();
      break;
  }
}

/** Entries of a raft log in (term, index, data) form. */
const tid = (ents: Entry[]) => ents.map((e) => [e.term, e.index, Buffer.from(e.data).toString()]);

for (const state of [StateType.StateFollower, StateType.StateCandidate, StateType.StateLeader]) {
  test(`5.1: a ${StateType[state]} adopts a higher term and reverts to follower`, () => {
    const r = newTestRaft(1n, 10, 1, peers3());
    becomeState(r, state);
    r.step(msg({ type: MessageType.MsgApp, term: 2 }));
    assert.equal(r.term, 2);
    assert.equal(r.state, StateType.StateFollower);
  });
}

test('5.1: messages with a stale term are ignored', () => {
  const r = newTestRaft(1n, 10, 1, peers3());
  let called = false;
  r.stepFn = () => {
    called = true;
    return null;
  };
  r.loadState({ term: 2, vote: None, commit: 0 });
  r.step(msg({ type: MessageType.MsgApp, term: r.term - 1 }));
  assert.equal(called, false);
});

test('5.2: servers start as followers', () => {
  assert.equal(newTestRaft(1n, 10, 1, peers3()).state, StateType.StateFollower);
});

test('5.2: a leader heartbeat carries no entries, index or log term', () => {
  const r = newTestRaft(1n, 10, 1, peers3());
  r.becomeCandidate();
  r.becomeLeader();
  for (let i = 0; i < 10; i++) mustAppendEntry(r, entry({ index: i + 1 }));
  r.tick();
  assert.deepEqual(sortMessages(r.readMessages()), [
    msg({ from: 1n, to: 2n, term: 1, type: MessageType.MsgHeartbeat }),
    msg({ from: 1n, to: 3n, term: 1, type: MessageType.MsgHeartbeat }),
  ]);
});

for (const state of [StateType.StateFollower, StateType.StateCandidate]) {
  test(`5.2: a ${StateType[state]} starts an election after the election timeout`, () => {
    const et = 10;
    const r = newTestRaft(1n, et, 1, peers3());
    if (state === StateType.StateFollower) r.becomeFollower(1, 2n);
    else r.becomeCandidate();
    for (let i = 1; i < 2 * et; i++) r.tick();
    r.advanceMessagesAfterAppend();
    assert.equal(r.term, 2);
    assert.equal(r.state, StateType.StateCandidate);
    assert.equal(r.trk.votes.get(r.id), true);
    assert.deepEqual(sortMessages(r.readMessages()), [
      msg({ from: 1n, to: 2n, term: 2, type: MessageType.MsgVote }),
      msg({ from: 1n, to: 3n, term: 2, type: MessageType.MsgVote }),
    ]);
  });
}

test('5.2: one round of RequestVote wins, loses or stays undecided', () => {
  const cases: [number, [number, boolean][], StateType][] = [
    [1, [], StateType.StateLeader],
    [3, [[2, true], [3, true]], StateType.StateLeader],
    [3, [[2, true]], StateType.StateLeader],
    [5, [[2, true], [3, true], [4, true], [5, true]], StateType.StateLeader],
    [5, [[2, true], [3, true], [4, true]], StateType.StateLeader],
    [5, [[2, true], [3, true]], StateType.StateLeader],
    [3, [[2, false], [3, false]], StateType.StateFollower],
    [5, [[2, false], [3, false], [4, false], [5, false]], StateType.StateFollower],
    [5, [[2, true], [3, false], [4, false], [5, false]], StateType.StateFollower],
    [3, [], StateType.StateCandidate],
    [5, [[2, true]], StateType.StateCandidate],
    [5, [[2, false], [3, false]], StateType.StateCandidate],
    [5, [], StateType.StateCandidate],
  ];
  cases.forEach(([size, votes, state], i) => {
    const r = newTestRaft(1n, 10, 1, newTestMemoryStorage(withPeers(...idsBySize(size))));
    r.step(msg({ from: 1n, to: 1n, type: MessageType.MsgHup }));
    r.advanceMessagesAfterAppend();
    for (const [id, v] of votes) {
      r.step(msg({ from: BigInt(id), to: 1n, term: r.term, type: MessageType.MsgVoteResp, reject: !v }));
    }
    assert.equal(r.state, state, `#${i}`);
    assert.equal(r.term, 1, `#${i}`);
  });
});

test('5.2: a follower votes for at most one candidate per term', () => {
  const cases: [bigint, bigint, boolean][] = [
    [None, 2n, false],
    [None, 3n, false],
    [2n, 2n, false],
    [3n, 3n, false],
    [2n, 3n, true],
    [3n, 2n, true],
  ];
  cases.forEach(([vote, nvote, wreject], i) => {
    const r = newTestRaft(1n, 10, 1, peers3());
    r.loadState({ term: 1, vote, commit: 0 });
    r.step(msg({ from: nvote, to: 1n, term: 1, type: MessageType.MsgVote }));
    assert.deepEqual(
      r.msgsAfterAppend,
      [msg({ from: 1n, to: nvote, term: 1, type: MessageType.MsgVoteResp, reject: wreject })],
      `#${i}`,
    );
  });
});

test('5.2: a candidate hearing from a legitimate leader falls back to follower', () => {
  for (const term of [1, 2]) {
    const r = newTestRaft(1n, 10, 1, peers3());
    r.step(msg({ from: 1n, to: 1n, type: MessageType.MsgHup }));
    assert.equal(r.state, StateType.StateCandidate);
    r.step(msg({ from: 2n, to: 1n, term, type: MessageType.MsgApp }));
    assert.equal(r.state, StateType.StateFollower);
    assert.equal(r.term, term);
    assert.equal(r.lead, 2n);
  }
});

for (const state of [StateType.StateFollower, StateType.StateCandidate]) {
  test(`5.2: a ${StateType[state]}'s election timeout is randomized over [et, 2et)`, () => {
    const et = 10;
    const r = newTestRaft(1n, et, 1, peers3());
    const timeouts = new Set<number>();
    for (let round = 0; round < 50 * et; round++) {
      if (state === StateType.StateFollower) r.becomeFollower(r.term + 1, 2n);
      else r.becomeCandidate();
      let time = 0;
      while (r.readMessages().length === 0) {
        r.tick();
        time++;
      }
      timeouts.add(time);
    }
    for (let d = et; d < 2 * et; d++) assert.ok(timeouts.has(d), `timeout in ${d} ticks should happen`);
    for (const t of timeouts) assert.ok(t >= et && t < 2 * et, `timeout ${t} out of range`);
  });

  test(`5.2: ${StateType[state]}s rarely time out at the same tick`, () => {
    const et = 10;
    const ids = idsBySize(5);
    const rs = ids.map((id) => newTestRaft(id, et, 1, newTestMemoryStorage(withPeers(...ids))));
    let conflicts = 0;
    for (let round = 0; round < 1000; round++) {
      for (const r of rs) {
        if (state === StateType.StateFollower) r.becomeFollower(r.term + 1, None);
        else r.becomeCandidate();
      }
      let timeoutNum = 0;
      while (timeoutNum === 0) {
        for (const r of rs) {
          r.tick();
          if (r.readMessages().length > 0) timeoutNum++;
        }
      }
      if (timeoutNum > 1) conflicts++;
    }
    assert.ok(conflicts / 1000 <= 0.3, `conflict rate ${conflicts / 1000}`);
  });
}

test('5.3: the leader appends a proposal and replicates it with the preceding (index, term)', () => {
  const s = peers3();
  const r = newTestRaft(1n, 10, 1, s);
  r.becomeCandidate();
  r.becomeLeader();
  commitNoopEntry(r, s);
  const li = r.raftLog.lastIndex();
  r.step(msg({ from: 1n, to: 1n, type: MessageType.MsgProp, entries: [entry({ data: bytes('some data') })] }));
  assert.equal(r.raftLog.lastIndex(), li + 1);
  assert.equal(r.raftLog.committed, li);
  const wents = [entry({ index: li + 1, term: 1, data: bytes('some data') })];
  const want = (to: bigint) =>
    msg({ from: 1n, to, term: 1, type: MessageType.MsgApp, index: li, logTerm: 1, entries: wents, commit: li });
  assert.deepEqual(sortMessages(r.readMessages()), [want(2n), want(3n)]);
  assert.deepEqual(r.raftLog.nextUnstableEnts(), wents);
});

test('5.3: once replicated, the leader commits and tells the followers', () => {
  const s = peers3();
  const r = newTestRaft(1n, 10, 1, s);
  r.becomeCandidate();
  r.becomeLeader();
  commitNoopEntry(r, s);
  const li = r.raftLog.lastIndex();
  r.step(msg({ from: 1n, to: 1n, type: MessageType.MsgProp, entries: [entry({ data: bytes('some data') })] }));
  for (const m of r.readMessages()) r.step(acceptAndReply(m));
  assert.equal(r.raftLog.committed, li + 1);
  assert.deepEqual(r.raftLog.nextCommittedEnts(true), [entry({ index: li + 1, term: 1, data: bytes('some data') })]);
  const ms = sortMessages(r.readMessages());
  assert.equal(ms.length, 2);
  ms.forEach((m, i) => {
    assert.equal(m.to, BigInt(i + 2));
    assert.equal(m.type, MessageType.MsgApp);
    assert.equal(m.commit, li + 1);
  });
});

test('5.3: an entry commits once a majority has it', () => {
  const cases: [number, number[], boolean][] = [
    [1, [], true],
    [3, [], false],
    [3, [2], true],
    [3, [2, 3], true],
    [5, [], false],
    [5, [2], false],
    [5, [2, 3], true],
    [5, [2, 3, 4], true],
    [5, [2, 3, 4, 5], true],
  ];
  cases.forEach(([size, acceptors, wack], i) => {
    const s = newTestMemoryStorage(withPeers(...idsBySize(size)));
    const r = newTestRaft(1n, 10, 1, s);
    r.becomeCandidate();
    r.becomeLeader();
    commitNoopEntry(r, s);
    const li = r.raftLog.lastIndex();
    r.step(msg({ from: 1n, to: 1n, type: MessageType.MsgProp, entries: [entry({ data: bytes('some data') })] }));
    r.advanceMessagesAfterAppend();
    for (const m of r.msgs) if (acceptors.includes(Number(m.to))) r.step(acceptAndReply(m));
    assert.equal(r.raftLog.committed > li, wack, `#${i}`);
  });
});

test('5.3: committing an entry commits the entries of previous leaders before it', () => {
  const cases: Entry[][] = [
    [],
    [entry({ term: 2, index: 1 })],
    [entry({ term: 1, index: 1 }), entry({ term: 2, index: 2 })],
    [entry({ term: 1, index: 1 })],
  ];
  cases.forEach((tt, i) => {
    const storage = peers3();
    storage.append(tt);
    const r = newTestRaft(1n, 10, 1, storage);
    r.loadState({ term: 2, vote: None, commit: 0 });
    r.becomeCandidate();
    r.becomeLeader();
    r.step(msg({ from: 1n, to: 1n, type: MessageType.MsgProp, entries: [entry({ data: bytes('some data') })] }));
    for (const m of r.readMessages()) r.step(acceptAndReply(m));
    const li = tt.length;
    assert.deepEqual(
      tid(r.raftLog.nextCommittedEnts(true)),
      tid([...tt, entry({ term: 3, index: li + 1 }), entry({ term: 3, index: li + 2, data: bytes('some data') })]),
      `#${i}`,
    );
  });
});

test('5.3: a follower applies what it learns is committed, in order', () => {
  const e = (index: number, data: string) => entry({ term: 1, index, data: bytes(data) });
  const cases: [Entry[], number][] = [
    [[e(1, 'some data')], 1],
    [[e(1, 'some data'), e(2, 'some data2')], 2],
    [[e(1, 'some data2'), e(2, 'some data')], 2],
    [[e(1, 'some data'), e(2, 'some data2')], 1],
  ];
  cases.forEach(([ents, commit], i) => {
    const r = newTestRaft(1n, 10, 1, peers3());
    r.becomeFollower(1, 2n);
    r.step(msg({ from: 2n, to: 1n, type: MessageType.MsgApp, term: 1, entries: ents, commit }));
    assert.equal(r.raftLog.committed, commit, `#${i}`);
    assert.deepEqual(tid(r.raftLog.nextCommittedEnts(true)), tid(ents.slice(0, commit)), `#${i}`);
  });
});

test('5.3: a follower rejects an append whose previous entry does not match, with a hint', () => {
  const ents = [entry({ term: 1, index: 1 }), entry({ term: 2, index: 2 })];
  const cases: [number, number, number, boolean, number, number][] = [
    // match with committed entries
    [0, 0, 1, false, 0, 0],
    [1, 1, 1, false, 0, 0],
    // match with uncommitted entries
    [2, 2, 2, false, 0, 0],
    // mismatch with an existing entry
    [1, 2, 2, true, 1, 1],
    // entry does not exist
    [3, 3, 3, true, 2, 2],
  ];
  cases.forEach(([term, index, windex, wreject, wrejectHint, wlogterm], i) => {
    const storage = peers3();
    storage.append(ents);
    const r = newTestRaft(1n, 10, 1, storage);
    r.loadState({ term: 0, vote: None, commit: 1 });
    r.becomeFollower(2, 2n);
    r.step(msg({ from: 2n, to: 1n, type: MessageType.MsgApp, term: 2, logTerm: term, index }));
    const want: Message = msg({ from: 1n, to: 2n, type: MessageType.MsgAppResp, term: 2, index: windex });
    if (wreject) {
      want.reject = true;
      want.rejectHint = wrejectHint;
      want.logTerm = wlogterm;
    }
    assert.deepEqual(r.readMessages(), [want], `#${i}`);
  });
});

test('5.3: a follower replaces conflicting entries and appends new ones', () => {
  const cases: [number, number, Entry[], Entry[], Entry[]][] = [
    [2, 2, indexTerms(3, 3), indexTerms(1, 1, 2, 3), indexTerms(3, 3)],
    [1, 1, indexTerms(2, 3, 4), indexTerms(1, 1, 3, 4), indexTerms(2, 3, 4)],
    [0, 0, indexTerms(1, 1), indexTerms(1, 1, 2), []],
    [0, 0, indexTerms(1, 3), indexTerms(1, 3), indexTerms(1, 3)],
  ];
  cases.forEach(([index, term, ents, wents, wunstable], i) => {
    const storage = peers3();
    storage.append(indexTerms(1, 1, 2));
    const r = newTestRaft(1n, 10, 1, storage);
    r.becomeFollower(2, 2n);
    r.step(msg({ from: 2n, to: 1n, type: MessageType.MsgApp, term: 2, logTerm: term, index, entries: ents }));
    assert.deepEqual(tid(r.raftLog.allEntries()), tid(wents), `#${i}`);
    assert.deepEqual(tid(r.raftLog.nextUnstableEnts()), tid(wunstable), `#${i}`);
  });
});

test('5.3 (figure 7): the leader brings any follower log into line with its own', () => {
  const ents = indexTerms(0, 0, 1, 1, 1, 4, 4, 5, 5, 6, 6, 6);
  const term = 8;
  const followers = [
    indexTerms(0, 0, 1, 1, 1, 4, 4, 5, 5, 6, 6),
    indexTerms(0, 0, 1, 1, 1, 4, 4),
    indexTerms(0, 0, 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6),
    indexTerms(0, 0, 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7),
    indexTerms(0, 0, 1, 1, 1, 4, 4, 4, 4),
    indexTerms(0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3),
  ];
  followers.forEach((tt, i) => {
    const leadStorage = peers3();
    leadStorage.append(ents);
    const lead = newTestRaft(1n, 10, 1, leadStorage);
    lead.loadState({ commit: lead.raftLog.lastIndex(), term, vote: None });
    const followerStorage = peers3();
    followerStorage.append(tt);
    const follower = newTestRaft(2n, 10, 1, followerStorage);
    follower.loadState({ term: term - 1, vote: None, commit: 0 });
    // Three nodes: the follower's log may be newer, so the leader needs node 3's vote.
    const n = newNetwork(lead, follower, nopStepper);
    n.send(msg({ from: 1n, to: 1n, type: MessageType.MsgHup }));
    n.send(msg({ from: 3n, to: 1n, type: MessageType.MsgVoteResp, term: term + 1 }));
    n.send(msg({ from: 1n, to: 1n, type: MessageType.MsgProp, entries: [entry({})] }));
    assert.equal(lead.state, StateType.StateLeader, `#${i}`);
    assert.deepEqual(tid(follower.raftLog.allEntries()), tid(lead.raftLog.allEntries()), `#${i}`);
    assert.equal(follower.raftLog.committed, lead.raftLog.committed, `#${i}`);
  });
});

test("5.4.1: a vote request carries the candidate's last (index, term) to every peer", () => {
  const cases: [Entry[], number][] = [
    [indexTerms(1, 1), 2],
    [indexTerms(1, 1, 2), 3],
  ];
  cases.forEach(([ents, wterm], j) => {
    const r = newTestRaft(1n, 10, 1, peers3());
    r.step(msg({ from: 2n, to: 1n, type: MessageType.MsgApp, term: wterm - 1, entries: ents }));
    r.readMessages();
    for (let i = 1; i < r.electionTimeout * 2; i++) r.tickElection();
    const ms = sortMessages(r.readMessages());
    assert.equal(ms.length, 2, `#${j}`);
    ms.forEach((m, i) => {
      assert.equal(m.type, MessageType.MsgVote);
      assert.equal(m.to, BigInt(i + 2));
      assert.equal(m.term, wterm);
      assert.equal(m.index, ents[ents.length - 1].index);
      assert.equal(m.logTerm, ents[ents.length - 1].term);
    });
  });
});

test('5.4.1: a voter denies its vote to a candidate with a less up-to-date log', () => {
  const cases: [Entry[], number, number, boolean][] = [
    // same log term
    [indexTerms(1, 1), 1, 1, false],
    [indexTerms(1, 1), 1, 2, false],
    [indexTerms(1, 1, 1), 1, 1, true],
    // candidate has the higher log term
    [indexTerms(1, 1), 2, 1, false],
    [indexTerms(1, 1), 2, 2, false],
    [indexTerms(1, 1, 1), 2, 1, false],
    // voter has the higher log term
    [indexTerms(1, 2), 1, 1, true],
    [indexTerms(1, 2), 1, 2, true],
    [indexTerms(1, 2, 2), 1, 1, true],
    [indexTerms(1, 1, 1), 1, 1, true],
  ];
  cases.forEach(([ents, logTerm, index, wreject], i) => {
    const storage = newTestMemoryStorage(withPeers(1n, 2n));
    storage.append(ents);
    const r = newTestRaft(1n, 10, 1, storage);
    r.step(msg({ from: 2n, to: 1n, type: MessageType.MsgVote, term: 3, logTerm, index }));
    const ms = r.readMessages();
    assert.equal(ms.length, 1, `#${i}`);
    assert.equal(ms[0].type, MessageType.MsgVoteResp, `#${i}`);
    assert.equal(ms[0].reject, wreject, `#${i}`);
  });
});

test('5.4.2: only entries of the current term commit by counting replicas', () => {
  const cases: [number, number][] = [
    [1, 0],
    [2, 0],
    [3, 3],
  ];
  cases.forEach(([index, wcommit], i) => {
    const storage = newTestMemoryStorage(withPeers(1n, 2n));
    storage.append([entry({ term: 1, index: 1 }), entry({ term: 2, index: 2 })]);
    const r = newTestRaft(1n, 10, 1, storage);
    r.loadState({ term: 2, vote: None, commit: 0 });
    r.becomeCandidate();
    r.becomeLeader(); // at term 3
    r.readMessages();
    r.step(msg({ from: 1n, to: 1n, type: MessageType.MsgProp, entries: [entry({})] }));
    r.step(msg({ from: 2n, to: 1n, type: MessageType.MsgAppResp, term: r.term, index }));
    r.advanceMessagesAfterAppend();
    assert.equal(r.raftLog.committed, wcommit, `#${i}`);
  });
});
