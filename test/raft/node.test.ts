// Tests for the event-loop Node: proposal batching and settlement, waiting for a leader, abort and
// stop, the Ready handler and async iterator, message filtering, and a 3-node in-process cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfChangeType,
  EMPTY_BYTES,
  Entry,
  EntryType,
  MessageType,
  NodeId,
  emptyConfState,
  newMessage,
} from '../../src/raft/raftpb/types.js';
import { decodeConfChange, decodeConfChangeV2 } from '../../src/raft/raftpb/codec.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { Logger, discardLogger } from '../../src/raft/logger.js';
import { Config } from '../../src/raft/raft.js';
import { Node, restartNode, startNode } from '../../src/raft/node.js';
import { ErrProposalDropped, ErrStopped } from '../../src/raft/errors.js';
import type { Ready } from '../../src/raft/ready.js';
import { StateType } from '../../src/raft/ready.js';

const turn = () => new Promise<void>((r) => setImmediate(r));

function config(id: bigint, storage: MemoryStorage, extra: Partial<Config> = {}): Config {
  return {
    id,
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    maxSizePerMsg: Infinity,
    maxInflightMsgs: 256,
    logger: discardLogger,
    ...extra,
  };
}

function storageWithPeers(...peers: bigint[]): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot({ data: EMPTY_BYTES, metadata: { index: 0, term: 0, confState: { ...emptyConfState(), voters: peers } } });
  return s;
}

/** The standard Ready loop on MemoryStorage; records applied normal entries. */
function runLoop(n: Node, s: MemoryStorage, applied: string[], readys: Ready[] = []): void {
  n.onReady((rd) => {
    readys.push(rd);
    if (rd.hardState !== null) s.setHardState(rd.hardState);
    s.append(rd.entries);
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.EntryNormal && e.data.length > 0) applied.push(Buffer.from(e.data).toString());
      else if (e.type === EntryType.EntryConfChange) n.applyConfChange(decodeConfChange(e.data));
      else if (e.type === EntryType.EntryConfChangeV2) n.applyConfChange(decodeConfChangeV2(e.data));
    }
    n.advance();
  });
}

// A bootstrapped node may campaign only once its initial conf changes are applied.
async function campaignWhenApplied(n: Node): Promise<void> {
  await until(() => n.rn.raft.raftLog.applied >= n.rn.raft.raftLog.committed, 'bootstrap applied');
  assert.equal(n.campaign(), null);
}

async function until(cond: () => boolean, what: string, turns = 200): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await turn();
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('single node: proposals made before a leader exists wait, then commit in order', async () => {
  const s = new MemoryStorage();
  const n = startNode(config(1n, s), [{ id: 1n }]);
  const applied: string[] = [];
  runLoop(n, s, applied);
  const p1 = n.propose(Buffer.from('a'));
  const p2 = n.propose(Buffer.from('b'));
  await turn();
  await turn();
  assert.equal(n.status().raftState, StateType.StateFollower);
  assert.equal(n.campaign(), null);
  await Promise.all([p1, p2]);
  await until(() => applied.length === 2, 'apply');
  assert.deepEqual(applied, ['a', 'b']);
  n.stop();
});

test('proposals in one event-loop turn become one MsgProp and one Ready', async () => {
  const s = new MemoryStorage();
  const n = startNode(config(1n, s), [{ id: 1n }]);
  const applied: string[] = [];
  const readys: Ready[] = [];
  runLoop(n, s, applied, readys);
  await campaignWhenApplied(n);
  const r = n.rn.raft;
  await until(() => r.state === StateType.StateLeader && r.raftLog.applied === r.raftLog.lastIndex(), 'leader');
  await turn();
  readys.length = 0;
  const ps: Promise<void>[] = [];
  for (let i = 0; i < 100; i++) ps.push(n.propose(Buffer.from(`p${i}`)));
  await Promise.all(ps);
  await until(() => applied.length === 100, 'apply 100');
  const withEntries = readys.filter((rd) => rd.entries.length > 0);
  assert.equal(withEntries.length, 1);
  assert.equal(withEntries[0].entries.length, 100);
  assert.deepEqual(applied, ps.map((_, i) => `p${i}`));
  n.stop();
});

