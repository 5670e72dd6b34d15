// Randomised safety test: clusters of 3 and 5 RawNodes over a seeded network that loses, reorders
// and duplicates messages, partitions nodes, and crashes/restarts them from their persisted
// MemoryStorage, while clients propose and nodes compact their logs. The Raft invariants are checked
// as the run goes (election safety, log matching, leader completeness, state-machine safety), and
// once the network heals the cluster must commit a new proposal on every node (liveness).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType, Message, MessageType, NodeId, Snapshot, emptyConfState } from '../../src/raft/raftpb/types.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { discardLogger } from '../../src/raft/logger.js';
import { Config } from '../../src/raft/raft.js';
import { RawNode, SnapshotStatus } from '../../src/raft/rawNode.js';
import { StateType } from '../../src/raft/ready.js';

// mulberry32: small, fast, good enough to drive a simulation reproducibly from a seed.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The replicated state machine is a 64-bit fingerprint of the applied sequence: two nodes agree on
// it at index i iff (with overwhelming probability) they applied the same entries up to i.
function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 0;
}
function applyHash(h1: number, h2: number, index: number, term: number, data: Uint8Array): [number, number] {
  h1 = mix(mix(h1, index), term);
  h2 = mix(mix(h2 ^ 0x5bd1e995, term), index);
  for (let i = 0; i < data.length; i++) {
    h1 = mix(h1, data[i]);
    h2 = mix(h2, data[i] + 0x100);
  }
  return [h1, h2];
}
const fp = (h1: number, h2: number) => `${h1.toString(16)}:${h2.toString(16)}`;

interface SimNode {
  id: NodeId;
  storage: MemoryStorage; // survives crashes: it is the node's disk
  rn: RawNode | null; // null while crashed
  // In-memory state machine (lost on crash, rebuilt from the storage snapshot).
  applied: number;
  h1: number;
  h2: number;
  // Leader-completeness progress for the current leadership term.
  verifiedTerm: number;
  verifiedUpTo: number;
}

interface Options {
  seed: number;
  size: number;
  preVote: boolean;
  checkQuorum: boolean;
}

class Sim {
  readonly rand: () => number;
  readonly nodes: SimNode[] = [];
  readonly ids: NodeId[];
  net: Message[] = [];
  // partition[i] = group of node i; messages only flow within a group.
  partition: number[];
  dropRate = 0.1;
  dupRate = 0.05;
  proposals = 0;
  // Global knowledge used by the invariant checks.
  readonly leaderOfTerm = new Map<number, NodeId>();
  readonly entryAt = new Map<string, { data: string; prevTerm: number }>(); // key `${index}/${term}`
  readonly smAt = new Map<number, string>(); // applied index -> state machine fingerprint
  readonly committedTerm: number[] = []; // index -> entry term of the committed entry
  readonly committedSeenAt: number[] = []; // index -> a term in which it was known committed
  maxCommitted = 0;
  stats = { elections: 0, restarts: 0, snapshotsSent: 0, applied: 0 };

  constructor(readonly opt: Options) {
    this.rand = prng(opt.seed);
    this.ids = Array.from({ length: opt.size }, (_, i) => BigInt(i + 1));
    this.partition = this.ids.map(() => 0);
    for (const id of this.ids) {
      const storage = new MemoryStorage();
      storage.applySnapshot({ data: Buffer.alloc(8), metadata: { index: 0, term: 0, confState: { ...emptyConfState(), voters: this.ids.slice() } } });
      const n: SimNode = { id, storage, rn: null, applied: 0, h1: 0, h2: 0, verifiedTerm: -1, verifiedUpTo: 0 };
      this.nodes.push(n);
      this.start(n);
    }
  }

