// Tests for RawNode (ports of etcd-raft rawnode_test.go plus bootstrap, async-storage and status
// checks): the Ready/Advance contract, conf changes, restarts, pagination and local-message guards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfChange,
  ConfChangeTransition,
  ConfChangeType,
  ConfChangeV2,
  ConfState,
  EMPTY_BYTES,
  Entry,
  EntryType,
  MessageType,
  emptyConfState,
  newMessage,
} from '../../src/raft/raftpb/types.js';
import { decodeConfChange, decodeConfChangeV2, encodeConfChange, encodeConfChangeV2, entrySize } from '../../src/raft/raftpb/codec.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { RaftPanic, discardLogger } from '../../src/raft/logger.js';
import { Config } from '../../src/raft/raft.js';
import { ProgressType, RawNode, SnapshotStatus, confChangeToV2, isConfChangeV2 } from '../../src/raft/rawNode.js';
import { statusToJSON } from '../../src/raft/status.js';
import { ErrStepLocalMsg, ErrStepPeerNotFound } from '../../src/raft/errors.js';
import { StateType } from '../../src/raft/ready.js';
import { LocalAppendThread, LocalApplyThread, isLocalMsg, isResponseMsg, payloadSize } from '../../src/raft/util.js';

function cs(p: Partial<ConfState>): ConfState {
  return { ...emptyConfState(), ...p };
}

function storageWithPeers(...peers: bigint[]): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot({ data: EMPTY_BYTES, metadata: { index: 0, term: 0, confState: cs({ voters: peers }) } });
  return s;
}

function testConfig(id: bigint, election: number, heartbeat: number, storage: MemoryStorage): Config {
  return {
    id,
    electionTick: election,
    heartbeatTick: heartbeat,
    storage,
    maxSizePerMsg: Infinity,
    maxInflightMsgs: 256,
    logger: discardLogger,
  };
}

function decodeCC(e: Entry): ConfChange | ConfChangeV2 | null {
  if (e.type === EntryType.EntryConfChange) return decodeConfChange(e.data);
  if (e.type === EntryType.EntryConfChangeV2) return decodeConfChangeV2(e.data);
  return null;
}