test('a dropped proposal rejects with ErrProposalDropped', async () => {
  const s = storageWithPeers(1n, 2n);
  const n = restartNode(config(1n, s, { disableProposalForwarding: true }));
  // Learn of leader 2: now proposals are stepped (and dropped, since forwarding is off).
  n.step(newMessage({ type: MessageType.MsgHeartbeat, from: 2n, to: 1n, term: 2 }));
  await assert.rejects(n.propose(Buffer.from('x')), (e) => e === ErrProposalDropped);
  n.stop();
});

test('abort removes a waiting proposal; stop rejects the rest and ends iterators', async () => {
  const s = storageWithPeers(1n, 2n, 3n);
  const n = restartNode(config(1n, s));
  const ac = new AbortController();
  const p1 = n.propose(Buffer.from('aborted'), ac.signal);
  const p2 = n.propose(Buffer.from('stopped'));
  const it = n.ready();
  const first = it.next();
  await turn();
  ac.abort(new Error('gave up'));
  await assert.rejects(p1, /gave up/);
  // Nothing was ready yet (a fresh follower); stop ends the iterator and the waiting proposal.
  n.stop();
  await assert.rejects(p2, (e) => e === ErrStopped);
  assert.deepEqual(await first, { value: undefined, done: true });
  assert.deepEqual(await it.next(), { value: undefined, done: true });
  assert.equal(n.campaign(), ErrStopped);
  await assert.rejects(n.propose(Buffer.from('late')), (e) => e === ErrStopped);
  assert.ok(n.isStopped);
});

test('ready() async iterator drives a node; a Ready waits for advance()', async () => {
  const s = new MemoryStorage();
  const n = startNode(config(1n, s), [{ id: 1n }]);
  const it = n.ready();
  let r = await it.next();
  assert.equal(r.done, false);
  const rd = r.value as Ready;
  assert.equal(rd.entries.length, 1); // the bootstrap conf change
  assert.deepEqual(rd.hardState, { term: 1, vote: 0n, commit: 1 });
  s.setHardState(rd.hardState!);
  s.append(rd.entries);
  // Give raft more work (a higher-term heartbeat); still no Ready before advance().
  n.step(newMessage({ type: MessageType.MsgHeartbeat, from: 2n, to: 1n, term: 5 }));
  assert.ok(n.rn.hasReady());
  let second = false;
  const pending = it.next().then((x) => {
    second = true;
    return x;
  });
  await turn();
  await turn();
  assert.equal(second, false);
  for (const e of rd.committedEntries) n.applyConfChange(decodeConfChange(e.data));
  n.advance();
  r = await pending;
  assert.equal(r.done, false);
  assert.equal((r.value as Ready).hardState?.term, 5);
  assert.equal((r.value as Ready).softState?.lead, 2n);
  n.stop();
});

test('step ignores local messages and responses from unknown peers', async () => {
  const s = storageWithPeers(1n, 2n);
  const n = restartNode(config(1n, s));
  const before = n.rn.raft.term;
  assert.equal(n.step(newMessage({ type: MessageType.MsgHup, from: 2n })), null);
  assert.equal(n.rn.raft.state, StateType.StateFollower);
  // A vote response from an unknown peer with a higher term would otherwise bump the term.
  n.step(newMessage({ type: MessageType.MsgVoteResp, from: 9n, to: 1n, term: before + 5 }));
  assert.equal(n.rn.raft.term, before);
  n.step(newMessage({ type: MessageType.MsgVoteResp, from: 2n, to: 1n, term: before + 5 }));
  assert.equal(n.rn.raft.term, before + 5);
  n.stop();
});

test('leader changes are logged as etcd-raft node does', async () => {
  const lines: string[] = [];
  const logger: Logger = { ...discardLogger, info: (t) => lines.push(t) };
  const s = new MemoryStorage();
  const n = startNode(config(1n, s, { logger }), [{ id: 1n }]);
  runLoop(n, s, []);
  await campaignWhenApplied(n);
  await until(() => lines.some((l) => l.startsWith('raft.node:')), 'log line');
  assert.ok(lines.includes('raft.node: 1 elected leader 1 at term 2'), lines.join('\n'));
  n.stop();
});

