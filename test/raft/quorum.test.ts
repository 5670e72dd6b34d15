// Tests for src/raft/quorum: majority/joint committed index, vote results and printed forms
// (etcd-raft's quorum/majority_test.go and quick_test.go, plus edge cases).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JointConfig } from '../../src/raft/quorum/joint.js';
import { MajorityConfig, idSetString } from '../../src/raft/quorum/majority.js';
import { indexString, mapAckIndexer, VoteResult } from '../../src/raft/quorum/quorum.js';
import { alternativeMajorityCommittedIndex } from '../conformance/quorum.js';

const cfg = (...ids: number[]) => new MajorityConfig(ids.map(BigInt));
const acks = (m: Record<number, number>) => mapAckIndexer(new Map(Object.entries(m).map(([k, v]) => [BigInt(k), v])));
const votes = (m: Record<number, boolean>) => new Map(Object.entries(m).map(([k, v]) => [BigInt(k), v]));

// Deterministic PRNG (mulberry32) so failures reproduce.
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n;
  };
}

test('describe: bars follow the sorted index, equal indexes share a bar', () => {
  const c = cfg(1, 2, 3);
  assert.equal(c.describe(acks({ 1: 101, 2: 102, 3: 103 })), '       idx\n>      101    (id=1)\nx>     102    (id=2)\nxx>    103    (id=3)\n');
  assert.equal(c.describe(acks({ 1: 100, 2: 100, 3: 100 })), '       idx\n>      100    (id=1)\n>      100    (id=2)\n>      100    (id=3)\n');
  assert.equal(c.describe(acks({ 1: 100, 2: 102, 3: 102 })), '       idx\n>      100    (id=1)\nx>     102    (id=2)\nx>     102    (id=3)\n');
  assert.equal(c.describe(acks({ 1: 101, 3: 103 })), '       idx\nx>     101    (id=1)\n?        0    (id=2)\nxx>    103    (id=3)\n');
  assert.equal(new MajorityConfig().describe(acks({})), '<empty majority quorum>');
  // IDs print in hex.
  assert.match(cfg(255).describe(acks({ 255: 7 })), /\(id=ff\)\n$/);
});

test('committedIndex: the index a majority has reached; unknown voters count as 0', () => {
  assert.equal(new MajorityConfig().committedIndex(acks({})), Infinity);
  assert.equal(cfg(1).committedIndex(acks({})), 0);
  assert.equal(cfg(1).committedIndex(acks({ 1: 5 })), 5);
  assert.equal(cfg(1, 2).committedIndex(acks({ 1: 5, 2: 9 })), 5);
  assert.equal(cfg(1, 2, 3).committedIndex(acks({ 1: 12, 2: 5 })), 5);
  assert.equal(cfg(1, 2, 3).committedIndex(acks({ 1: 12, 2: 5, 3: 7 })), 7);
  assert.equal(cfg(1, 2, 3, 4).committedIndex(acks({ 1: 1, 2: 2, 3: 3, 4: 4 })), 2);
  assert.equal(cfg(1, 2, 3, 4, 5).committedIndex(acks({ 1: 1, 2: 2, 3: 3, 4: 4, 5: 5 })), 3);
  // Larger than the scratch buffer.
  const big = Array.from({ length: 41 }, (_, i) => i + 1);
  const m: Record<number, number> = {};
  for (const id of big) m[id] = 1000 - id;
  assert.equal(cfg(...big).committedIndex(acks(m)), 1000 - 21);
  assert.equal(indexString(Infinity), '∞');
  assert.equal(indexString(42), '42');
});

