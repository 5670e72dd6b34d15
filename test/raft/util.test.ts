// Tests of raft util: describe* formats (README §4, byte-exact), Go %q, message classification and
// entry sizes (port of etcd-raft util_test.go plus the conformance examples).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LocalAppendThread,
  LocalApplyThread,
  describeConfChange,
  describeEntries,
  describeEntry,
  describeHardState,
  describeMessage,
  describeReady,
  describeSnapshot,
  describeSoftState,
  entsSize,
  formatId,
  goQuote,
  isLocalMsg,
  isLocalMsgTarget,
  isResponseMsg,
  limitSize,
  payloadSize,
  payloadsSize,
  voteRespMsgType,
} from '../../src/raft/util.js';
import { RaftPanic } from '../../src/raft/logger.js';
import { entrySize, encodeConfChange, encodeConfChangeV2 } from '../../src/raft/raftpb/codec.js';
import {
  ConfChangeTransition,
  ConfChangeType,
  EMPTY_BYTES,
  EntryType,
  MessageType,
  emptyConfState,
  newMessage,
} from '../../src/raft/raftpb/types.js';
import type { Entry, Snapshot } from '../../src/raft/raftpb/types.js';
import { StateType } from '../../src/raft/ready.js';
import type { Ready } from '../../src/raft/ready.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const entry = (term: number, index: number, data: Uint8Array = EMPTY_BYTES, type = EntryType.EntryNormal): Entry => ({
  term,
  index,
  type,
  data,
});

function emptyReady(): Ready {
  return {
    softState: null,
    hardState: null,
    readStates: [],
    entries: [],
    snapshot: null,
    committedEntries: [],
    messages: [],
    mustSync: false,
  };
}

const snap = (index: number, term: number, voters: bigint[], votersOutgoing: bigint[] = [], autoLeave = false): Snapshot => ({
  data: EMPTY_BYTES,
  metadata: { index, term, confState: { ...emptyConfState(), voters, votersOutgoing, autoLeave } },
});

test('describeEntry', () => {
  const e = entry(1, 2, bytes('hello\x00world'));
  assert.equal(describeEntry(e), '1/2 EntryNormal "hello\\x00world"');
  assert.equal(describeEntry(e, (d) => Buffer.from(d).toString('latin1').toUpperCase()), '1/2 EntryNormal HELLO\x00WORLD');
  assert.equal(describeEntry(entry(1, 3)), '1/3 EntryNormal ""');
  assert.equal(describeEntry(entry(1, 12, bytes('"foo"'))), '1/12 EntryNormal "\\"foo\\""');
});

test('describeEntry of conf changes', () => {
  const v1 = encodeConfChange({ type: ConfChangeType.ConfChangeAddNode, nodeId: 2n, context: EMPTY_BYTES, id: 0n });
  assert.equal(describeEntry(entry(1, 4, v1, EntryType.EntryConfChange)), '1/4 EntryConfChange v2');
  const v2 = encodeConfChangeV2({
    transition: ConfChangeTransition.ConfChangeTransitionAuto,
    changes: [
      { type: ConfChangeType.ConfChangeAddNode, nodeId: 2n },
      { type: ConfChangeType.ConfChangeAddNode, nodeId: 3n },
      { type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 4n },
      { type: ConfChangeType.ConfChangeRemoveNode, nodeId: 5n },
      { type: ConfChangeType.ConfChangeUpdateNode, nodeId: 12n },
    ],
    context: EMPTY_BYTES,
  });
  assert.equal(describeEntry(entry(1, 4, v2, EntryType.EntryConfChangeV2)), '1/4 EntryConfChangeV2 v2 v3 l4 r5 u12');
  // Leaving a joint config: no changes, and no trailing space.
  const leave = encodeConfChangeV2({ transition: ConfChangeTransition.ConfChangeTransitionAuto, changes: [], context: EMPTY_BYTES });
  assert.equal(describeEntry(entry(1, 5, leave, EntryType.EntryConfChangeV2)), '1/5 EntryConfChangeV2');
  // Undecodable data prints the decode error instead.
  const bad = describeEntry(entry(1, 6, new Uint8Array([0x0a, 0x05]), EntryType.EntryConfChangeV2));
  assert.match(bad, /^1\/6 EntryConfChangeV2 \S/);
});

test('describeEntries', () => {
  assert.equal(describeEntries([entry(1, 3), entry(2, 4, bytes('x'))]), '1/3 EntryNormal ""\n2/4 EntryNormal "x"\n');
  assert.equal(describeEntries([]), '');
});