  private start(n: SimNode): void {
    const snap = n.storage.snapshot();
    const d = Buffer.from(snap.data);
    n.h1 = d.readUInt32LE(0);
    n.h2 = d.readUInt32LE(4);
    n.applied = snap.metadata.index;
    const cfg: Config = {
      id: n.id,
      electionTick: 10,
      heartbeatTick: 1,
      storage: n.storage,
      applied: n.applied,
      maxSizePerMsg: 1024,
      maxInflightMsgs: 8,
      preVote: this.opt.preVote,
      checkQuorum: this.opt.checkQuorum,
      logger: discardLogger,
      random: this.rand,
    };
    n.rn = new RawNode(cfg);
    n.verifiedTerm = -1;
  }

  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.rand() * a.length)];
  }

  node(id: NodeId): SimNode {
    return this.nodes[Number(id) - 1];
  }

  connected(a: NodeId, b: NodeId): boolean {
    return this.partition[Number(a) - 1] === this.partition[Number(b) - 1];
  }

  // ---- actions ---------------------------------------------------------------------------------

  /** Handles one Ready the way a server does: persist, send, apply, advance. */
  processReady(n: SimNode): boolean {
    const rn = n.rn;
    if (rn === null || !rn.hasReady()) return false;
    const rd = rn.ready();
    const r = rn.raft;
    if (rd.snapshot !== null) {
      assert.equal(n.storage.applySnapshot(rd.snapshot), null);
      this.restoreStateMachine(n, rd.snapshot);
    }
    if (rd.entries.length > 0) {
      this.checkLogMatching(n, rd.entries);
      n.storage.append(rd.entries);
    }
    if (rd.hardState !== null) n.storage.setHardState(rd.hardState);
    this.recordCommitted(n);
    for (const m of rd.messages) this.net.push(m);
    for (const e of rd.committedEntries) this.apply(n, e.index, e.term, e.data, e.type);
    rn.advance(rd);
    // Occasionally snapshot the state machine and compact the log behind it.
    if (this.rand() < 0.03 && n.applied > n.storage.firstIndex()) {
      const data = Buffer.alloc(8);
      data.writeUInt32LE(n.h1, 0);
      data.writeUInt32LE(n.h2, 4);
      const [, err] = n.storage.createSnapshot(n.applied, r.trk.confState(), data);
      if (err === null) n.storage.compact(n.applied);
    }
    return true;
  }

  deliverOne(): void {
    if (this.net.length === 0) return;
    const i = Math.floor(this.rand() * this.net.length);
    const m = this.net[i];
    const dup = this.rand() < this.dupRate;
    if (!dup) {
      this.net[i] = this.net[this.net.length - 1];
      this.net.pop();
    }
    // Raft stamps index/term into proposed entries in place (as etcd-raft does with its message's
    // slice), so every delivery of a proposal gets its own copies, as a real network's decoding would.
    this.deliver(m.type === MessageType.MsgProp ? { ...m, entries: m.entries.map((e) => ({ ...e })) } : m, this.rand() < this.dropRate);
  }

  deliver(m: Message, drop: boolean): void {
    const to = this.node(m.to);
    const from = this.node(m.from);
    const lost = drop || to.rn === null || !this.connected(m.from, m.to);
    if (lost) {
      // A transport reports failed snapshot sends so the leader can retry.
      if (m.type === MessageType.MsgSnap) from.rn?.reportSnapshot(m.to, SnapshotStatus.SnapshotFailure);
      else if (m.type === MessageType.MsgApp && this.rand() < 0.5) from.rn?.reportUnreachable(m.to);
      return;
    }
    to.rn!.step(m);
    if (m.type === MessageType.MsgSnap) {
      this.stats.snapshotsSent++;
      from.rn?.reportSnapshot(m.to, SnapshotStatus.SnapshotFinish);
    }
  }

  propose(n: SimNode): void {
    if (n.rn === null) return;
    n.rn.propose(Buffer.from(`s${this.opt.seed}-p${this.proposals++}`));
  }

  crash(n: SimNode): void {
    n.rn = null;
  }

  restart(n: SimNode): void {
    this.stats.restarts++;
    this.start(n);
  }

  randomPartition(): void {
    // Two groups, each node assigned at random (one group may be empty: a full heal).
    this.partition = this.ids.map(() => (this.rand() < 0.5 ? 0 : 1));
  }

  /** Puts the leader (if any) in a minority group, forcing an election on the majority side. */
  isolateLeader(): void {
    const leader = this.nodes.find((n) => n.rn?.raft.state === StateType.StateLeader);
    if (leader === undefined) return;
    const minority = Math.floor((this.ids.length - 1) / 2);
    this.partition = this.ids.map(() => 0);
    this.partition[Number(leader.id) - 1] = 1;
    for (let k = 1; k < minority; k++) if (this.rand() < 0.5) this.partition[Math.floor(this.rand() * this.ids.length)] = 1;
  }

  heal(): void {
    this.partition = this.ids.map(() => 0);
  }

  step(): void {
    const x = this.rand();
    if (x < 0.4) this.deliverOne();
    else if (x < 0.64) this.processReady(this.pick(this.nodes));
    else if (x < 0.86) this.pick(this.nodes).rn?.tick();
    else if (x < 0.975) this.propose(this.pick(this.nodes));
    else if (x < 0.978) this.randomPartition();
    else if (x < 0.98) this.isolateLeader();
    else if (x < 0.99) this.heal();
    else if (x < 0.991) {
      const leader = this.nodes.find((n) => n.rn?.raft.state === StateType.StateLeader);
      if (leader !== undefined) this.crash(leader);
    } else if (x < 0.993) {
      const n = this.pick(this.nodes);
      if (n.rn !== null) this.crash(n);
    } else {
      const n = this.pick(this.nodes);
      if (n.rn === null) this.restart(n);
    }
    // Bound the in-flight queue: an overloaded network loses the oldest messages.
    if (this.net.length > 2000) this.net.splice(0, this.net.length - 2000);
    this.checkElectionSafety();
    this.checkLeaderCompleteness();
  }

  // ---- state machine -----------------------------------------------------------------------

  private apply(n: SimNode, index: number, term: number, data: Uint8Array, type: EntryType): void {
    assert.equal(type, EntryType.EntryNormal, 'no conf changes are proposed in this test');
    assert.equal(index, n.applied + 1, `node ${n.id} applies ${index} after ${n.applied}`);
    [n.h1, n.h2] = applyHash(n.h1, n.h2, index, term, data);
    n.applied = index;
    this.stats.applied++;
    this.checkStateMachine(n, index);
  }

  private restoreStateMachine(n: SimNode, snap: Snapshot): void {
    const d = Buffer.from(snap.data);
    n.h1 = d.readUInt32LE(0);
    n.h2 = d.readUInt32LE(4);
    n.applied = snap.metadata.index;
    this.checkStateMachine(n, n.applied);
  }

  // ---- invariants --------------------------------------------------------------------------

  /** State-machine safety: every node's state after applying index i is the same. */
  private checkStateMachine(n: SimNode, index: number): void {
    const f = fp(n.h1, n.h2);
    const prev = this.smAt.get(index);
    if (prev === undefined) this.smAt.set(index, f);
    else assert.equal(f, prev, `seed ${this.opt.seed}: node ${n.id} diverged at applied index ${index}`);
  }

  /** Election safety: at most one leader per term. */
  private checkElectionSafety(): void {
    for (const n of this.nodes) {
      const r = n.rn?.raft;
      if (r === undefined || r.state !== StateType.StateLeader) continue;
      const prev = this.leaderOfTerm.get(r.term);
      if (prev === undefined) {
        this.leaderOfTerm.set(r.term, n.id);
        this.stats.elections++;
      } else {
        assert.equal(prev, n.id, `seed ${this.opt.seed}: two leaders in term ${r.term}`);
      }
    }
  }

  /**
   * Log matching, checked on every persisted append: an entry (index, term) always carries the
   * same data and follows the same previous term on every node. By induction two logs holding the
   * same (index, term) are then identical up to that index.
   */
  private checkLogMatching(n: SimNode, ents: readonly { index: number; term: number; data: Uint8Array }[]): void {
    const log = n.rn!.raft.raftLog;
    let [prevTerm, err] = log.term(ents[0].index - 1);
    if (err !== null) prevTerm = -1; // compacted: the snapshot covers it
    for (const e of ents) {
      const key = `${e.index}/${e.term}`;
      const data = Buffer.from(e.data).toString('latin1');
      const prev = this.entryAt.get(key);
      if (prev === undefined) {
        this.entryAt.set(key, { data, prevTerm });
      } else {
        assert.equal(data, prev.data, `seed ${this.opt.seed}: node ${n.id} holds different data at ${key}`);
        if (prev.prevTerm < 0) prev.prevTerm = prevTerm;
        else if (prevTerm >= 0) {
          assert.equal(prevTerm, prev.prevTerm, `seed ${this.opt.seed}: node ${n.id} has a different history before ${key}`);
        }
      }
      prevTerm = e.term;
    }
  }

  /** Records the entries a node knows to be committed (one committed entry per index). */
  private recordCommitted(n: SimNode): void {
    const r = n.rn!.raft;
    const log = r.raftLog;
    const first = log.firstIndex();
    for (let i = this.maxCommitted + 1; i <= log.committed; i++) {
      if (i < first) continue; // compacted here; another node records it, or a snapshot covers it
      const [t, err] = log.term(i);
      assert.equal(err, null);
      this.committedTerm[i] = t;
      this.committedSeenAt[i] = r.term;
      this.maxCommitted = i;
    }
    // Already recorded indexes must agree.
    const lo = Math.max(first, log.committed - 8);
    for (let i = lo; i <= Math.min(log.committed, this.maxCommitted); i++) {
      const want = this.committedTerm[i];
      if (want === undefined) continue;
      const [t] = log.term(i);
      assert.equal(t, want, `seed ${this.opt.seed}: node ${n.id} committed a different entry at ${i}`);
    }
  }

  /**
   * Leader completeness: a leader of term T holds every entry known committed in an earlier term
   * (entries it compacted away are in its snapshot, checked through the state machine).
   */
  private checkLeaderCompleteness(): void {
    for (const n of this.nodes) {
      const r = n.rn?.raft;
      if (r === undefined || r.state !== StateType.StateLeader) continue;
      if (n.verifiedTerm !== r.term) {
        n.verifiedTerm = r.term;
        n.verifiedUpTo = 0;
      }
      const log = r.raftLog;
      const first = log.firstIndex();
      const last = log.lastIndex();
      for (let i = Math.max(n.verifiedUpTo + 1, first); i <= this.maxCommitted; i++) {
        const want = this.committedTerm[i];
        if (want !== undefined && this.committedSeenAt[i] < r.term) {
          assert.ok(i <= last, `seed ${this.opt.seed}: leader ${n.id} (term ${r.term}) lacks committed index ${i}`);
          const [t] = log.term(i);
          assert.equal(t, want, `seed ${this.opt.seed}: leader ${n.id} (term ${r.term}) has a different entry at ${i}`);
        }
        n.verifiedUpTo = i;
      }
    }
  }

  /** Final cross-check of the stored logs of every pair of nodes. */
  checkStoredLogs(): void {
    const logs = this.nodes.map((n) => {
      const s = n.storage;
      const first = s.firstIndex();
      const last = s.lastIndex();
      return { first, ents: last < first ? [] : s.entries(first, last + 1, Infinity) };
    });
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const A = logs[a];
        const B = logs[b];
        const lo = Math.max(A.first, B.first);
        const hi = Math.min(A.first + A.ents.length, B.first + B.ents.length) - 1;
        // Find the highest shared (index, term); everything from lo up to it must be identical.
        let top = -1;
        for (let i = hi; i >= lo; i--) {
          if (A.ents[i - A.first].term === B.ents[i - B.first].term) {
            top = i;
            break;
          }
        }
        for (let i = lo; i <= top; i++) {
          const ea = A.ents[i - A.first];
          const eb = B.ents[i - B.first];
          assert.equal(ea.term, eb.term, `seed ${this.opt.seed}: logs ${a + 1},${b + 1} differ at ${i}`);
          assert.deepEqual(Buffer.from(ea.data), Buffer.from(eb.data));
        }
      }
    }
  }

  /** Heals everything and requires every node to apply a proposal made after healing. */
  checkLiveness(): void {
    this.heal();
    this.dropRate = 0;
    this.dupRate = 0;
    for (const n of this.nodes) if (n.rn === null) this.restart(n);
    let target = -1;
    let proposedAt = -1;
    for (let round = 0; round < 2000; round++) {
      for (const n of this.nodes) n.rn!.tick();
      // Drain: process Readys and deliver messages until quiet.
      for (let k = 0; k < 50; k++) {
        let busy = false;
        for (const n of this.nodes) busy = this.processReady(n) || busy;
        const msgs = this.net;
        this.net = [];
        for (const m of msgs) this.deliver(m, false);
        this.checkElectionSafety();
        this.checkLeaderCompleteness();
        if (!busy && msgs.length === 0) break;
      }
      if (target > 0 && this.nodes.every((n) => n.applied >= target)) return;
      const leader = this.nodes.find((n) => n.rn!.raft.state === StateType.StateLeader);
      // (Re)propose now and then: a proposal is lost if leadership changes before it commits.
      if (leader !== undefined && (target < 0 || round - proposedAt > 50)) {
        if (leader.rn!.propose(Buffer.from(`s${this.opt.seed}-final`)) === null) {
          target = leader.rn!.raft.raftLog.lastIndex();
          proposedAt = round;
        }
      }
    }
    const applied = this.nodes.map((n) => n.applied).join(',');
    assert.fail(`seed ${this.opt.seed}: no progress after healing (target ${target}, applied ${applied})`);
  }
}

