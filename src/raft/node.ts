// Node: the event-loop driven raft node the server uses (etcd-raft node.go without goroutines).
// It owns a RawNode; callers tick, step and propose synchronously from any event-loop callback, and
// one deferred pass (setImmediate) turns everything that accumulated since the last pass into a
// single MsgProp and a single Ready. While a Ready is out (until advance()), work keeps piling up in
// raft, so a busy node hands out fewer, larger Readys: one fsync and one apply batch for many writes.
import {
  ConfState,
  EntryType,
  Entry,
  Message,
  MessageType,
  NodeId,
  None,
  newMessage,
} from './raftpb/types.js';
import { ErrStopped } from './errors.js';
import type { Ready } from './ready.js';
import { type Config, confChangeToMsg } from './raft.js';
import { ConfChangeI, RawNode, SnapshotStatus, confChangeToV2 } from './rawNode.js';
import type { Peer } from './bootstrap.js';
import type { BasicStatus, Status } from './status.js';
import { isLocalMsg, isLocalMsgTarget, isResponseMsg } from './util.js';

type Settle = (err: Error | null) => void;

export type ReadyHandler = (rd: Ready) => void;

export class Node {
  readonly rn: RawNode;

  private stopped = false;
  private immediate: NodeJS.Immediate | null = null;
  // Proposals wait here until the next pass (batching) and for as long as no leader is known.
  private propEntries: Entry[] = [];
  private propSettle: (Settle | null)[] = [];
  // Proposals without an abort signal share one promise per flush (they all settle alike), which
  // saves a promise and two closures per proposal on the hot path.
  private batch: Promise<void> | null = null;
  private batchSettle: Settle | null = null;
  // Go's node disables its proposal channel without a leader and after removing itself.
  private canPropose = false;
  private lead: NodeId = None;
  // Sync storage mode: the Ready handed out and not yet advanced.
  private outstanding: Ready | null = null;
  private handler: ReadyHandler | null = null;
  private waiters: ((r: IteratorResult<Ready>) => void)[] = [];
  private readonly runBound = () => this.run();

  constructor(rn: RawNode) {
    this.rn = rn;
  }

  // ---- inputs ---------------------------------------------------------------------------------

  tick(): void {
    if (this.stopped) return;
    this.rn.tick();
    this.schedule();
  }

  campaign(): Error | null {
    if (this.stopped) return ErrStopped;
    const err = this.rn.raft.step(newMessage({ type: MessageType.MsgHup }));
    this.schedule();
    return err;
  }

  /**
   * Proposes `data`. Settles once raft took the proposal into its log (or forwarded it to the
   * leader) or dropped it (rejects with ErrProposalDropped). Like etcd's Node it waits while no
   * leader is known; pass `signal` to give up. Accepted proposals can still be lost (leader change
   * before commit): the application detects that by not seeing the entry applied.
   */
  propose(data: Uint8Array, signal?: AbortSignal): Promise<void> {
    return this.enqueue({ term: 0, index: 0, type: EntryType.EntryNormal, data }, signal);
  }

  /** Proposes a conf change (v1 or v2); settles like propose(). */
  proposeConfChange(cc: ConfChangeI, signal?: AbortSignal): Promise<void> {
    return this.enqueue(confChangeToMsg(cc).entries[0], signal);
  }

  /**
   * Steps a message from a peer. Local message types are ignored (they cannot legitimately come
   * from the network), as are responses from peers this node does not track; forwarded proposals
   * join the local proposal queue.
   */
  step(m: Message): Error | null {
    if (this.stopped) return ErrStopped;
    if (isLocalMsg(m.type) && !isLocalMsgTarget(m.from)) return null;
    if (m.type === MessageType.MsgProp) {
      for (const e of m.entries) {
        this.propEntries.push(e);
        this.propSettle.push(null);
      }
      this.schedule();
      return null;
    }
    this.recv(m);
    return null;
  }