// ConfState lists compared as sorted arrays, the way Go's test compares them after raft sorts.
function normCS(c: ConfState): ConfState {
  const s = (l: bigint[]) => [...l].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    voters: s(c.voters),
    learners: s(c.learners),
    votersOutgoing: s(c.votersOutgoing),
    learnersNext: s(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

test('step refuses local messages from the network and responses from unknown peers', () => {
  for (let t = 0; t <= MessageType.MsgForgetLeader; t++) {
    const s = new MemoryStorage();
    s.setHardState({ term: 1, vote: 0n, commit: 1 });
    s.append([{ term: 1, index: 1, type: EntryType.EntryNormal, data: EMPTY_BYTES }]);
    assert.equal(s.applySnapshot({ data: EMPTY_BYTES, metadata: { index: 1, term: 1, confState: cs({ voters: [1n] }) } }), null);
    const rn = new RawNode(testConfig(1n, 10, 1, s));
    const err = rn.step(newMessage({ type: t as MessageType }));
    if (isLocalMsg(t)) assert.equal(err, ErrStepLocalMsg, MessageType[t]);
    else if (isResponseMsg(t)) assert.equal(err, ErrStepPeerNotFound, MessageType[t]);
  }
  // From a local storage thread, local messages are allowed.
  const rn = new RawNode(testConfig(1n, 10, 1, storageWithPeers(1n)));
  assert.equal(rn.step(newMessage({ type: MessageType.MsgStorageApplyResp, from: LocalApplyThread })), null);
});

const v2 = (transition: ConfChangeTransition, ...changes: [ConfChangeType, bigint][]): ConfChangeV2 => ({
  transition,
  changes: changes.map(([type, nodeId]) => ({ type, nodeId })),
  context: EMPTY_BYTES,
});
const { ConfChangeAddNode: Add, ConfChangeAddLearnerNode: AddL } = ConfChangeType;
const { ConfChangeTransitionAuto: Auto, ConfChangeTransitionJointExplicit: Explicit, ConfChangeTransitionJointImplicit: Implicit } =
  ConfChangeTransition;

const proposeCases: { name: string; cc: ConfChange | ConfChangeV2; exp: ConfState; exp2: ConfState | null }[] = [
  {
    name: 'v1 add',
    cc: { type: Add, nodeId: 2n, context: EMPTY_BYTES, id: 0n },
    exp: cs({ voters: [1n, 2n] }),
    exp2: null,
  },
  { name: 'v2 simple add', cc: v2(Auto, [Add, 2n]), exp: cs({ voters: [1n, 2n] }), exp2: null },
  { name: 'v2 add learner', cc: v2(Auto, [AddL, 2n]), exp: cs({ voters: [1n], learners: [2n] }), exp2: null },
  {
    name: 'explicit joint',
    cc: v2(Explicit, [AddL, 2n]),
    exp: cs({ voters: [1n], votersOutgoing: [1n], learners: [2n] }),
    exp2: cs({ voters: [1n], learners: [2n] }),
  },
  {
    name: 'implicit joint',
    cc: v2(Implicit, [AddL, 2n]),
    exp: cs({ voters: [1n], votersOutgoing: [1n], learners: [2n], autoLeave: true }),
    exp2: cs({ voters: [1n], learners: [2n] }),
  },
  {
    name: 'demote with learners_next (auto)',
    cc: v2(Auto, [Add, 2n], [AddL, 1n], [AddL, 3n]),
    exp: cs({ voters: [2n], votersOutgoing: [1n], learners: [3n], learnersNext: [1n], autoLeave: true }),
    exp2: cs({ voters: [2n], learners: [1n, 3n] }),
  },
  {
    name: 'demote with learners_next (explicit)',
    cc: v2(Explicit, [Add, 2n], [AddL, 1n], [AddL, 3n]),
    exp: cs({ voters: [2n], votersOutgoing: [1n], learners: [3n], learnersNext: [1n] }),
    exp2: cs({ voters: [2n], learners: [1n, 3n] }),
  },
  {
    name: 'demote with learners_next (implicit)',
    cc: v2(Implicit, [Add, 2n], [AddL, 1n], [AddL, 3n]),
    exp: cs({ voters: [2n], votersOutgoing: [1n], learners: [3n], learnersNext: [1n], autoLeave: true }),
    exp2: cs({ voters: [2n], learners: [1n, 3n] }),
  },
];

for (const tc of proposeCases) {
  test(`propose and apply conf change: ${tc.name}`, () => {
    const s = storageWithPeers(1n);
    const rn = new RawNode(testConfig(1n, 10, 1, s));
    assert.equal(rn.campaign(), null);
    let proposed = false;
    let ccdata: Uint8Array = EMPTY_BYTES;
    let got: ConfState | null = null;
    for (let guard = 0; got === null; guard++) {
      assert.ok(guard < 20, 'conf change never applied');
      const rd = rn.ready();
      s.append(rd.entries);
      for (const e of rd.committedEntries) {
        const cc = decodeCC(e);
        if (cc !== null) got = rn.applyConfChange(cc);
      }
      rn.advance(rd);
      if (!proposed && rd.softState?.lead === rn.raft.id) {
        assert.equal(rn.propose(Buffer.from('somedata')), null);
        ccdata = isConfChangeV2(tc.cc) ? encodeConfChangeV2(tc.cc) : encodeConfChange(tc.cc);
        assert.equal(rn.proposeConfChange(tc.cc), null);
        proposed = true;
      }
    }
    const lastIndex = s.lastIndex();
    const ents = s.entries(lastIndex - 1, lastIndex + 1, Infinity);
    assert.equal(ents.length, 2);
    assert.deepEqual(Buffer.from(ents[0].data), Buffer.from('somedata'));
    assert.equal(ents[1].type, isConfChangeV2(tc.cc) ? EntryType.EntryConfChangeV2 : EntryType.EntryConfChange);
    assert.deepEqual(Buffer.from(ents[1].data), Buffer.from(ccdata));
    assert.deepEqual(normCS(got), tc.exp);

    // An auto-leaving joint change has already appended its leave entry (not yet in storage).
    const autoLeaveEntered = tc.exp.autoLeave ? 1 : 0;
    assert.equal(rn.raft.pendingConfIndex, lastIndex + autoLeaveEntered);

    let rd = rn.ready();
    let context: Uint8Array = EMPTY_BYTES;
    if (!tc.exp.autoLeave) {
      assert.equal(rd.entries.length, 0);
      rn.advance(rd);
      if (tc.exp2 === null) return;
      context = Buffer.from('manual');
      assert.equal(rn.proposeConfChange({ transition: Auto, changes: [], context }), null);
      rd = rn.ready();
    }
    assert.equal(rd.entries.length, 1);
    assert.equal(rd.entries[0].type, EntryType.EntryConfChangeV2);
    const leave = decodeConfChangeV2(rd.entries[0].data);
    assert.equal(leave.changes.length, 0);
    assert.deepEqual(Buffer.from(leave.context), Buffer.from(context));
    // Pretend it applied (one node cannot commit under the joint quorum here).
    assert.deepEqual(normCS(rn.applyConfChange(leave)), tc.exp2);
    rn.advance(rd);
  });
}

test('joint config is left automatically even after losing and regaining leadership', () => {
  const testCc = v2(Implicit, [AddL, 2n]);
  const s = storageWithPeers(1n);
  const rn = new RawNode(testConfig(1n, 10, 1, s));
  rn.campaign();
  let proposed = false;
  let got: ConfState | null = null;
  for (let guard = 0; got === null; guard++) {
    assert.ok(guard < 20);
    const rd = rn.ready();
    s.append(rd.entries);
    for (const e of rd.committedEntries) {
      if (e.type !== EntryType.EntryConfChangeV2) continue;
      // Force a step-down before applying.
      rn.step(newMessage({ type: MessageType.MsgHeartbeatResp, from: 1n, term: rn.raft.term + 1 }));
      got = rn.applyConfChange(decodeConfChangeV2(e.data));
    }
    rn.advance(rd);
    if (!proposed && rd.softState?.lead === rn.raft.id) {
      assert.equal(rn.propose(Buffer.from('somedata')), null);
      assert.equal(rn.proposeConfChange(testCc), null);
      proposed = true;
    }
  }
  assert.deepEqual(normCS(got), cs({ voters: [1n], votersOutgoing: [1n], learners: [2n], autoLeave: true }));
  assert.equal(rn.raft.pendingConfIndex, 0);
  // A follower does not leave the joint config.
  assert.equal(rn.readyWithoutAccept().entries.length, 0);

  rn.campaign();
  let rd = rn.ready();
  for (let i = 0; i < 3; i++) {
    s.append(rd.entries);
    rn.advance(rd);
    rd = rn.ready();
  }
  s.append(rd.entries);
  assert.equal(rd.entries.length, 1);
  assert.equal(rd.entries[0].type, EntryType.EntryConfChangeV2);
  const leave = decodeConfChangeV2(rd.entries[0].data);
  assert.equal(leave.changes.length, 0);
  assert.deepEqual(normCS(rn.applyConfChange(leave)), cs({ voters: [1n], learners: [2n] }));
});

test('proposing the same node twice does not block a later add', () => {
  const s = storageWithPeers(1n);
  const rn = new RawNode(testConfig(1n, 10, 1, s));
  let rd = rn.ready();
  s.append(rd.entries);
  rn.advance(rd);
  rn.campaign();
  for (;;) {
    rd = rn.ready();
    s.append(rd.entries);
    rn.advance(rd);
    if (rd.softState?.lead === rn.raft.id) break;
  }
  const proposeAndApply = (cc: ConfChange) => {
    rn.proposeConfChange(cc);
    rd = rn.ready();
    s.append(rd.entries);
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.EntryConfChange) rn.applyConfChange(decodeConfChange(e.data));
    }
    rn.advance(rd);
  };
  const cc1: ConfChange = { type: Add, nodeId: 1n, context: EMPTY_BYTES, id: 0n };
  const cc2: ConfChange = { type: Add, nodeId: 2n, context: EMPTY_BYTES, id: 0n };
  proposeAndApply(cc1);
  proposeAndApply(cc1);
  proposeAndApply(cc2);
  const last = s.lastIndex();
  const ents = s.entries(last - 2, last + 1, Infinity);
  assert.equal(ents.length, 3);
  assert.deepEqual(Buffer.from(ents[0].data), encodeConfChange(cc1));
  assert.deepEqual(Buffer.from(ents[2].data), encodeConfChange(cc2));
});

