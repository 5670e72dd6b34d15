// Tests for src/raft/confchange: restoring configs from ConfStates (etcd-raft's restore_test.go),
// simple vs joint changes reaching the same result (quick_test.go), and error handling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Changer, checkInvariants, describeChanges, type ChangeResult } from '../../src/raft/confchange/confchange.js';
import { restore } from '../../src/raft/confchange/restore.js';
import { ConfChangeType, type ConfChangeSingle, type ConfState } from '../../src/raft/raftpb/types.js';
import { progressMapString } from '../../src/raft/tracker/progress.js';
import { ProgressTracker } from '../../src/raft/tracker/tracker.js';

const { ConfChangeAddNode: V, ConfChangeAddLearnerNode: L, ConfChangeRemoveNode: R, ConfChangeUpdateNode: U } = ConfChangeType;
const cc = (type: ConfChangeType, id: number): ConfChangeSingle => ({ type, nodeId: BigInt(id) });

// Deterministic PRNG (mulberry32) so failures reproduce.
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

function ok(res: ChangeResult | Error): ChangeResult {
  if (res instanceof Error) assert.fail(res.message);
  return res;
}

function install(t: ProgressTracker, res: ChangeResult | Error): void {
  const [cfg, prs] = ok(res);
  t.config = cfg;
  t.progress = prs;
}

const sortIds = (l: bigint[]) => [...l].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

function checkRestore(cs: ConfState): void {
  const t = new ProgressTracker(20, 0);
  const [cfg, prs] = ok(restore(new Changer(t, 10), cs));
  assert.equal(t.config.toString(), 'voters=()', 'restore leaves the given tracker alone');
  assert.equal(t.progress.size, 0);
  t.config = cfg;
  t.progress = prs;
  const want: ConfState = {
    voters: sortIds(cs.voters),
    learners: sortIds(cs.learners),
    votersOutgoing: sortIds(cs.votersOutgoing),
    learnersNext: sortIds(cs.learnersNext),
    autoLeave: cs.autoLeave,
  };
  assert.deepEqual(t.confState(), want, JSON.stringify(cs, (_, v) => (typeof v === 'bigint' ? Number(v) : v)));
  assert.equal(checkInvariants(cfg, prs), null);
}

const ids = (...l: number[]) => l.map(BigInt);
const confState = (p: Partial<ConfState>): ConfState => ({
  voters: [],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
  ...p,
});

test('restore: unit cases', () => {
  checkRestore(confState({}));
  checkRestore(confState({ voters: ids(1, 2, 3) }));
  checkRestore(confState({ voters: ids(1, 2, 3), learners: ids(4, 5, 6) }));
  checkRestore(confState({ voters: ids(1, 2, 3), learners: ids(5), votersOutgoing: ids(1, 2, 4, 6), learnersNext: ids(4) }));
  checkRestore(confState({ voters: ids(3, 1), votersOutgoing: ids(2, 1), autoLeave: true }));
  // A restored joint config prints as raft logs it.
  const [cfg] = ok(
    restore(new Changer(new ProgressTracker(20, 0), 10), confState({ voters: ids(1, 2, 3), learners: ids(5), votersOutgoing: ids(1, 2, 4, 6), learnersNext: ids(4) })),
  );
  assert.equal(cfg.toString(), 'voters=(1 2 3)&&(1 2 4 6) learners=(5) learners_next=(4)');
});

