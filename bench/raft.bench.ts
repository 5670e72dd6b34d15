// Raft core benchmark (npm run bench:raft): a 3-node in-process cluster on MemoryStorage (no I/O)
// commits 256-byte proposals, and prints committed entries/second and the commit latency (proposal
// to applied on the leader) percentiles in microseconds. Two drivers:
//   - rawnode: a synchronous loop; the leader proposes a batch per round (as Node batches what is
//     proposed in one event-loop turn), every node handles its Ready, then messages are delivered.
//   - node: the event-loop Node the server uses, with a window of outstanding propose() calls and
//     message delivery on the next turn, as a transport would.
//
// Options: --entries N (default 1000000), --batch B proposals per round / window (default 512),
// --size S payload bytes (default 256), --mode rawnode|node|both (default both), --wire (node mode:
// send every message through the protobuf codec, as the peer transport will).
import { performance } from 'node:perf_hooks';
import { EMPTY_BYTES, Message, emptyConfState } from '../src/raft/raftpb/types.js';
import { MemoryStorage } from '../src/raft/storage.js';
import { discardLogger } from '../src/raft/logger.js';
import { RawNode } from '../src/raft/rawNode.js';
import { Node } from '../src/raft/node.js';
import { decodeMessage, encodeMessage } from '../src/raft/raftpb/codec.js';
import { StateType } from '../src/raft/ready.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const TOTAL = arg('entries', 1_000_000);
const BATCH = arg('batch', 512);
const SIZE = arg('size', 256);
const modeIdx = process.argv.indexOf('--mode');
const MODE = modeIdx >= 0 ? process.argv[modeIdx + 1] : 'both';
const WIRE = process.argv.includes('--wire');

interface BenchNode {
  id: bigint;
  storage: MemoryStorage;
  rn: RawNode;
  applied: number;
}

function makeCluster(): BenchNode[] {
  const ids = [1n, 2n, 3n];
  return ids.map((id) => {
    const storage = new MemoryStorage();
    storage.applySnapshot({ data: EMPTY_BYTES, metadata: { index: 0, term: 0, confState: { ...emptyConfState(), voters: ids } } });
    const rn = new RawNode({
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 256,
      maxUncommittedEntriesSize: 1 << 30,
      logger: discardLogger,
    });
    return { id, storage, rn, applied: 0 };
  });
}

/** Handles every node's Ready once; returns the messages to deliver and the leader's applied entries. */
function processReadys(nodes: BenchNode[], out: Message[], onApplied: (n: BenchNode, first: number, last: number) => void): boolean {
  let any = false;
  for (const n of nodes) {
    if (!n.rn.hasReady()) continue;
    any = true;
    const rd = n.rn.ready();
    if (rd.hardState !== null) n.storage.setHardState(rd.hardState);
    if (rd.entries.length > 0) n.storage.append(rd.entries);
    for (const m of rd.messages) out.push(m);
    const ce = rd.committedEntries;
    if (ce.length > 0) {
      const last = ce[ce.length - 1].index;
      onApplied(n, ce[0].index, last);
      n.applied = last;
      // Keep memory flat: drop applied entries from storage now and then.
      if (last - n.storage.firstIndex() > 50_000) n.storage.compact(last - 1000);
    }
    n.rn.advance(rd);
  }
  return any;
}

function deliver(nodes: BenchNode[], msgs: Message[]): void {
  for (const m of msgs) nodes[Number(m.to) - 1].rn.step(m);
  msgs.length = 0;
}

function report(mode: string, committed: number, secs: number, latencies: Float64Array): void {
  latencies.sort();
  const pct = (p: number) => (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] * 1000).toFixed(0);
  console.log(
    `raft (${mode}): 3 nodes, ${committed} entries of ${SIZE} B, batch ${BATCH}: ` +
      `${Math.round(committed / secs).toLocaleString('en-US')} entries/s, ` +
      `commit latency p50 ${pct(0.5)} µs, p99 ${pct(0.99)} µs (${secs.toFixed(2)} s)`,
  );
}