test('read states come out in Ready and reach raft as MsgReadIndex', () => {
  const s = storageWithPeers(1n);
  const rn = new RawNode(testConfig(1n, 10, 1, s));
  const wrs = [{ index: 1, requestCtx: Buffer.from('somedata') }];
  rn.raft.readStates = wrs;
  assert.ok(rn.hasReady());
  let rd = rn.ready();
  assert.deepEqual(rd.readStates, wrs);
  s.append(rd.entries);
  rn.advance(rd);
  assert.equal(rn.raft.readStates.length, 0);

  rn.campaign();
  const seen: MessageType[] = [];
  for (;;) {
    rd = rn.ready();
    s.append(rd.entries);
    rn.advance(rd);
    if (rd.softState?.lead === rn.raft.id) break;
  }
  // Let the leader commit an entry of its term so ReadIndex is answered right away.
  rd = rn.ready();
  s.append(rd.entries);
  rn.advance(rd);
  const orig = rn.raft.stepFn;
  rn.raft.stepFn = (r, m) => {
    seen.push(m.type);
    return orig(r, m);
  };
  rn.readIndex(Buffer.from('somedata2'));
  assert.deepEqual(seen, [MessageType.MsgReadIndex]);
  rd = rn.ready();
  assert.equal(rd.readStates.length, 1);
  assert.equal(Buffer.from(rd.readStates[0].requestCtx).toString(), 'somedata2');
  assert.equal(rd.readStates[0].index, rn.raft.raftLog.committed);
});

