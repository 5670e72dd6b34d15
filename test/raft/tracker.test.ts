// Tests for src/raft/tracker: Progress transitions and printing (etcd-raft's
// tracker/progress_test.go), the Inflights window (inflights_test.go) and the ProgressTracker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Inflights } from '../../src/raft/tracker/inflights.js';
import { Progress, progressMapString } from '../../src/raft/tracker/progress.js';
import { ProgressStateType } from '../../src/raft/tracker/state.js';
import { ProgressTracker, TrackerConfig } from '../../src/raft/tracker/tracker.js';
import { JointConfig } from '../../src/raft/quorum/joint.js';
import { MajorityConfig } from '../../src/raft/quorum/majority.js';
import { VoteResult } from '../../src/raft/quorum/quorum.js';

const { StateProbe, StateReplicate, StateSnapshot } = ProgressStateType;

test('Progress.toString', () => {
  const ins = new Inflights(1, 0);
  ins.add(123, 1);
  const pr = new Progress({
    match: 2,
    next: 3,
    state: StateSnapshot,
    pendingSnapshot: 123,
    recentActive: false,
    msgAppFlowPaused: true,
    isLearner: true,
    inflights: ins,
  });
  assert.equal(pr.toString(), 'StateSnapshot match=2 next=3 learner paused pendingSnap=123 inactive inflight=1[full]');
  const rep = new Progress({ match: 14, next: 17, state: StateReplicate, recentActive: true, inflights: new Inflights(3, 0) });
  rep.inflights.add(15, 1);
  rep.inflights.add(16, 1);
  assert.equal(rep.toString(), 'StateReplicate match=14 next=17 inflight=2');
  assert.equal(new Progress({ next: 1, recentActive: true }).toString(), 'StateProbe match=0 next=1');
  const m = new Map([
    [2n, new Progress({ next: 5, recentActive: true })],
    [1n, new Progress({ next: 1, isLearner: true, recentActive: true })],
  ]);
  assert.equal(progressMapString(m), '1: StateProbe match=0 next=1 learner\n2: StateProbe match=0 next=5\n');
});

test('Progress.isPaused', () => {
  const cases: Array<[ProgressStateType, boolean, boolean]> = [
    [StateProbe, false, false],
    [StateProbe, true, true],
    [StateReplicate, false, false],
    [StateReplicate, true, true],
    [StateSnapshot, false, true],
    [StateSnapshot, true, true],
  ];
  for (const [state, paused, want] of cases) {
    const p = new Progress({ state, msgAppFlowPaused: paused, inflights: new Inflights(256, 0) });
    assert.equal(p.isPaused(), want, `${state} ${paused}`);
  }
});

test('maybeUpdate and maybeDecrTo resume the flow', () => {
  const p = new Progress({ next: 2, msgAppFlowPaused: true });
  p.maybeDecrTo(1, 1);
  assert.equal(p.msgAppFlowPaused, false);
  p.msgAppFlowPaused = true;
  p.maybeUpdate(2);
  assert.equal(p.msgAppFlowPaused, false);
});

test('becomeProbe / becomeReplicate / becomeSnapshot', () => {
  const cases: Array<[Progress, number]> = [
    [new Progress({ state: StateReplicate, match: 1, next: 5, inflights: new Inflights(256, 0) }), 2],
    // Snapshot delivered: probe after it.
    [new Progress({ state: StateSnapshot, match: 1, next: 5, pendingSnapshot: 10, inflights: new Inflights(256, 0) }), 11],
    // Snapshot failed.
    [new Progress({ state: StateSnapshot, match: 1, next: 5, pendingSnapshot: 0, inflights: new Inflights(256, 0) }), 2],
  ];
  for (const [p, wnext] of cases) {
    p.becomeProbe();
    assert.equal(p.state, StateProbe);
    assert.equal(p.match, 1);
    assert.equal(p.next, wnext);
  }
  const r = new Progress({ state: StateProbe, match: 1, next: 5, msgAppFlowPaused: true, inflights: new Inflights(256, 0) });
  r.inflights.add(3, 10);
  r.becomeReplicate();
  assert.equal(r.state, StateReplicate);
  assert.equal(r.match, 1);
  assert.equal(r.next, 2);
  assert.equal(r.msgAppFlowPaused, false);
  assert.equal(r.inflights.count(), 0);
  const s = new Progress({ state: StateProbe, match: 1, next: 5, inflights: new Inflights(256, 0) });
  s.becomeSnapshot(10);
  assert.equal(s.state, StateSnapshot);
  assert.equal(s.match, 1);
  assert.equal(s.pendingSnapshot, 10);
  assert.equal(s.next, 11);
  assert.equal(s.sentCommitIndex, 10);
});