test('removing itself stops a node from accepting proposals', async () => {
  const s = new MemoryStorage();
  const n = startNode(config(1n, s), [{ id: 1n }, { id: 2n }]);
  // Pretend node 2 is the leader, then apply a removal of node 1.
  n.step(newMessage({ type: MessageType.MsgHeartbeat, from: 2n, to: 1n, term: 1 }));
  await turn();
  const cs = n.applyConfChange({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: 1n, context: EMPTY_BYTES, id: 0n });
  assert.deepEqual(cs.voters, [2n]);
  let settled = false;
  const p = n.propose(Buffer.from('x')).finally(() => (settled = true));
  await turn();
  await turn();
  assert.equal(settled, false);
  n.stop();
  await assert.rejects(p, (e) => e === ErrStopped);
});

test('three nodes over an in-process network elect a leader and replicate', async () => {
  const ids = [1n, 2n, 3n];
  const nodes = new Map<NodeId, Node>();
  const stores = new Map<NodeId, MemoryStorage>();
  const applied = new Map<NodeId, string[]>();
  for (const id of ids) {
    const s = new MemoryStorage();
    stores.set(id, s);
    applied.set(id, []);
    nodes.set(id, startNode(config(id, s), ids.map((i) => ({ id: i }))));
  }
  for (const id of ids) {
    const n = nodes.get(id)!;
    const s = stores.get(id)!;
    n.onReady((rd) => {
      if (rd.hardState !== null) s.setHardState(rd.hardState);
      s.append(rd.entries);
      // Send after persisting; delivery on a later turn, like a network.
      for (const m of rd.messages) setImmediate(() => nodes.get(m.to)!.step(m));
      for (const e of rd.committedEntries) {
        if (e.type === EntryType.EntryConfChange) n.applyConfChange(decodeConfChange(e.data));
        else if (e.data.length > 0) applied.get(id)!.push(Buffer.from(e.data).toString());
      }
      n.advance();
    });
  }
  const timer = setInterval(() => {
    for (const n of nodes.values()) n.tick();
  }, 1);
  try {
    await until(() => ids.some((id) => nodes.get(id)!.status().raftState === StateType.StateLeader), 'leader', 5000);
    // Propose on a follower: forwarded to the leader.
    const follower = ids.find((id) => nodes.get(id)!.status().raftState !== StateType.StateLeader)!;
    const ps: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) ps.push(nodes.get(follower)!.propose(Buffer.from(`v${i}`)));
    await Promise.all(ps);
    await until(() => ids.every((id) => applied.get(id)!.length === 50), 'replication', 5000);
    for (const id of ids) assert.deepEqual(applied.get(id), ps.map((_, i) => `v${i}`));
  } finally {
    clearInterval(timer);
    for (const n of nodes.values()) n.stop();
  }
});

test('restartNode resumes from persisted state', async () => {
  const s = new MemoryStorage();
  const n = startNode(config(1n, s), [{ id: 1n }]);
  const applied: string[] = [];
  runLoop(n, s, applied);
  await campaignWhenApplied(n);
  await n.propose(Buffer.from('before'));
  await until(() => applied.length === 1, 'apply');
  n.stop();
  const applied2: string[] = [];
  const n2 = restartNode(config(1n, s));
  runLoop(n2, s, applied2);
  // Without config.applied the committed log is handed out again, then new proposals follow.
  await campaignWhenApplied(n2);
  await n2.propose(Buffer.from('after'));
  await until(() => applied2.length === 2, 'apply after restart');
  assert.deepEqual(applied2, ['before', 'after']);
  const ents: Entry[] = s.entries(s.firstIndex(), s.lastIndex() + 1, Infinity);
  assert.equal(ents.filter((e) => e.type === EntryType.EntryConfChange).length, 1);
  n2.stop();
});