test('start from a bootstrap snapshot (no faux conf changes)', () => {
  const storage = new MemoryStorage();
  assert.equal(storage.applySnapshot({ data: EMPTY_BYTES, metadata: { index: 1, term: 0, confState: cs({ voters: [1n] }) } }), null);
  const rn = new RawNode(testConfig(1n, 10, 1, storage));
  assert.equal(rn.hasReady(), false);
  rn.campaign();
  let rd = rn.ready();
  storage.append(rd.entries);
  rn.advance(rd);
  rn.propose(Buffer.from('foo'));
  assert.ok(rn.hasReady());
  rd = rn.ready();
  const entries: Entry[] = [
    { term: 1, index: 2, type: EntryType.EntryNormal, data: EMPTY_BYTES },
    { term: 1, index: 3, type: EntryType.EntryNormal, data: Buffer.from('foo') },
  ];
  assert.deepEqual(rd.entries.map(normEntry), entries.map(normEntry));
  storage.append(rd.entries);
  rn.advance(rd);
  assert.ok(rn.hasReady());
  rd = rn.ready();
  assert.equal(rd.entries.length, 0);
  assert.equal(rd.mustSync, false);
  rn.advance(rd);
  assert.deepEqual(rd.hardState, { term: 1, vote: 1n, commit: 3 });
  assert.deepEqual(rd.committedEntries.map(normEntry), entries.map(normEntry));
  assert.equal(rn.hasReady(), false);
});

function normEntry(e: Entry) {
  return { term: e.term, index: e.index, type: e.type, data: Buffer.from(e.data).toString('hex') };
}

test('restart hands out committed entries and no HardState', () => {
  const entries: Entry[] = [
    { term: 1, index: 1, type: EntryType.EntryNormal, data: EMPTY_BYTES },
    { term: 1, index: 2, type: EntryType.EntryNormal, data: Buffer.from('foo') },
  ];
  const storage = storageWithPeers(1n);
  storage.setHardState({ term: 1, vote: 0n, commit: 1 });
  storage.append(entries);
  const rn = new RawNode(testConfig(1n, 10, 1, storage));
  const rd = rn.ready();
  assert.equal(rd.hardState, null);
  assert.equal(rd.softState, null);
  assert.equal(rd.mustSync, false);
  assert.deepEqual(rd.committedEntries.map(normEntry), entries.slice(0, 1).map(normEntry));
  assert.equal(rd.entries.length, 0);
  assert.equal(rd.messages.length, 0);
  rn.advance(rd);
  assert.equal(rn.hasReady(), false);
});