test('maybeUpdate never lowers match or next', () => {
  const cases: Array<[number, number, number, boolean]> = [
    [2, 3, 5, false],
    [3, 3, 5, false],
    [4, 4, 5, true],
    [5, 5, 6, true],
  ];
  for (const [update, wm, wn, wok] of cases) {
    const p = new Progress({ match: 3, next: 5 });
    assert.equal(p.maybeUpdate(update), wok, `update ${update}`);
    assert.equal(p.match, wm);
    assert.equal(p.next, wn);
  }
});

test('maybeDecrTo', () => {
  // state, match, next, rejected, hint, ok, wantNext
  const cases: Array<[ProgressStateType, number, number, number, number, boolean, number]> = [
    [StateReplicate, 5, 10, 5, 5, false, 10], // rejected ≤ match: stale
    [StateReplicate, 5, 10, 4, 4, false, 10],
    [StateReplicate, 5, 10, 9, 9, true, 6], // back to match+1
    [StateProbe, 0, 0, 0, 0, false, 0], // next-1 ≠ rejected: stale
    [StateProbe, 0, 10, 5, 5, false, 10],
    [StateProbe, 0, 10, 9, 9, true, 9],
    [StateProbe, 0, 2, 1, 1, true, 1],
    [StateProbe, 0, 1, 0, 0, true, 1],
    [StateProbe, 0, 10, 9, 2, true, 3], // min(rejected, hint+1)
    [StateProbe, 0, 10, 9, 0, true, 1],
  ];
  for (const [state, m, n, rejected, hint, w, wn] of cases) {
    const p = new Progress({ state, match: m, next: n });
    assert.equal(p.maybeDecrTo(rejected, hint), w, `${state} m=${m} n=${n} rej=${rejected} hint=${hint}`);
    assert.equal(p.match, m);
    assert.equal(p.next, wn);
  }
});

test('sentEntries: replicate advances next and fills inflights, probe pauses', () => {
  const p = new Progress({ state: StateReplicate, match: 5, next: 6, inflights: new Inflights(2, 0) });
  p.sentEntries(3, 30);
  assert.equal(p.next, 9);
  assert.equal(p.inflights.count(), 1);
  assert.equal(p.msgAppFlowPaused, false);
  p.sentEntries(1, 10);
  assert.equal(p.next, 10);
  assert.equal(p.msgAppFlowPaused, true, 'a full window pauses the flow');
  assert.ok(p.isPaused());
  p.maybeUpdate(8);
  p.inflights.freeLE(8);
  assert.equal(p.inflights.count(), 1);
  assert.equal(p.isPaused(), false);
  // An empty MsgApp in replicate recomputes the pause from the window.
  p.sentEntries(0, 0);
  assert.equal(p.next, 10);
  assert.equal(p.msgAppFlowPaused, false);

  const q = new Progress({ state: StateProbe, match: 0, next: 3 });
  q.sentEntries(0, 0);
  assert.equal(q.msgAppFlowPaused, false, 'an empty probe does not pause');
  q.sentEntries(2, 5);
  assert.equal(q.msgAppFlowPaused, true);
  assert.equal(q.next, 3, 'probe does not advance next');

  const s = new Progress({ state: StateSnapshot });
  assert.throws(() => s.sentEntries(1, 1));
});

test('canBumpCommit / sentCommit', () => {
  const p = new Progress({ state: StateReplicate, match: 3, next: 6 });
  assert.ok(p.canBumpCommit(4));
  p.sentCommit(4);
  assert.ok(!p.canBumpCommit(4), 'already sent');
  assert.ok(p.canBumpCommit(7));
  p.sentCommit(5);
  assert.ok(!p.canBumpCommit(7), 'sent commit already reaches next-1');
  p.maybeDecrTo(5, 5);
  assert.equal(p.next, 4);
  assert.equal(p.sentCommitIndex, 3, 'a rejection regresses sentCommit below next');
});