  readIndex(rctx: Uint8Array): Error | null {
    if (this.stopped) return ErrStopped;
    this.rn.readIndex(rctx);
    this.schedule();
    return null;
  }

  forgetLeader(): Error | null {
    if (this.stopped) return ErrStopped;
    const err = this.rn.forgetLeader();
    this.schedule();
    return err;
  }

  /** Asks leader `lead` to hand leadership to `transferee`. */
  transferLeadership(lead: NodeId, transferee: NodeId): void {
    if (this.stopped) return;
    this.recv(newMessage({ type: MessageType.MsgTransferLeader, from: transferee, to: lead }));
  }

  reportUnreachable(id: NodeId): void {
    if (this.stopped) return;
    this.recv(newMessage({ type: MessageType.MsgUnreachable, from: id }));
  }

  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    if (this.stopped) return;
    const reject = status === SnapshotStatus.SnapshotFailure;
    this.recv(newMessage({ type: MessageType.MsgSnapStatus, from: id, reject }));
  }

  /**
   * Applies a committed conf change (call it while applying Ready.committedEntries, unless the
   * application rejects the change). Returns the ConfState to record in snapshots.
   */
  applyConfChange(cc: ConfChangeI): ConfState {
    const r = this.rn.raft;
    const wasMember = r.trk.progress.has(r.id);
    const cs = r.applyConfChange(confChangeToV2(cc));
    // Removed from the group: stop accepting proposals until a leader shows up again. Only when
    // it was a member before, since a catching-up node may be a member without knowing it yet.
    if (wasMember && !r.trk.progress.has(r.id)) {
      if (!cs.voters.includes(r.id) && !cs.votersOutgoing.includes(r.id)) this.canPropose = false;
    }
    this.schedule();
    return cs;
  }

  status(): Status {
    return this.rn.status();
  }

  basicStatus(): BasicStatus {
    return this.rn.basicStatus();
  }

  // ---- outputs --------------------------------------------------------------------------------

  /**
   * Delivers every Ready to `handler`. In sync storage mode the handler must persist the Ready's
   * HardState/entries/snapshot, send its messages, apply its committed entries and then call
   * advance() (possibly later, asynchronously); no further Ready is produced before that.
   */
  onReady(handler: ReadyHandler | null): void {
    this.handler = handler;
    if (handler !== null) this.schedule();
  }

  /** The Readys as an async iterator (`for await (const rd of node.ready())`); ends on stop(). */
  ready(): AsyncIterableIterator<Ready> {
    const it: AsyncIterableIterator<Ready> = {
      next: () => {
        if (this.stopped) return Promise.resolve({ value: undefined, done: true });
        return new Promise<IteratorResult<Ready>>((resolve) => {
          this.waiters.push(resolve);
          this.schedule();
        });
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  /** Acknowledges the last Ready (persisted, sent, applied). Not used with async storage writes. */
  advance(): void {
    const rd = this.outstanding;
    if (rd === null || this.stopped) return;
    this.outstanding = null;
    this.rn.advance(rd);
    this.schedule();
  }

  /** Stops the node: pending proposals reject with ErrStopped, ready iterators end. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.immediate = null;
    const settle = this.propSettle;
    this.propEntries = [];
    this.propSettle = [];
    for (const s of settle) if (s !== null) s(ErrStopped);
    this.settleBatch(ErrStopped);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w({ value: undefined, done: true });
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  // ---- the pass -------------------------------------------------------------------------------

  private recv(m: Message): void {
    const r = this.rn.raft;
    // Responses from peers we do not track (e.g. removed ones) are dropped silently.
    if (isResponseMsg(m.type) && !isLocalMsgTarget(m.from) && !r.trk.progress.has(m.from)) return;
    r.step(m);
    this.schedule();
  }

  private enqueue(e: Entry, signal: AbortSignal | undefined): Promise<void> {
    if (this.stopped) return Promise.reject(ErrStopped);
    if (signal === undefined) {
      if (this.batch === null) {
        this.batch = new Promise<void>((resolve, reject) => {
          this.batchSettle = (err) => (err === null ? resolve() : reject(err));
        });
      }
      this.propEntries.push(e);
      this.propSettle.push(null);
      this.schedule();
      return this.batch;
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      let onAbort: (() => void) | null = null;
      const settle: Settle = (err) => {
        if (onAbort !== null) signal!.removeEventListener('abort', onAbort);
        if (err === null) resolve();
        else reject(err);
      };
      if (signal !== undefined) {
        onAbort = () => {
          const i = this.propSettle.indexOf(settle);
          if (i < 0) return;
          this.propEntries.splice(i, 1);
          this.propSettle.splice(i, 1);
          onAbort = null;
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.propEntries.push(e);
      this.propSettle.push(settle);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.immediate === null && !this.stopped) this.immediate = setImmediate(this.runBound);
  }

  private run(): void {
    this.immediate = null;
    if (this.stopped) return;
    this.trackLeader();
    if (this.canPropose && this.propEntries.length > 0) this.flushProposals();
    this.emitReady();
  }

  // Go's node logs leader changes and gates proposals on knowing a leader.
  private trackLeader(): void {
    const r = this.rn.raft;
    if (this.lead === r.lead) return;
    const id = r.id.toString(16);
    if (r.lead !== None) {
      if (this.lead === None) {
        r.logger.info(`raft.node: ${id} elected leader ${r.lead.toString(16)} at term ${r.term}`);
      } else {
        r.logger.info(
          `raft.node: ${id} changed leader from ${this.lead.toString(16)} to ${r.lead.toString(16)} at term ${r.term}`,
        );
      }
      this.canPropose = true;
    } else {
      r.logger.info(`raft.node: ${id} lost leader ${this.lead.toString(16)} at term ${r.term}`);
      this.canPropose = false;
    }
    this.lead = r.lead;
  }

  // Every queued proposal goes into one MsgProp: raft appends (or drops) them together, and the
  // leader broadcasts them in one MsgApp per follower instead of one per proposal.
  private flushProposals(): void {
    const r = this.rn.raft;
    const ents = this.propEntries;
    const settle = this.propSettle;
    this.propEntries = [];
    this.propSettle = [];
    const m = newMessage({ type: MessageType.MsgProp, from: r.id, entries: ents });
    const err = r.step(m);
    for (let i = 0; i < settle.length; i++) {
      const s = settle[i];
      if (s !== null) s(err);
    }
    this.settleBatch(err);
  }

  private settleBatch(err: Error | null): void {
    const s = this.batchSettle;
    if (s === null) return;
    this.batch = null;
    this.batchSettle = null;
    s(err);
  }

  private emitReady(): void {
    const rn = this.rn;
    if (this.outstanding !== null) return;
    if (this.handler === null && this.waiters.length === 0) return;
    if (!rn.hasReady()) return;
    const rd = rn.ready();
    if (!rn.asyncStorageWrites) this.outstanding = rd;
    if (this.handler !== null) {
      this.handler(rd);
    } else {
      this.waiters.shift()!({ value: rd, done: false });
    }
    // Async storage writes need no advance(): look for more work on the next pass.
    if (rn.asyncStorageWrites) this.schedule();
  }
}

/** Starts a new node on empty storage, bootstrapping the group membership from `peers`. */
export function startNode(config: Config, peers: readonly Peer[]): Node {
  if (peers.length === 0) throw new Error('no peers given; use restartNode instead');
  const rn = new RawNode(config);
  const err = rn.bootstrap(peers);
  if (err !== null) rn.raft.logger.warning(`error occurred during starting a new node: ${err.message}`);
  return new Node(rn);
}

/** Restarts a node from its Storage (membership comes from the stored snapshot and log). */
export function restartNode(config: Config): Node {
  return new Node(new RawNode(config));
}