test('restart from a snapshot', () => {
  const entries: Entry[] = [{ term: 1, index: 3, type: EntryType.EntryNormal, data: Buffer.from('foo') }];
  const s = new MemoryStorage();
  s.setHardState({ term: 1, vote: 0n, commit: 3 });
  s.applySnapshot({ data: EMPTY_BYTES, metadata: { index: 2, term: 1, confState: cs({ voters: [1n, 2n] }) } });
  s.append(entries);
  const rn = new RawNode(testConfig(1n, 10, 1, s));
  const rd = rn.ready();
  assert.equal(rd.hardState, null);
  assert.deepEqual(rd.committedEntries.map(normEntry), entries.map(normEntry));
  rn.advance(rd);
  assert.equal(rn.hasReady(), false);
});

test('status: progress only on the leader; basic status; JSON', () => {
  const s = storageWithPeers(1n);
  const rn = new RawNode(testConfig(1n, 10, 1, s));
  assert.equal(rn.status().progress.size, 0);
  assert.equal(rn.campaign(), null);
  const rd = rn.ready();
  s.append(rd.entries);
  rn.advance(rd);
  const st = rn.status();
  assert.equal(st.lead, 1n);
  assert.equal(st.raftState, StateType.StateLeader);
  const pr = st.progress.get(1n)!;
  const live = rn.raft.trk.progress.get(1n)!;
  assert.equal(pr.match, live.match);
  assert.equal(pr.next, live.next);
  assert.notEqual(pr, live);
  assert.notEqual(pr.inflights, live.inflights);
  assert.equal(st.config.toString(), 'voters=(1)');
  assert.notEqual(st.config, rn.raft.trk.config);
  const b = rn.basicStatus();
  assert.deepEqual(
    [b.id, b.term, b.vote, b.commit, b.lead, b.raftState, b.applied, b.leadTransferee],
    [1n, 1, 1n, rn.raft.raftLog.committed, 1n, StateType.StateLeader, rn.raft.raftLog.applied, 0n],
  );
  assert.equal(
    statusToJSON(st),
    `{"id":"1","term":1,"vote":"1","commit":${st.commit},"lead":"1","raftState":"StateLeader","applied":${st.applied},` +
      `"progress":{"1":{"match":${pr.match},"next":${pr.next},"state":"StateReplicate"}},"leadtransferee":"0"}`,
  );
  const visited: [bigint, ProgressType][] = [];
  rn.withProgress((id, typ) => visited.push([id, typ]));
  assert.deepEqual(visited, [[1n, ProgressType.ProgressTypePeer]]);
});

// A storage that ignores the size limit, as the Go test's ignoreSizeHintMemStorage does.
class IgnoreSizeHintStorage extends MemoryStorage {
  override entries(lo: number, hi: number, _maxSize: number): Entry[] {
    return super.entries(lo, hi, Infinity);
  }
  setEntries(ents: Entry[]): void {
    this.ents = [this.ents[0], ...ents];
  }
}

test('commit pagination after restart leaves no gap', () => {
  const s = new IgnoreSizeHintStorage();
  s.applySnapshot({ data: EMPTY_BYTES, metadata: { index: 0, term: 0, confState: cs({ voters: [1n] }) } });
  s.setHardState({ term: 1, vote: 1n, commit: 10 });
  const ents: Entry[] = [];
  let size = 0;
  for (let i = 0; i < 10; i++) {
    const e: Entry = { term: 1, index: i + 1, type: EntryType.EntryNormal, data: Buffer.from('a') };
    ents.push(e);
    size += entrySize(e);
  }
  const cfg = testConfig(1n, 10, 1, s);
  // Suggests the last committed entry should not be included; the storage returns it anyway.
  cfg.maxSizePerMsg = size - entrySize(ents[9]) - 1;
  ents.push({ term: 1, index: 11, type: EntryType.EntryNormal, data: Buffer.from('boom') });
  s.setEntries(ents);
  const rn = new RawNode(cfg);
  for (let highest = 0, guard = 0; highest !== 11; guard++) {
    assert.ok(guard < 20);
    const rd = rn.ready();
    const n = rd.committedEntries.length;
    assert.notEqual(n, 0, `stopped applying entries at index ${highest}`);
    const next = rd.committedEntries[0].index;
    assert.ok(highest === 0 || highest + 1 === next, `gap: ${next} after ${highest}`);
    highest = rd.committedEntries[n - 1].index;
    rn.advance(rd);
    rn.step(newMessage({ type: MessageType.MsgHeartbeat, to: 1n, from: 2n, term: 1, commit: 11 }));
  }
});