test('Inflights: add and free, including around the ring', () => {
  const ins = new Inflights(10, 0);
  for (let i = 0; i < 5; i++) ins.add(i, 100 + i);
  assert.equal(ins.count(), 5);
  assert.equal(ins.bytes(), 510);
  for (let i = 5; i < 10; i++) ins.add(i, 100 + i);
  assert.equal(ins.count(), 10);
  assert.ok(ins.full());
  assert.throws(() => ins.add(10, 1), /Full inflights/);

  ins.freeLE(0);
  assert.equal(ins.count(), 9);
  ins.freeLE(4);
  assert.equal(ins.count(), 5);
  assert.equal(ins.bytes(), 105 + 106 + 107 + 108 + 109);
  // These wrap around the end of the ring.
  for (let i = 10; i < 15; i++) ins.add(i, 1);
  assert.equal(ins.count(), 10);
  assert.ok(ins.full());
  ins.freeLE(3); // below the oldest: no-op
  assert.equal(ins.count(), 10);
  ins.freeLE(12);
  assert.equal(ins.count(), 2);
  assert.equal(ins.bytes(), 2);
  ins.freeLE(14);
  assert.equal(ins.count(), 0);
  assert.equal(ins.bytes(), 0);
  // Usable again from an empty state.
  for (let i = 20; i < 30; i++) ins.add(i, 1);
  assert.ok(ins.full());
  ins.freeLE(1000);
  assert.equal(ins.count(), 0);
});

test('Inflights: byte limit, no limit, reset, clone', () => {
  const ins = new Inflights(10, 1000);
  ins.add(1, 400);
  ins.add(2, 500);
  assert.ok(!ins.full());
  ins.add(3, 100);
  assert.ok(ins.full(), 'bytes reached the limit');
  ins.freeLE(1);
  assert.ok(!ins.full());
  // A single oversized message is allowed, then the window is full.
  const big = new Inflights(10, 100);
  big.add(1, 5000);
  assert.ok(big.full());
  for (const unlimited of [0, Infinity]) {
    const u = new Inflights(3, unlimited);
    u.add(1, 1e12);
    u.add(2, 1e12);
    assert.ok(!u.full());
    u.add(3, 1);
    assert.ok(u.full(), 'the count limit still applies');
  }
  const c = ins.clone();
  ins.reset();
  assert.equal(ins.count(), 0);
  assert.equal(ins.bytes(), 0);
  assert.equal(c.count(), 2, 'a clone is independent');
  // A huge count limit does not allocate up front and still works.
  const huge = new Inflights(2 ** 31 - 1, 0);
  for (let i = 1; i <= 1000; i++) huge.add(i, 1);
  assert.equal(huge.count(), 1000);
  huge.freeLE(999);
  assert.equal(huge.count(), 1);
});

function tracker(voters: number[], outgoing: number[] = [], learners: number[] = []): ProgressTracker {
  const t = new ProgressTracker(10, 0);
  t.config = new TrackerConfig(
    new JointConfig(new MajorityConfig(voters.map(BigInt)), new MajorityConfig(outgoing.map(BigInt))),
    false,
    learners.length ? new Set(learners.map(BigInt)) : null,
    null,
  );
  const m = new Map<bigint, Progress>();
  for (const id of new Set([...voters, ...outgoing, ...learners])) {
    m.set(BigInt(id), new Progress({ next: 1, recentActive: true, isLearner: learners.includes(id), inflights: new Inflights(10, 0) }));
  }
  t.progress = m;
  return t;
}

test('TrackerConfig.toString', () => {
  assert.equal(new TrackerConfig().toString(), 'voters=()');
  const t = tracker([1, 2, 3], [1]);
  t.autoLeave = true;
  assert.equal(t.config.toString(), 'voters=(1 2 3)&&(1) autoleave');
  const c = new TrackerConfig(new JointConfig(new MajorityConfig([2n]), new MajorityConfig([1n])), false, null, new Set([1n]));
  assert.equal(c.toString(), 'voters=(2)&&(1) learners_next=(1)');
  assert.equal(tracker([1], [1], [2, 3]).config.toString(), 'voters=(1)&&(1) learners=(2 3)');
  const cl = c.clone();
  cl.learnersNext!.add(5n);
  cl.voters.incoming.add(7n);
  assert.equal(c.toString(), 'voters=(2)&&(1) learners_next=(1)', 'clone shares no sets');
});