function runSeeds(size: number, seeds: number, steps: number): void {
  let totals = { elections: 0, restarts: 0, snapshotsSent: 0, applied: 0 };
  for (let seed = 1; seed <= seeds; seed++) {
    const sim = new Sim({ seed: seed * 7919 + size, size, preVote: seed % 2 === 0, checkQuorum: seed % 3 !== 0 });
    for (let i = 0; i < steps; i++) sim.step();
    sim.checkLiveness();
    sim.checkStoredLogs();
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += sim.stats[k];
  }
  // SAFETY_STATS=1 shows how much each run exercised.
  if (process.env.SAFETY_STATS) console.log(size, totals);
  // The runs must actually exercise the interesting paths, or the checks prove little.
  assert.ok(totals.elections > seeds * 2, `too few elections: ${totals.elections}`);
  assert.ok(totals.restarts > seeds, `too few restarts: ${totals.restarts}`);
  assert.ok(totals.snapshotsSent > 0, 'no snapshot was ever sent');
  assert.ok(totals.applied > seeds * size * 20, `too little applied: ${totals.applied}`);
}

test('safety under loss, reordering, duplication, partitions and restarts: 3 nodes', () => {
  runSeeds(3, 100, 10000);
});

test('safety under loss, reordering, duplication, partitions and restarts: 5 nodes', () => {
  runSeeds(5, 60, 10000);
});