test('uncommitted log growth is bounded while partitioned', () => {
  const maxEntries = 16;
  const data = Buffer.from('testdata');
  const maxEntrySize = maxEntries * payloadSize({ term: 0, index: 0, type: EntryType.EntryNormal, data });
  const s = storageWithPeers(1n);
  const cfg = testConfig(1n, 10, 1, s);
  cfg.maxUncommittedEntriesSize = maxEntrySize;
  const rn = new RawNode(cfg);
  rn.campaign();
  for (;;) {
    const rd = rn.ready();
    s.append(rd.entries);
    rn.advance(rd);
    if (rd.committedEntries.length > 0) break;
  }
  for (let i = 0; i < 1024; i++) rn.propose(data);
  assert.equal(rn.raft.uncommittedSize, maxEntrySize);
  let rd = rn.ready();
  assert.equal(rd.entries.length, maxEntries);
  s.append(rd.entries);
  rn.advance(rd);
  assert.equal(rn.raft.uncommittedSize, maxEntrySize);
  rd = rn.ready();
  assert.equal(rd.entries.length, 0);
  assert.equal(rd.committedEntries.length, maxEntries);
  rn.advance(rd);
  assert.equal(rn.raft.uncommittedSize, 0);
});

test('readyWithoutAccept leaves messages in raft; ready() takes them; advance keeps new ones', () => {
  const s = storageWithPeers(1n);
  const rn = new RawNode(testConfig(1n, 3, 1, s));
  const m1 = newMessage({ context: Buffer.from('foo') });
  const m2 = newMessage({ context: Buffer.from('bar') });
  rn.raft.msgs.push(m1);
  let rd = rn.readyWithoutAccept();
  assert.deepEqual(rd.messages, [m1]);
  assert.deepEqual(rn.raft.msgs, [m1]);
  rd = rn.ready();
  assert.equal(rn.raft.msgs.length, 0);
  assert.deepEqual(rd.messages, [m1]);
  rn.raft.msgs.push(m2);
  rn.advance(rd);
  assert.deepEqual(rn.raft.msgs, [m2]);
});

test('two accepted Readys without advance is a programming error', () => {
  const s = storageWithPeers(1n);
  const rn = new RawNode(testConfig(1n, 10, 1, s));
  rn.campaign();
  rn.ready();
  // The self vote response is still owed: accepting another Ready must fail loudly.
  assert.throws(() => rn.ready(), RaftPanic);
});

test('bootstrap appends committed AddNode entries and emits a HardState', () => {
  const s = new MemoryStorage();
  const rn = new RawNode(testConfig(1n, 10, 1, s));
  assert.match(String(rn.bootstrap([])), /must provide at least one peer/);
  assert.equal(rn.bootstrap([{ id: 1n }, { id: 2n, context: Buffer.from('ctx') }, { id: 3n }]), null);
  assert.equal(rn.raft.trk.voterNodes().join(','), '1,2,3');
  const rd = rn.ready();
  assert.deepEqual(rd.hardState, { term: 1, vote: 0n, commit: 3 });
  assert.equal(rd.mustSync, true);
  assert.equal(rd.entries.length, 3);
  assert.deepEqual(rd.committedEntries.map(normEntry), rd.entries.map(normEntry));
  const cc = decodeConfChange(rd.entries[1].data);
  assert.equal(cc.nodeId, 2n);
  assert.equal(cc.type, Add);
  assert.equal(Buffer.from(cc.context).toString(), 'ctx');
  s.setHardState(rd.hardState!);
  s.append(rd.entries);
  for (const e of rd.committedEntries) rn.applyConfChange(decodeConfChange(e.data));
  rn.advance(rd);
  assert.equal(rn.hasReady(), false);
  assert.equal(rn.raft.raftLog.applied, 3);
  assert.match(String(new RawNode(testConfig(1n, 10, 1, s)).bootstrap([{ id: 1n }])), /nonempty Storage/);
});

