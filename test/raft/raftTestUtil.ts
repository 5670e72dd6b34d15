// Test scaffolding for the Raft state machine tests (ports etcd-raft's raft_test.go helpers): test
// configs and storages, a synchronous in-memory network of Raft peers with drop/cut/isolate/ignore
// filters, and helpers that persist and apply a Raft's log the way a Ready loop would.
import { Config, Raft, newRaft } from '../../src/raft/raft.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { RaftPanic, discardLogger, consoleLogger, type Logger } from '../../src/raft/logger.js';
import {
  EMPTY_BYTES,
  EntryType,
  MessageType,
  newMessage,
  type Entry,
  type Message,
  type NodeId,
  type Snapshot,
  type ConfState,
} from '../../src/raft/raftpb/types.js';
import { ProgressTracker } from '../../src/raft/tracker/tracker.js';
import { Progress } from '../../src/raft/tracker/progress.js';

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Raft log lines are discarded unless RAFT_TEST_LOG is set (then they go to stderr). */
export const testLogger: Logger = process.env.RAFT_TEST_LOG ? consoleLogger('debug') : discardLogger;

export function newTestConfig(id: NodeId, election: number, heartbeat: number, storage: MemoryStorage): Config {
  return {
    id,
    electionTick: election,
    heartbeatTick: heartbeat,
    storage,
    maxSizePerMsg: Infinity,
    maxInflightMsgs: 256,
    logger: testLogger,
    random: seededRandom(Number(id) * 7919 + 17),
  };
}

export type StorageOption = (ms: MemoryStorage) => void;

/** Storage whose (bootstrap) ConfState has the given voters. */
export function withPeers(...peers: NodeId[]): StorageOption {
  return (ms) => setConfState(ms, { voters: peers.slice() });
}

/** Storage whose (bootstrap) ConfState has the given learners. */
export function withLearners(...learners: NodeId[]): StorageOption {
  return (ms) => setConfState(ms, { learners: learners.slice() });
}

// Replaces the bootstrap ConfState of a fresh storage (an index-0 snapshot is always accepted).
function setConfState(ms: MemoryStorage, fields: Partial<ConfState>): void {
  const cs = { ...ms.initialState().confState, ...fields };
  ms.applySnapshot({ data: EMPTY_BYTES, metadata: { index: 0, term: 0, confState: cs } });
}

export function newTestMemoryStorage(...opts: StorageOption[]): MemoryStorage {
  const ms = new MemoryStorage();
  for (const o of opts) o(ms);
  return ms;
}

export function newTestRaft(
  id: NodeId,
  election: number,
  heartbeat: number,
  storage: MemoryStorage,
  configure?: (c: Config) => void,
): Raft {
  const c = newTestConfig(id, election, heartbeat, storage);
  configure?.(c);
  return newRaft(c);
}

export function newTestLearnerRaft(id: NodeId, election: number, heartbeat: number, storage: MemoryStorage): Raft {
  return newTestRaft(id, election, heartbeat, storage);
}

export const preVoteConfig = (c: Config): void => {
  c.preVote = true;
};

export function idsBySize(size: number): NodeId[] {
  const ids: NodeId[] = [];
  for (let i = 1; i <= size; i++) ids.push(BigInt(i));
  return ids;
}

export function msg(fields: Partial<Message>): Message {
  return newMessage(fields);
}

export function entry(fields: Partial<Entry>): Entry {
  return { term: 0, index: 0, type: EntryType.EntryNormal, data: EMPTY_BYTES, ...fields };
}

export function bytes(s: string): Uint8Array {
  return Buffer.from(s);
}

export function mustAppendEntry(r: Raft, ...ents: Entry[]): void {
  if (!r.appendEntry(...ents)) throw new Error('entry unexpectedly dropped');
}

/**
 * Plays the application's part of a Ready loop on `r`: persists the unstable entries into `s`,
 * delivers the post-append messages, and returns (and marks applied) the committed entries.
 */