test('goQuote', () => {
  const cases: [Uint8Array, string][] = [
    [bytes(''), '""'],
    [bytes('prop_1_18'), '"prop_1_18"'],
    [bytes('a"b\\c'), '"a\\"b\\\\c"'],
    [new Uint8Array([7, 8, 12, 10, 13, 9, 11]), '"\\a\\b\\f\\n\\r\\t\\v"'],
    [new Uint8Array([0, 1, 0x1f, 0x7f]), '"\\x00\\x01\\x1f\\x7f"'],
    // Printable UTF-8 is kept; invalid bytes are \x escapes.
    [bytes('héllo ∞ 日本'), '"héllo ∞ 日本"'],
    [new Uint8Array([0xff, 0x41, 0xc3]), '"\\xffA\\xc3"'],
    // A surrogate half encoded in UTF-8 is invalid in Go.
    [new Uint8Array([0xed, 0xa0, 0x80]), '"\\xed\\xa0\\x80"'],
    // Overlong encodings are invalid.
    [new Uint8Array([0xc0, 0x80]), '"\\xc0\\x80"'],
    // Non-printable runes: \u and \U escapes.
    [bytes('\u00a0\u200b'), '"\\u00a0\\u200b"'],
    [bytes('\u{e0001}'), '"\\U000e0001"'],
    [bytes('😀'), '"😀"'],
  ];
  for (const [input, want] of cases) assert.equal(goQuote(input), want, `input ${Array.from(input)}`);
});

test('describeMessage', () => {
  const m = (f: Parameters<typeof newMessage>[0]) => describeMessage(newMessage(f));
  assert.equal(m({ from: 1n, to: 2n, type: MessageType.MsgVote, term: 1, logTerm: 1, index: 2 }), '1->2 MsgVote Term:1 Log:1/2');
  assert.equal(m({ from: 2n, to: 1n, type: MessageType.MsgVoteResp, term: 1 }), '2->1 MsgVoteResp Term:1 Log:0/0');
  assert.equal(
    m({ from: 1n, to: 2n, type: MessageType.MsgApp, term: 1, logTerm: 1, index: 2, commit: 2, entries: [entry(1, 3)] }),
    '1->2 MsgApp Term:1 Log:1/2 Commit:2 Entries:[1/3 EntryNormal ""]',
  );
  assert.equal(
    m({ from: 2n, to: 1n, type: MessageType.MsgAppResp, term: 1, index: 3, reject: true, rejectHint: 0 }),
    '2->1 MsgAppResp Term:1 Log:0/3 Rejected (Hint: 0)',
  );
  assert.equal(m({ from: 1n, to: 2n, type: MessageType.MsgHeartbeat, term: 1, commit: 11 }), '1->2 MsgHeartbeat Term:1 Log:0/0 Commit:11');
  assert.equal(m({ from: 0xabn, to: 0n, type: MessageType.MsgTimeoutNow, term: 1 }), 'ab->None MsgTimeoutNow Term:1 Log:0/0');
  // Several entries go on their own lines.
  const v3 = encodeConfChangeV2({
    transition: ConfChangeTransition.ConfChangeTransitionAuto,
    changes: [{ type: ConfChangeType.ConfChangeAddNode, nodeId: 3n }],
    context: EMPTY_BYTES,
  });
  assert.equal(
    m({
      from: 2n,
      to: 3n,
      type: MessageType.MsgApp,
      term: 2,
      logTerm: 1,
      index: 3,
      commit: 4,
      entries: [entry(1, 4, v3, EntryType.EntryConfChangeV2), entry(2, 5)],
    }),
    '2->3 MsgApp Term:2 Log:1/3 Commit:4 Entries:[\n  1/4 EntryConfChangeV2 v3\n  2/5 EntryNormal ""\n]',
  );
  // A snapshot goes on its own line with a colon.
  assert.equal(
    m({ from: 1n, to: 3n, type: MessageType.MsgSnap, term: 1, snapshot: snap(11, 1, [1n, 2n, 3n]) }),
    '1->3 MsgSnap Term:1 Log:0/0\n  Snapshot: Index:11 Term:1 ConfState:Voters:[1 2 3] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false',
  );
  // An empty snapshot is not shown.
  assert.equal(m({ from: 1n, to: 3n, type: MessageType.MsgSnap, term: 1, snapshot: snap(0, 0, []) }), '1->3 MsgSnap Term:1 Log:0/0');
});