test('ProgressTracker: committed, confState, singleton, voter and learner lists', () => {
  const t = tracker([3, 1, 2], [], [5, 4]);
  t.progress.get(1n)!.match = 10;
  t.progress.get(2n)!.match = 7;
  t.progress.get(3n)!.match = 3;
  t.progress.get(4n)!.match = 100; // learners do not count
  t.progress.get(5n)!.match = 100;
  assert.equal(t.committed(), 7);
  assert.deepEqual(t.confState(), { voters: [1n, 2n, 3n], votersOutgoing: [], learners: [4n, 5n], learnersNext: [], autoLeave: false });
  assert.deepEqual(t.voterNodes(), [1n, 2n, 3n]);
  assert.deepEqual(t.learnerNodes(), [4n, 5n]);
  assert.ok(!t.isSingleton());
  assert.ok(tracker([1]).isSingleton());
  assert.ok(!tracker([1], [1, 2]).isSingleton());
  const j = tracker([1, 2, 3], [3, 4, 5]);
  for (const [id, m] of [[1n, 9], [2n, 9], [3n, 9], [4n, 2], [5n, 1]] as const) j.progress.get(id)!.match = m;
  assert.equal(j.committed(), 2, 'joint: minimum of both halves');
  assert.deepEqual(j.voterNodes(), [1n, 2n, 3n, 4n, 5n]);
  assert.deepEqual(tracker([]).learnerNodes(), []);
  // Getters mirror Go's embedded Config.
  assert.equal(t.voters, t.config.voters);
  assert.equal(t.learners, t.config.learners);
});

test('ProgressTracker.visit iterates in ID order and follows map changes', () => {
  const t = tracker([5, 3, 9, 1]);
  const seen = () => {
    const out: bigint[] = [];
    t.visit((id) => out.push(id));
    return out;
  };
  assert.deepEqual(seen(), [1n, 3n, 5n, 9n]);
  t.progress.delete(3n);
  t.progress.set(2n, new Progress({ next: 1 }));
  assert.deepEqual(seen(), [1n, 2n, 5n, 9n], 'same size, different keys');
  t.progress.set(0x10n, new Progress({ next: 1 }));
  assert.deepEqual(seen(), [1n, 2n, 5n, 9n, 16n]);
  t.progress = new Map([[7n, new Progress({ next: 1 })]]);
  assert.deepEqual(seen(), [7n]);
  // Peers removed during the visit are skipped.
  const u = tracker([1, 2, 3]);
  const out: bigint[] = [];
  u.visit((id) => {
    out.push(id);
    if (id === 1n) u.progress.delete(2n);
  });
  assert.deepEqual(out, [1n, 3n]);
});

test('ProgressTracker: votes and quorumActive', () => {
  const t = tracker([1, 2, 3], [], [4]);
  t.recordVote(1n, true);
  t.recordVote(1n, false); // only the first vote counts
  t.recordVote(4n, true); // a learner's vote is not counted
  let r = t.tallyVotes();
  assert.deepEqual(r, { granted: 1, rejected: 0, result: VoteResult.VotePending });
  t.recordVote(2n, false);
  t.recordVote(3n, false);
  r = t.tallyVotes();
  assert.deepEqual(r, { granted: 1, rejected: 2, result: VoteResult.VoteLost });
  t.resetVotes();
  t.recordVote(2n, true);
  t.recordVote(3n, true);
  assert.deepEqual(t.tallyVotes(), { granted: 2, rejected: 0, result: VoteResult.VoteWon });

  assert.ok(t.quorumActive());
  t.progress.get(2n)!.recentActive = false;
  assert.ok(t.quorumActive());
  t.progress.get(3n)!.recentActive = false;
  assert.ok(!t.quorumActive(), 'a learner does not make a quorum');
});