function runRawNode(): void {
  const nodes = makeCluster();
  const msgs: Message[] = [];
  const noop = () => {};
  // Elect node 1.
  nodes[0].rn.campaign();
  for (let i = 0; i < 20 && nodes[0].rn.raft.state !== StateType.StateLeader; i++) {
    processReadys(nodes, msgs, noop);
    deliver(nodes, msgs);
  }
  while (processReadys(nodes, msgs, noop) || msgs.length > 0) deliver(nodes, msgs);
  const leader = nodes[0];
  if (leader.rn.raft.state !== StateType.StateLeader) throw new Error('no leader');

  const payloads: Uint8Array[] = [];
  const pool = Buffer.alloc(SIZE * BATCH, 7);
  for (let i = 0; i < BATCH; i++) payloads.push(pool.subarray(i * SIZE, (i + 1) * SIZE));

  const base = leader.rn.raft.raftLog.lastIndex();
  const rounds = Math.ceil(TOTAL / BATCH);
  // Proposal time of each round; entry i of the run belongs to round floor((i-base-1)/BATCH).
  const proposedAt = new Float64Array(rounds + 1);
  const latencies = new Float64Array(rounds * BATCH);
  let committed = 0;
  const onApplied = (n: BenchNode, first: number, last: number) => {
    if (n !== leader) return;
    const now = performance.now();
    for (let i = Math.max(first, base + 1); i <= last; i++) {
      const k = i - base - 1;
      latencies[k] = now - proposedAt[Math.floor(k / BATCH)];
    }
    committed = last - base;
  };

  const t0 = performance.now();
  let round = 0;
  while (committed < rounds * BATCH) {
    if (round < rounds) {
      proposedAt[round++] = performance.now();
      const err = leader.rn.proposeBatch(payloads);
      if (err !== null) throw err;
    }
    processReadys(nodes, msgs, onApplied);
    deliver(nodes, msgs);
  }
  const secs = (performance.now() - t0) / 1000;
  for (const n of nodes) {
    if (n.applied < base + committed - BATCH * 4) throw new Error(`node ${n.id} fell behind: ${n.applied}`);
  }
  report('rawnode', committed, secs, latencies);
}

async function runNode(): Promise<void> {
  const cluster = makeCluster();
  const nodes = cluster.map((b) => new Node(b.rn));
  let onLeaderApplied: (first: number, last: number) => void = () => {};
  // Messages of one pass are delivered together on the next turn, like a transport's write batch.
  let outbox: Message[] = [];
  let flushScheduled = false;
  const flush = () => {
    flushScheduled = false;
    const msgs = outbox;
    outbox = [];
    for (const m of msgs) nodes[Number(m.to) - 1].step(WIRE ? decodeMessage(encodeMessage(m)) : m);
  };
  cluster.forEach((b, i) => {
    const n = nodes[i];
    n.onReady((rd) => {
      if (rd.hardState !== null) b.storage.setHardState(rd.hardState);
      if (rd.entries.length > 0) b.storage.append(rd.entries);
      for (const m of rd.messages) outbox.push(m);
      if (outbox.length > 0 && !flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
      const ce = rd.committedEntries;
      if (ce.length > 0) {
        const last = ce[ce.length - 1].index;
        if (i === 0) onLeaderApplied(ce[0].index, last);
        b.applied = last;
        if (last - b.storage.firstIndex() > 50_000) b.storage.compact(last - 1000);
      }
      n.advance();
    });
  });
  nodes[0].campaign();
  const leader = nodes[0];
  const raft = leader.rn.raft;
  while (raft.state !== StateType.StateLeader || raft.raftLog.applied < raft.raftLog.lastIndex()) {
    await new Promise((r) => setImmediate(r));
  }

  const payload = Buffer.alloc(SIZE, 7);
  const base = raft.raftLog.lastIndex();
  const total = Math.ceil(TOTAL / BATCH) * BATCH;
  const proposedAt = new Float64Array(total);
  const latencies = new Float64Array(total);
  let proposed = 0;
  let committed = 0;
  const fail = (e: unknown) => {
    throw e;
  };
  const topUp = () => {
    const now = performance.now();
    while (proposed < total && proposed - committed < BATCH) {
      proposedAt[proposed++] = now;
      leader.propose(payload).catch(fail);
    }
  };
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    onLeaderApplied = (first, last) => {
      const now = performance.now();
      for (let i = Math.max(first, base + 1); i <= last; i++) latencies[i - base - 1] = now - proposedAt[i - base - 1];
      committed = last - base;
      if (committed >= total) resolve();
      else topUp();
    };
    topUp();
  });
  const secs = (performance.now() - t0) / 1000;
  for (const n of nodes) n.stop();
  report(WIRE ? 'node, wire-encoded' : 'node', committed, secs, latencies);
}

if (MODE === 'rawnode' || MODE === 'both') runRawNode();
if (MODE === 'node' || MODE === 'both') await runNode();