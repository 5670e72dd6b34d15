// Tests for the raftpb protobuf codec: known etcd byte layouts and round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeConfChange,
  decodeConfChangeV2,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeSnapshot,
  encodeConfChange,
  encodeConfChangeV2,
  encodeEntry,
  encodeHardState,
  encodeMessage,
  encodeSnapshot,
  entrySize,
} from '../../../src/raft/raftpb/codec.js';
import {
  ConfChangeTransition,
  ConfChangeType,
  EntryType,
  MessageType,
  newMessage,
} from '../../../src/raft/raftpb/types.js';

test('entry encodes as gogoproto does (all scalar fields, then data)', () => {
  const e = { term: 1, index: 2, type: EntryType.EntryNormal, data: Buffer.from('a') };
  assert.equal(encodeEntry(e).toString('hex'), '0800100118022201' + '61');
  assert.equal(entrySize(e), 9);
  assert.deepEqual(decodeEntry(encodeEntry(e)), e);
});

test('large indexes and 64-bit ids round-trip', () => {
  const hs = { term: 2 ** 40 + 3, vote: 0xfedcba9876543210n, commit: Number.MAX_SAFE_INTEGER };
  assert.deepEqual(decodeHardState(encodeHardState(hs)), hs);
});

test('message with entries, snapshot and responses round-trips', () => {
  const m = newMessage({
    type: MessageType.MsgStorageAppend,
    to: 0xffffffffffffffffn,
    from: 1n,
    term: 5,
    logTerm: 4,
    index: 100,
    commit: 99,
    vote: 3n,
    reject: true,
    rejectHint: 7,
    context: Buffer.from('ctx'),
    entries: [
      { term: 5, index: 101, type: EntryType.EntryNormal, data: Buffer.from('x'.repeat(300)) },
      { term: 5, index: 102, type: EntryType.EntryConfChangeV2, data: new Uint8Array(0) },
    ],
    snapshot: {
      data: Buffer.from('snap'),
      metadata: {
        index: 50,
        term: 3,
        confState: {
          voters: [1n, 2n, 3n],
          learners: [4n],
          votersOutgoing: [1n],
          learnersNext: [],
          autoLeave: true,
        },
      },
    },
    responses: [newMessage({ type: MessageType.MsgAppResp, to: 1n, from: 1n, term: 5, index: 102 })],
  });
  const d = decodeMessage(encodeMessage(m));
  assert.equal(d.type, m.type);
  assert.equal(d.to, m.to);
  assert.equal(d.vote, 3n);
  assert.equal(d.reject, true);
  assert.equal(d.rejectHint, 7);
  assert.equal(Buffer.from(d.context).toString(), 'ctx');
  assert.equal(d.entries.length, 2);
  assert.equal(Buffer.from(d.entries[0]!.data).toString(), 'x'.repeat(300));
  assert.equal(d.entries[1]!.type, EntryType.EntryConfChangeV2);
  assert.deepEqual(d.snapshot!.metadata, m.snapshot!.metadata);
  assert.equal(d.responses.length, 1);
  assert.equal(d.responses[0]!.index, 102);
});

test('snapshot round-trips', () => {
  const s = {
    data: new Uint8Array(0),
    metadata: {
      index: 7,
      term: 2,
      confState: { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
    },
  };
  assert.deepEqual(decodeSnapshot(encodeSnapshot(s)), s);
});

test('conf changes round-trip', () => {
  const cc = { type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 9n, context: new Uint8Array(0), id: 12n };
  assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
  const v2 = {
    transition: ConfChangeTransition.ConfChangeTransitionJointExplicit,
    changes: [
      { type: ConfChangeType.ConfChangeAddNode, nodeId: 2n },
      { type: ConfChangeType.ConfChangeRemoveNode, nodeId: 1n },
    ],
    context: new Uint8Array(0),
  };
  assert.deepEqual(decodeConfChangeV2(encodeConfChangeV2(v2)), v2);
});

test('truncated input is refused', () => {
  const buf = encodeEntry({ term: 1, index: 2, type: EntryType.EntryNormal, data: Buffer.from('hello') });
  assert.throws(() => decodeEntry(buf.subarray(0, buf.length - 2)), /unexpected EOF/);
});

test('message, hard state and conf changes keep their exact bytes (64-bit ids, multi-byte varints)', () => {
  const cs = { voters: [1n, 0xbdae9bbc11dd390dn], learners: [300n], votersOutgoing: [], learnersNext: [2n ** 64n - 1n], autoLeave: true };
  const snapshot = { data: Buffer.from('snapdata'), metadata: { confState: cs, index: 200000, term: 2 ** 40 } };
  const m = newMessage({
    type: MessageType.MsgApp, to: 0xbdae9bbc11dd390dn, from: 2n, term: 7, logTerm: 6, index: 2 ** 33, commit: 129,
    reject: true, rejectHint: 16384, vote: 3n, context: Buffer.from('ctx'), snapshot,
    entries: [
      { term: 7, index: 2 ** 33 + 1, type: EntryType.EntryConfChange, data: Buffer.from('e1') },
      { term: 7, index: 5, type: EntryType.EntryNormal, data: new Uint8Array(0) },
    ],
    responses: [newMessage({ type: MessageType.MsgHeartbeat, to: 1n, from: 2n, term: 1 })],
  });
  assert.equal(
    encodeMessage(m).toString('hex'),
    '0803108df2f48ec1f7a6d7bd011802200728063080808080203a0e08011007188180808020220265313a060800100718054081014a360a08' +
      '736e617064617461122a0a1d0801088df2f48ec1f7a6d7bd0110ac0220ffffffffffffffffff01280110c09a0c18808080808020500158' +
      '8080016203637478680372140808100118022001280030004000500058006800',
  );
  assert.equal(encodeHardState({ term: 2 ** 35, vote: 0xbdae9bbc11dd390dn, commit: 127 }).toString('hex'), '08808080808001108df2f48ec1f7a6d7bd01187f');
  const cc = { type: ConfChangeType.ConfChangeUpdateNode, nodeId: 0xbdae9bbc11dd390dn, context: Buffer.from('c'), id: 2n ** 63n };
  assert.equal(encodeConfChange(cc).toString('hex'), '08808080808080808080011002188df2f48ec1f7a6d7bd01220163');
  const cc2 = {
    transition: ConfChangeTransition.ConfChangeTransitionJointImplicit,
    changes: [{ type: ConfChangeType.ConfChangeAddNode, nodeId: 2n }, { type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 2n ** 60n }],
    context: Buffer.from('x'),
  };
  assert.equal(encodeConfChangeV2(cc2).toString('hex'), '0801120408001002120c0803108080808080808080101a0178');
});