test('committedIndex agrees with the alternative computation on random inputs', () => {
  const r = rng(1);
  for (let iter = 0; iter < 2000; iter++) {
    const n = Math.floor(r(10));
    const ids: number[] = [];
    const m: Record<number, number> = {};
    for (let i = 1; i <= n; i++) {
      ids.push(i);
      if (r(4) >= 1) m[i] = 1 + Math.floor(r(10));
    }
    const c = cfg(...ids);
    const l = acks(m);
    const got = c.committedIndex(l);
    assert.equal(got, alternativeMajorityCommittedIndex(c, l), `ids=${ids} acks=${JSON.stringify(m)}`);
    // A joint config with an empty or identical half commits the same.
    assert.equal(new JointConfig(c, new MajorityConfig()).committedIndex(l), got);
    assert.equal(new JointConfig(c, c).committedIndex(l), got);
  }
});

test('voteResult: majority rules and the empty config wins', () => {
  assert.equal(new MajorityConfig().voteResult(votes({})), VoteResult.VoteWon);
  const c = cfg(1, 2, 3);
  assert.equal(c.voteResult(votes({})), VoteResult.VotePending);
  assert.equal(c.voteResult(votes({ 1: true })), VoteResult.VotePending);
  assert.equal(c.voteResult(votes({ 1: true, 2: true })), VoteResult.VoteWon);
  assert.equal(c.voteResult(votes({ 1: false, 2: false })), VoteResult.VoteLost);
  assert.equal(c.voteResult(votes({ 1: true, 2: false })), VoteResult.VotePending);
  assert.equal(c.voteResult(votes({ 1: true, 2: false, 3: false })), VoteResult.VoteLost);
  // Votes from non-members are ignored.
  assert.equal(c.voteResult(votes({ 4: true, 5: true, 1: true })), VoteResult.VotePending);
  assert.equal(cfg(1, 2).voteResult(votes({ 1: true, 2: false })), VoteResult.VoteLost);
});

test('joint voteResult: both halves must win, a loss anywhere loses', () => {
  const j = new JointConfig(cfg(1, 2, 3), cfg(3, 4, 5));
  assert.equal(j.voteResult(votes({ 1: true, 2: true })), VoteResult.VotePending);
  assert.equal(j.voteResult(votes({ 1: true, 2: true, 3: true })), VoteResult.VotePending);
  assert.equal(j.voteResult(votes({ 1: true, 2: true, 4: true, 5: true })), VoteResult.VoteWon);
  assert.equal(j.voteResult(votes({ 1: true, 2: true, 4: false, 5: false })), VoteResult.VoteLost);
  assert.equal(j.voteResult(votes({ 1: false, 2: false })), VoteResult.VoteLost);
  assert.equal(new JointConfig(cfg(1), new MajorityConfig()).voteResult(votes({ 1: true })), VoteResult.VoteWon);
});

test('joint committedIndex is the minimum of both halves', () => {
  const j = new JointConfig(cfg(1, 2, 3), cfg(3, 4, 5));
  const l = acks({ 1: 10, 2: 10, 3: 8, 4: 5, 5: 5 });
  assert.equal(j.committedIndex(l), 5);
  assert.equal(new JointConfig(cfg(3, 4, 5), cfg(1, 2, 3)).committedIndex(l), 5);
  assert.equal(new JointConfig().committedIndex(l), Infinity);
});

test('printing: sorted hex sets, && only when joint, [0]/[1] aliases', () => {
  assert.equal(cfg(3, 1, 2).toString(), '(1 2 3)');
  assert.equal(new MajorityConfig().toString(), '()');
  assert.equal(idSetString([10n, 255n, 1n]), '(1 a ff)');
  const j = new JointConfig(cfg(1, 2, 3), cfg(1));
  assert.equal(j.toString(), '(1 2 3)&&(1)');
  assert.equal(new JointConfig(cfg(2)).toString(), '(2)');
  assert.ok(j.isJoint());
  assert.equal(j[0], j.incoming);
  assert.equal(j[1], j.outgoing);
  assert.deepEqual([...j.ids()].sort(), [1n, 2n, 3n]);
  const c = j.clone();
  c.incoming.add(9n);
  assert.ok(!j.incoming.has(9n), 'clone shares no sets');
  assert.deepEqual(cfg(3, 1, 2).slice(), [1n, 2n, 3n]);
});