test('restore: random valid ConfStates round-trip', () => {
  const r = rng(7);
  for (let iter = 0; iter < 1000; iter++) {
    const nVoters = 1 + r(5);
    const nLearners = r(5);
    const nRemoved = r(3);
    // A random permutation of 1..2*(total), so the groups never overlap.
    const pool = Array.from({ length: 2 * (nVoters + nLearners + nRemoved) }, (_, i) => BigInt(i + 1));
    for (let i = pool.length - 1; i > 0; i--) {
      const j = r(i + 1);
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    const cs = confState({});
    cs.voters = pool.splice(0, nVoters);
    cs.learners = pool.splice(0, nLearners);
    const retained = r(nVoters + 1);
    if (retained > 0 || nRemoved > 0) cs.votersOutgoing = [...cs.voters.slice(0, retained), ...pool.slice(0, nRemoved)];
    if (nRemoved > 0) cs.learnersNext = pool.slice(0, r(nRemoved + 1));
    cs.autoLeave = cs.votersOutgoing.length > 0 && r(2) === 1;
    checkRestore(cs);
  }
});

// Applies `setup` one change at a time, the way the quick test's initial config is built.
function setupChanger(setup: ConfChangeSingle[]): Changer {
  const c = new Changer(new ProgressTracker(10, 0), 10);
  for (const x of setup) install(c.tracker as ProgressTracker, c.simple([x]));
  return c;
}

function snapshot(c: Changer): string {
  return `${c.tracker.config.toString()}\n${progressMapString(c.tracker.progress)}`;
}

test('simple changes one at a time equal one joint change (enter + leave)', () => {
  const r = rng(42);
  let compared = 0;
  for (let iter = 0; iter < 1000; iter++) {
    // Node 1 is always a voter, so the simple path can never remove all voters.
    const setup = [cc(V, 1)];
    for (let i = 0, n = 1 + r(5); i < n; i++) setup.push(cc(V, 1 + r(5)));
    const ccs: ConfChangeSingle[] = [];
    for (let i = 0, n = 1 + r(9); i < n; i++) ccs.push(cc([V, R, U, L][r(4)], 2 + r(9)));
    const what = `setup: ${describeChanges(setup)}\nccs: ${describeChanges(ccs)}`;

    const simple = setupChanger(setup);
    for (const x of ccs) install(simple.tracker as ProgressTracker, simple.simple([x]));

    const joint = setupChanger(setup);
    const entered = ok(joint.enterJoint(false, ccs));
    const enteredAuto = ok(joint.enterJoint(true, ccs));
    assert.ok(enteredAuto[0].autoLeave);
    assert.equal(enteredAuto[0].toString(), entered[0].toString() + (entered[0].voters.isJoint() ? ' autoleave' : ''), what);
    assert.equal(progressMapString(enteredAuto[1]), progressMapString(entered[1]), what);
    install(joint.tracker as ProgressTracker, entered);
    install(joint.tracker as ProgressTracker, joint.leaveJoint());

    assert.equal(snapshot(joint), snapshot(simple), what);
    assert.deepEqual(joint.tracker.progress, simple.tracker.progress, what);
    compared++;
  }
  assert.equal(compared, 1000);
});

test('errors leave the tracker untouched', () => {
  const c = setupChanger([cc(V, 1)]);
  const before = snapshot(c);
  const cases: Array<[() => ChangeResult | Error, string]> = [
    [() => c.simple([cc(V, 2), cc(V, 3)]), 'more than one voter changed without entering joint config'],
    [() => c.simple([cc(R, 1)]), 'removed all voters'],
    [() => c.simple([cc(L, 1)]), 'removed all voters'],
    [() => c.leaveJoint(), "can't leave a non-joint config"],
    [() => c.enterJoint(false, [cc(R, 1)]), 'removed all voters'],
  ];
  for (const [f, msg] of cases) {
    const res = f();
    assert.ok(res instanceof Error);
    assert.equal(res.message, msg);
    assert.equal(snapshot(c), before);
  }
  const empty = new Changer(new ProgressTracker(10, 0), 0);
  assert.equal((empty.enterJoint(false, [cc(V, 1)]) as Error).message, "can't make a zero-voter config joint");
  install(c.tracker as ProgressTracker, c.enterJoint(false, [cc(V, 2)]));
  assert.equal((c.enterJoint(false, []) as Error).message, 'config is already joint');
  assert.equal((c.simple([cc(V, 3)]) as Error).message, "can't apply simple config change in joint config");
});

test('demoting an outgoing voter stages it in learnersNext until leaveJoint', () => {
  const c = setupChanger([cc(V, 1), cc(V, 2), cc(V, 3)]);
  c.tracker.progress.get(3n)!.match = 5;
  install(c.tracker as ProgressTracker, c.enterJoint(true, [cc(L, 3), cc(V, 4)]));
  assert.equal(c.tracker.config.toString(), 'voters=(1 2 4)&&(1 2 3) learners_next=(3) autoleave');
  assert.equal(c.tracker.progress.get(3n)!.isLearner, false);
  assert.equal(c.tracker.progress.get(3n)!.match, 5, 'progress kept');
  install(c.tracker as ProgressTracker, c.leaveJoint());
  assert.equal(c.tracker.config.toString(), 'voters=(1 2 4) learners=(3)');
  assert.equal(c.tracker.progress.get(3n)!.isLearner, true);
  // Removing an outgoing voter keeps its progress until the joint config is left.
  install(c.tracker as ProgressTracker, c.enterJoint(false, [cc(R, 2)]));
  assert.ok(c.tracker.progress.has(2n));
  install(c.tracker as ProgressTracker, c.leaveJoint());
  assert.ok(!c.tracker.progress.has(2n));
  assert.equal(c.tracker.config.toString(), 'voters=(1 4) learners=(3)');
});

test('new peers start probing at max(lastIndex, 1), active, with the tracker window', () => {
  const t = new ProgressTracker(3, 0);
  install(t, new Changer(t, 0).simple([cc(V, 1)]));
  install(t, new Changer(t, 17).simple([cc(L, 2)]));
  const p1 = t.progress.get(1n)!;
  const p2 = t.progress.get(2n)!;
  assert.equal(p1.next, 1);
  assert.equal(p2.next, 17);
  assert.ok(p1.recentActive && p2.recentActive);
  for (let i = 0; i < 3; i++) p2.inflights.add(20 + i, 1);
  assert.ok(p2.inflights.full(), 'window of 3 from the tracker');
});

test('checkInvariants reports inconsistencies', () => {
  const c = setupChanger([cc(V, 1), cc(V, 2)]);
  const cfg = c.tracker.config.clone();
  const prs = new Map(c.tracker.progress);
  cfg.learners = new Set([2n]);
  assert.equal(checkInvariants(cfg, prs)?.message, '2 is in Learners and Voters[0]');
  cfg.learners = new Set([9n]);
  assert.equal(checkInvariants(cfg, prs)?.message, 'no progress for 9');
  const cfg2 = c.tracker.config.clone();
  cfg2.autoLeave = true;
  assert.equal(checkInvariants(cfg2, prs)?.message, 'AutoLeave must be false when not joint');
});
