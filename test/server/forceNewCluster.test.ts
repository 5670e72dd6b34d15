// Unit tests of --force-new-cluster's WAL rewrite: uncommitted entries dropped, the member set read
// from the snapshot and conf change entries, removal entries for every other member (self added first
// when missing), committed at once and saved to the WAL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConfChangeType,
  EntryType,
  emptySnapshot,
  type ConfChange,
  type Entry,
  type HardState,
} from '../../src/raft/index.js';
import { decodeConfChange, encodeConfChange } from '../../src/raft/raftpb/codec.js';
import { silentLogger, type ServerLogger } from '../../src/server/config.js';
import {
  committedEntries,
  configChangeEntries,
  forceStandalone,
  memberIdsOf,
} from '../../src/server/forceNewCluster.js';
import { memberFromJson } from '../../src/server/membership/member.js';

const cc = (type: ConfChangeType, nodeId: bigint): ConfChange => ({ type, nodeId, context: new Uint8Array(0), id: 0n });
const ccEntry = (index: number, type: ConfChangeType, nodeId: bigint): Entry => ({
  term: 1,
  index,
  type: EntryType.EntryConfChange,
  data: encodeConfChange(cc(type, nodeId)),
});
const normal = (index: number, term = 2): Entry => ({ term, index, type: EntryType.EntryNormal, data: new Uint8Array([index]) });

function recordingLogger(): { lg: ServerLogger; lines: { obj: object; msg: string }[] } {
  const lines: { obj: object; msg: string }[] = [];
  return { lg: { ...silentLogger, info: (obj, msg) => lines.push({ obj, msg }) }, lines };
}

test('committedEntries keeps entries up to the commit and logs what it drops', () => {
  const { lg, lines } = recordingLogger();
  const ents = [normal(1), normal(2), normal(3), normal(4)];
  assert.deepEqual(committedEntries(ents, 2, lg).map((e) => e.index), [1, 2]);
  assert.deepEqual(lines, [
    { obj: { 'entry-index': 3, 'commit-index-from-wal': 2, 'number-of-discarded-entries': 2 }, msg: 'discarding uncommitted WAL entries' },
  ]);
  assert.equal(committedEntries(ents, 4, lg), ents);
  assert.equal(lines.length, 1);
});

test('memberIdsOf replays adds and removes over the snapshot configuration, ascending', () => {
  const snap = emptySnapshot();
  snap.metadata.confState.voters = [30n, 10n];
  snap.metadata.confState.learners = [40n];
  const ents = [
    ccEntry(5, ConfChangeType.ConfChangeAddNode, 20n),
    normal(6),
    ccEntry(7, ConfChangeType.ConfChangeRemoveNode, 30n),
    ccEntry(8, ConfChangeType.ConfChangeAddLearnerNode, 50n),
    ccEntry(9, ConfChangeType.ConfChangeUpdateNode, 60n),
  ];
  assert.deepEqual(memberIdsOf(snap, ents), [10n, 20n, 40n, 50n]);
  assert.deepEqual(memberIdsOf(null, ents), [20n, 50n]);
});

test('configChangeEntries removes every other member after the given index, at the given term', () => {
  const ents = configChangeEntries([1n, 2n, 3n], 2n, 7, 100);
  assert.deepEqual(
    ents.map((e) => [e.index, e.term, e.type]),
    [
      [101, 7, EntryType.EntryConfChange],
      [102, 7, EntryType.EntryConfChange],
    ],
  );
  assert.deepEqual(
    ents.map((e) => decodeConfChange(e.data)).map((c) => [c.type, c.nodeId]),
    [
      [ConfChangeType.ConfChangeRemoveNode, 1n],
      [ConfChangeType.ConfChangeRemoveNode, 3n],
    ],
  );
  assert.deepEqual(configChangeEntries([5n], 5n, 1, 1), []);
});

test('configChangeEntries adds self first (with a placeholder member) when the log lost it', () => {
  const ents = configChangeEntries([1n, 3n], 2n, 4, 10);
  const ccs = ents.map((e) => decodeConfChange(e.data));
  assert.deepEqual(
    ccs.map((c) => [c.type, c.nodeId]),
    [
      [ConfChangeType.ConfChangeAddNode, 2n],
      [ConfChangeType.ConfChangeRemoveNode, 1n],
      [ConfChangeType.ConfChangeRemoveNode, 3n],
    ],
  );
  assert.deepEqual(ents.map((e) => e.index), [11, 12, 13]);
  const m = memberFromJson(Buffer.from(ccs[0].context).toString());
  assert.equal(m.id, 2n);
  assert.deepEqual(m.peerURLs, ['http://localhost:2380']);
});

test('forceStandalone drops the uncommitted tail, saves the removals and commits them', async () => {
  const saved: { hs: HardState; ents: readonly Entry[] }[] = [];
  const wal = { save: async (hs: HardState, ents: readonly Entry[]) => void saved.push({ hs, ents }) };
  const { lg, lines } = recordingLogger();
  const hs: HardState = { term: 3, vote: 1n, commit: 5 };
  const read = [
    ccEntry(1, ConfChangeType.ConfChangeAddNode, 1n),
    ccEntry(2, ConfChangeType.ConfChangeAddNode, 2n),
    ccEntry(3, ConfChangeType.ConfChangeAddNode, 3n),
    normal(4),
    normal(5),
    normal(6, 3),
    // An uncommitted add: dropped, so no removal is generated for it.
    ccEntry(7, ConfChangeType.ConfChangeAddNode, 9n),
  ];
  const out = await forceStandalone(wal, null, hs, read, { nodeId: 2n, clusterId: 0xabcn }, lg);
  assert.deepEqual(out.entries.map((e) => e.index), [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(
    out.entries.slice(5).map((e) => [e.term, decodeConfChange(e.data).type, decodeConfChange(e.data).nodeId]),
    [
      [3, ConfChangeType.ConfChangeRemoveNode, 1n],
      [3, ConfChangeType.ConfChangeRemoveNode, 3n],
    ],
  );
  assert.deepEqual(out.hardState, { term: 3, vote: 1n, commit: 7 });
  assert.equal(hs.commit, 5, 'the HardState read is not mutated');
  assert.equal(saved.length, 1);
  assert.deepEqual(saved[0].hs, out.hardState);
  assert.deepEqual(saved[0].ents, out.entries.slice(5));
  assert.deepEqual(lines.map((l) => l.msg), ['discarding uncommitted WAL entries', 'forcing restart member']);
  assert.deepEqual(lines[1].obj, { 'cluster-id': 'abc', 'local-member-id': '2', 'commit-index': 7 });
});

test('forceStandalone on a member already alone changes nothing and saves nothing', async () => {
  let saves = 0;
  const wal = { save: async () => void saves++ };
  const hs: HardState = { term: 2, vote: 1n, commit: 2 };
  const read = [ccEntry(1, ConfChangeType.ConfChangeAddNode, 1n), normal(2)];
  const out = await forceStandalone(wal, null, hs, read, { nodeId: 1n, clusterId: 1n }, silentLogger);
  assert.equal(out.entries, read);
  assert.deepEqual(out.hardState, hs);
  assert.equal(saves, 0);
});