test('describeMessage with responses (async storage writes)', () => {
  const app = newMessage({
    from: 1n,
    to: LocalAppendThread,
    type: MessageType.MsgStorageAppend,
    entries: [entry(1, 11)],
    responses: [
      newMessage({ from: 1n, to: 1n, type: MessageType.MsgAppResp, term: 1, index: 11 }),
      newMessage({ from: LocalAppendThread, to: 1n, type: MessageType.MsgStorageAppendResp, term: 1, logTerm: 1, index: 11 }),
    ],
  });
  assert.equal(
    describeMessage(app),
    '1->AppendThread MsgStorageAppend Term:0 Log:0/0 Entries:[1/11 EntryNormal ""] Responses:[\n' +
      '  1->1 MsgAppResp Term:1 Log:0/11\n' +
      '  AppendThread->1 MsgStorageAppendResp Term:1 Log:1/11\n' +
      ']',
  );
  const vote = newMessage({
    from: 1n,
    to: LocalAppendThread,
    type: MessageType.MsgStorageAppend,
    commit: 10,
    vote: 1n,
    responses: [newMessage({ from: 1n, to: 1n, type: MessageType.MsgVoteResp, term: 1 })],
  });
  assert.equal(
    describeMessage(vote),
    '1->AppendThread MsgStorageAppend Term:0 Log:0/0 Commit:10 Vote:1 Responses:[\n  1->1 MsgVoteResp Term:1 Log:0/0\n]',
  );
  const apply = newMessage({
    from: 1n,
    to: LocalApplyThread,
    type: MessageType.MsgStorageApply,
    entries: [entry(1, 11)],
    responses: [
      newMessage({ from: LocalApplyThread, to: 1n, type: MessageType.MsgStorageApplyResp, entries: [entry(1, 11)] }),
    ],
  });
  assert.equal(
    describeMessage(apply),
    '1->ApplyThread MsgStorageApply Term:0 Log:0/0 Entries:[1/11 EntryNormal ""] Responses:[\n' +
      '  ApplyThread->1 MsgStorageApplyResp Term:0 Log:0/0 Entries:[1/11 EntryNormal ""]\n' +
      ']',
  );
});

test('describeReady', () => {
  assert.equal(describeReady(emptyReady()), '<empty Ready>');
  // All-zero HardState and empty snapshot count as absent.
  assert.equal(
    describeReady({ ...emptyReady(), hardState: { term: 0, vote: 0n, commit: 0 }, snapshot: snap(0, 0, []), mustSync: true }),
    '<empty Ready>',
  );
  const rd: Ready = {
    softState: { lead: 0n, raftState: StateType.StateCandidate },
    hardState: { term: 1, vote: 1n, commit: 3 },
    readStates: [{ index: 5, requestCtx: bytes('ctx') }],
    entries: [entry(1, 4)],
    snapshot: snap(4, 1, [1n, 2n, 3n], [1n], true),
    committedEntries: [entry(1, 3), entry(1, 4)],
    messages: [newMessage({ from: 1n, to: 2n, type: MessageType.MsgVote, term: 1, logTerm: 1, index: 2 })],
    mustSync: true,
  };
  assert.equal(
    describeReady(rd),
    'Ready MustSync=true:\n' +
      'Lead:0 State:StateCandidate\n' +
      'HardState Term:1 Vote:1 Commit:3\n' +
      'ReadStates [{5 [99 116 120]}]\n' +
      'Entries:\n' +
      '1/4 EntryNormal ""\n' +
      'Snapshot Index:4 Term:1 ConfState:Voters:[1 2 3] VotersOutgoing:[1] Learners:[] LearnersNext:[] AutoLeave:true\n' +
      'CommittedEntries:\n' +
      '1/3 EntryNormal ""\n' +
      '1/4 EntryNormal ""\n' +
      'Messages:\n' +
      '1->2 MsgVote Term:1 Log:1/2\n',
  );
  assert.equal(
    describeReady({ ...emptyReady(), hardState: { term: 1, vote: 0n, commit: 0 } }),
    'Ready MustSync=false:\nHardState Term:1 Commit:0\n',
  );
});

test('describe state helpers', () => {
  assert.equal(describeHardState({ term: 1, vote: 0n, commit: 4 }), 'Term:1 Commit:4');
  assert.equal(describeSoftState({ lead: 1n, raftState: StateType.StateLeader }), 'Lead:1 State:StateLeader');
  assert.equal(
    describeSnapshot({
      data: EMPTY_BYTES,
      metadata: { index: 4, term: 1, confState: { voters: [3n, 1n], learners: [4n], votersOutgoing: [], learnersNext: [5n], autoLeave: false } },
    }),
    'Index:4 Term:1 ConfState:Voters:[3 1] VotersOutgoing:[] Learners:[4] LearnersNext:[5] AutoLeave:false',
  );
  assert.equal(formatId(255n), 'ff');
});