test('async storage writes: storage work is routed as messages, advance is refused', () => {
  const s = storageWithPeers(1n);
  const cfg = testConfig(1n, 10, 1, s);
  cfg.asyncStorageWrites = true;
  const rn = new RawNode(cfg);
  rn.campaign();
  const rd = rn.ready();
  const app = rd.messages.find((m) => m.type === MessageType.MsgStorageAppend)!;
  assert.ok(app);
  assert.equal(app.to, LocalAppendThread);
  assert.equal(app.term, 1);
  assert.equal(app.vote, 1n);
  // The self vote response waits for the append.
  assert.deepEqual(
    app.responses.map((m) => MessageType[m.type]),
    ['MsgVoteResp'],
  );
  assert.throws(() => rn.advance(rd), RaftPanic);
  // Deliver the append's responses: the node becomes leader and appends its empty entry.
  s.setHardState({ term: app.term, vote: app.vote, commit: app.commit });
  for (const m of app.responses) rn.step(m);
  assert.equal(rn.raft.state, StateType.StateLeader);
  const rd2 = rn.ready();
  const app2 = rd2.messages.find((m) => m.type === MessageType.MsgStorageAppend)!;
  assert.equal(app2.entries.length, 1);
  s.append(app2.entries);
  for (const m of app2.responses) rn.step(m);
  const rd3 = rn.ready();
  const apply = rd3.messages.find((m) => m.type === MessageType.MsgStorageApply)!;
  assert.equal(apply.to, LocalApplyThread);
  assert.equal(apply.entries.length, 1);
  for (const m of apply.responses) rn.step(m);
  assert.equal(rn.raft.raftLog.applied, 1);
});

test('transferLeader, reportUnreachable and reportSnapshot reach raft', () => {
  const s = storageWithPeers(1n, 2n, 3n);
  const rn = new RawNode(testConfig(1n, 10, 1, s));
  rn.campaign();
  let rd = rn.ready();
  s.append(rd.entries);
  rn.advance(rd);
  rn.step(newMessage({ type: MessageType.MsgVoteResp, from: 2n, to: 1n, term: 1 }));
  assert.equal(rn.raft.state, StateType.StateLeader);
  rd = rn.ready();
  s.append(rd.entries);
  rn.advance(rd);
  // Follower 2 replicating, 3 in probe: unreachable sends 2 back to probe.
  rn.step(newMessage({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: 1, index: 1 }));
  assert.equal(rn.raft.trk.progress.get(2n)!.state, 1);
  rn.reportUnreachable(2n);
  assert.equal(rn.raft.trk.progress.get(2n)!.state, 0);
  // A failed snapshot report moves a StateSnapshot follower back to probe.
  rn.raft.trk.progress.get(3n)!.becomeSnapshot(1);
  rn.reportSnapshot(3n, SnapshotStatus.SnapshotFailure);
  assert.equal(rn.raft.trk.progress.get(3n)!.state, 0);
  rn.transferLeader(3n);
  assert.equal(rn.basicStatus().leadTransferee, 3n);
  assert.deepEqual(confChangeToV2({ type: Add, nodeId: 4n, context: EMPTY_BYTES, id: 0n }).changes, [{ type: Add, nodeId: 4n }]);
});

test('forgetLeader makes a follower leaderless in the same term', () => {
  const s = storageWithPeers(1n, 2n);
  const rn = new RawNode(testConfig(1n, 10, 1, s));
  rn.step(newMessage({ type: MessageType.MsgHeartbeat, from: 2n, to: 1n, term: 3 }));
  assert.equal(rn.raft.lead, 2n);
  assert.equal(rn.forgetLeader(), null);
  assert.equal(rn.raft.lead, 0n);
  assert.equal(rn.raft.term, 3);
  assert.equal(rn.raft.state, StateType.StateFollower);
});