export function nextEnts(r: Raft, s: MemoryStorage): Entry[] {
  s.append(r.raftLog.nextUnstableEnts());
  r.raftLog.stableTo(r.raftLog.lastEntryID());
  r.advanceMessagesAfterAppend();
  const ents = r.raftLog.nextCommittedEnts(true);
  r.raftLog.appliedTo(r.raftLog.committed, 0);
  return ents;
}

/** A raft whose log holds one entry per term given (index i+1 has terms[i]), at the last term. */
export function entsWithConfig(configFunc: ((c: Config) => void) | null, ...terms: number[]): Raft {
  const storage = new MemoryStorage();
  const es: Entry[] = terms.map((t, i) => entry({ index: i + 1, term: t }));
  storage.append(es);
  const cfg = newTestConfig(1n, 5, 1, storage);
  configFunc?.(cfg);
  const sm = newRaft(cfg);
  sm.reset(terms[terms.length - 1]);
  return sm;
}

/** A raft that voted for `vote` in `term`. */
export function votedWithConfig(configFunc: ((c: Config) => void) | null, vote: NodeId, term: number): Raft {
  const storage = new MemoryStorage();
  storage.setHardState({ vote, term, commit: 0 });
  const cfg = newTestConfig(1n, 5, 1, storage);
  configFunc?.(cfg);
  const sm = newRaft(cfg);
  sm.reset(term);
  return sm;
}

/** What the network needs of a peer. */
export interface StateMachine {
  step(m: Message): Error | null;
  readMessages(): Message[];
  advanceMessagesAfterAppend(): void;
}

/** A peer that swallows everything. */
export class BlackHole implements StateMachine {
  step(): Error | null {
    return null;
  }
  readMessages(): Message[] {
    return [];
  }
  advanceMessagesAfterAppend(): void {}
}
export const nopStepper = new BlackHole();

function connKey(from: NodeId, to: NodeId): string {
  return `${from}-${to}`;
}

/**
 * A synchronous network: send() delivers a message, then everything it caused, breadth first,
 * until quiet. Drops, cuts and ignored types are applied on the way.
 */
export class Network {
  peers = new Map<NodeId, StateMachine>();
  storage = new Map<NodeId, MemoryStorage>();
  dropm = new Map<string, number>();
  ignorem = new Set<MessageType>();
  /** Returns false to drop a message. */
  msgHook: ((m: Message) => boolean) | null = null;
  private rand = seededRandom(42);

  send(...msgs: Message[]): void {
    const queue = msgs.slice();
    let head = 0;
    while (head < queue.length) {
      const m = queue[head++];
      const p = this.peers.get(m.to);
      if (p === undefined) continue;
      p.step(m);
      p.advanceMessagesAfterAppend();
      for (const out of this.filter(p.readMessages())) queue.push(out);
    }
  }

  drop(from: NodeId, to: NodeId, perc: number): void {
    this.dropm.set(connKey(from, to), perc);
  }

  cut(one: NodeId, other: NodeId): void {
    this.drop(one, other, 2.0); // always drop
    this.drop(other, one, 2.0);
  }

  isolate(id: NodeId): void {
    for (let i = 0; i < this.peers.size; i++) {
      const nid = BigInt(i + 1);
      if (nid !== id) {
        this.drop(id, nid, 1.0);
        this.drop(nid, id, 1.0);
      }
    }
  }

  ignore(t: MessageType): void {
    this.ignorem.add(t);
  }

  recover(): void {
    this.dropm.clear();
    this.ignorem.clear();
  }

  filter(msgs: Message[]): Message[] {
    const mm: Message[] = [];
    for (const m of msgs) {
      if (this.ignorem.has(m.type)) continue;
      if (m.type === MessageType.MsgHup) throw new Error('unexpected msgHup');
      const perc = this.dropm.get(connKey(m.from, m.to)) ?? 0;
      if (this.rand() < perc) continue;
      if (this.msgHook !== null && !this.msgHook(m)) continue;
      mm.push(m);
    }
    return mm;
  }

  raft(id: NodeId): Raft {
    return this.peers.get(id) as Raft;
  }
}

/**
 * A network of the given peers (IDs 1..n in order). A null peer becomes a fresh Raft over a
 * storage listing all peers as voters; a Raft peer is re-identified and given a tracker with every
 * peer (keeping its learners); anything else (a BlackHole) is used as is.
 */