test('describeConfChange', () => {
  assert.equal(
    describeConfChange({
      transition: ConfChangeTransition.ConfChangeTransitionAuto,
      changes: [
        { type: ConfChangeType.ConfChangeAddNode, nodeId: 3n },
        { type: ConfChangeType.ConfChangeAddNode, nodeId: 4n },
      ],
      context: EMPTY_BYTES,
    }),
    'transition:ConfChangeTransitionAuto changes:{type:ConfChangeAddNode node_id:3} changes:{type:ConfChangeAddNode node_id:4}',
  );
  assert.equal(
    describeConfChange({ transition: ConfChangeTransition.ConfChangeTransitionAuto, changes: [], context: EMPTY_BYTES }),
    'transition:ConfChangeTransitionAuto',
  );
  assert.equal(
    describeConfChange({
      transition: ConfChangeTransition.ConfChangeTransitionJointExplicit,
      changes: [{ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 7n }],
      context: bytes('c"x'),
    }),
    'transition:ConfChangeTransitionJointExplicit changes:{type:ConfChangeAddLearnerNode node_id:7} context:"c\\"x"',
  );
  // A V1 change is shown in V2 form.
  assert.equal(
    describeConfChange({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: 2n, context: EMPTY_BYTES, id: 9n }),
    'transition:ConfChangeTransitionAuto changes:{type:ConfChangeRemoveNode node_id:2}',
  );
});

test('limitSize', () => {
  const es = [entry(4, 4), entry(5, 5), entry(6, 6)];
  const s = es.map(entrySize);
  const cases: [number, number][] = [
    [Infinity, 3],
    // Even a zero limit returns the first entry.
    [0, 1],
    [s[0] + s[1], 2],
    [s[0] + s[1] + s[2] / 2, 2],
    [s[0] + s[1] + s[2] - 1, 2],
    [s[0] + s[1] + s[2], 3],
  ];
  for (const [maxSize, n] of cases) {
    const got = limitSize(es, maxSize);
    assert.deepEqual(got, es.slice(0, n), `maxSize ${maxSize}`);
    assert.ok(got.length === 1 || entsSize(got) <= maxSize);
  }
  assert.deepEqual(limitSize([], 0), []);
  assert.equal(es.length, 3);
});

test('isLocalMsg', () => {
  const local = new Set([
    MessageType.MsgHup,
    MessageType.MsgBeat,
    MessageType.MsgUnreachable,
    MessageType.MsgSnapStatus,
    MessageType.MsgCheckQuorum,
    MessageType.MsgStorageAppend,
    MessageType.MsgStorageAppendResp,
    MessageType.MsgStorageApply,
    MessageType.MsgStorageApplyResp,
  ]);
  for (let t = 0; t <= MessageType.MsgForgetLeader; t++) assert.equal(isLocalMsg(t), local.has(t), MessageType[t]);
  assert.equal(isLocalMsg(99 as MessageType), false);
});

test('isResponseMsg', () => {
  const resp = new Set([
    MessageType.MsgAppResp,
    MessageType.MsgVoteResp,
    MessageType.MsgHeartbeatResp,
    MessageType.MsgUnreachable,
    MessageType.MsgReadIndexResp,
    MessageType.MsgPreVoteResp,
    MessageType.MsgStorageAppendResp,
    MessageType.MsgStorageApplyResp,
  ]);
  for (let t = 0; t <= MessageType.MsgForgetLeader; t++) assert.equal(isResponseMsg(t), resp.has(t), MessageType[t]);
});

test('isLocalMsgTarget and voteRespMsgType', () => {
  assert.equal(isLocalMsgTarget(LocalAppendThread), true);
  assert.equal(isLocalMsgTarget(LocalApplyThread), true);
  assert.equal(isLocalMsgTarget(1n), false);
  assert.equal(voteRespMsgType(MessageType.MsgVote), MessageType.MsgVoteResp);
  assert.equal(voteRespMsgType(MessageType.MsgPreVote), MessageType.MsgPreVoteResp);
  assert.throws(() => voteRespMsgType(MessageType.MsgApp), (e) => e instanceof RaftPanic && e.message === 'not a vote message: MsgApp');
});

test('payload sizes', () => {
  assert.equal(payloadSize(entry(1, 1)), 0);
  assert.equal(payloadSize(entry(1, 1, bytes('abc'))), 3);
  assert.equal(payloadsSize([entry(1, 1, bytes('abc')), entry(1, 2), entry(1, 3, bytes('de'))]), 5);
  assert.equal(entsSize([entry(1, 1), entry(1, 2)]), entrySize(entry(1, 1)) + entrySize(entry(1, 2)));
});