export function newNetworkWithConfig(
  configFunc: ((c: Config) => void) | null,
  ...peers: (StateMachine | null)[]
): Network {
  const size = peers.length;
  const peerAddrs = idsBySize(size);
  const nw = new Network();
  peers.forEach((p, j) => {
    const id = peerAddrs[j];
    if (p === null) {
      const st = newTestMemoryStorage(withPeers(...peerAddrs));
      nw.storage.set(id, st);
      const cfg = newTestConfig(id, 10, 1, st);
      configFunc?.(cfg);
      nw.peers.set(id, newRaft(cfg));
    } else if (p instanceof Raft) {
      const learners = new Set(p.trk.config.learners ?? []);
      p.id = id;
      p.trk = new ProgressTracker(p.trk.maxInflight, p.trk.maxInflightBytes);
      if (learners.size > 0) p.trk.config.learners = new Set();
      for (const pid of peerAddrs) {
        const pr = new Progress({});
        if (learners.has(pid)) {
          pr.isLearner = true;
          p.trk.config.learners!.add(pid);
        } else {
          p.trk.config.voters.incoming.add(pid);
        }
        p.trk.progress.set(pid, pr);
      }
      p.reset(p.term);
      nw.peers.set(id, p);
    } else {
      nw.peers.set(id, p);
    }
  });
  return nw;
}

export function newNetwork(...peers: (StateMachine | null)[]): Network {
  return newNetworkWithConfig(null, ...peers);
}

/** Snapshot with the given index/term and voters. */
export function testSnapshot(index: number, term: number, voters: NodeId[], learners: NodeId[] = []): Snapshot {
  return {
    data: EMPTY_BYTES,
    metadata: {
      index,
      term,
      confState: { voters, learners, votersOutgoing: [], learnersNext: [], autoLeave: false },
    },
  };
}

/** Only the entries' (term, index, data), for comparisons. */
export function entryTIs(ents: Entry[]): { term: number; index: number }[] {
  return ents.map((e) => ({ term: e.term, index: e.index }));
}

/** Entries at consecutive indexes from `start` with the given terms (Go's index(i).terms(...)). */
export function indexTerms(start: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => entry({ index: start + i, term }));
}

/** Snapshot metadata at (index, term) with an empty ConfState and no data. */
export function emptySnap(index: number, term: number): Snapshot {
  return testSnapshot(index, term, []);
}

/** A logger recording `LEVEL text` lines (fatal and panic still throw), for asserting raft's log output. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (t) => void lines.push(`DEBUG ${t}`),
    info: (t) => void lines.push(`INFO ${t}`),
    warning: (t) => void lines.push(`WARN ${t}`),
    error: (t) => void lines.push(`ERROR ${t}`),
    fatal(t): never {
      throw new RaftPanic(t);
    },
    panic(t): never {
      throw new RaftPanic(t);
    },
  };
}

/** Messages in a deterministic order (by recipient, then type), for comparisons. */
export function sortMessages(ms: Message[]): Message[] {
  return ms.slice().sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : a.type - b.type));
}

/** The follower's successful reply to a MsgApp (everything appended). */
export function acceptAndReply(m: Message): Message {
  if (m.type !== MessageType.MsgApp) throw new Error('type should be MsgApp');
  return msg({ from: m.to, to: m.from, term: m.term, type: MessageType.MsgAppResp, index: m.index + m.entries.length });
}

/** Makes the leader's empty entry committed and stable, as if every follower acked it. */
export function commitNoopEntry(r: Raft, s: MemoryStorage): void {
  r.bcastAppend();
  for (const m of r.readMessages()) {
    if (m.type !== MessageType.MsgApp || m.entries.length !== 1 || m.entries[0].data.length !== 0) {
      throw new Error('not a message to append noop entry');
    }
    r.step(acceptAndReply(m));
  }
  // Drop the follow-up messages that refresh the followers' commit index.
  r.readMessages();
  s.append(r.raftLog.nextUnstableEnts());
  r.raftLog.appliedTo(r.raftLog.committed, 0);
  r.raftLog.stableTo(r.raftLog.lastEntryID());
}
