// The raft loop (etcd's etcdserver/raft.go raftNode): ticks raft every heartbeat interval and
// handles each Ready in the order the raft contract requires:
//   leader: send messages first (raft thesis 10.2.1: the leader may write to its disk in parallel
//   with replicating), then persist; follower: persist, then send;
//   persist = snapshot file + WAL snapshot marker (if any), then `wal.save(hardState, entries)`:
//   one write and at most one fdatasync per Ready, then MemoryStorage;
//   then apply the committed entries (synchronously, one backend batch), then advance(). Committed
//   entries that were already durable are applied while the WAL write/fdatasync is in flight.
// Node batches proposals: while one Ready is being persisted the next proposals pile up in raft
// and go out together in the next Ready, so a busy server does one fsync for many writes.
import {
  EMPTY_BYTES,
  emptyHardState,
  isEmptySnap,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  type MemoryStorage,
  type Node,
  type ReadState,
  type Ready,
  type Snapshot,
  type SoftState,
  StateType,
} from '../raft/index.js';
import type { WAL } from '../wal/index.js';
import type { Snapshotter } from '../snap/index.js';
import type { ServerLogger } from './config.js';

export interface RaftNodeHooks {
  /** Leader or role changed. */
  onSoftState(ss: SoftState): void;
  /** Answers to ReadIndex requests. */
  onReadStates(rs: ReadState[]): void;
  /** Sends messages to peers (after or, for a leader, before persisting). */
  send(msgs: Message[]): void;
  /** Installs a snapshot received from the leader (replace the backend); called after it is persisted. */
  applySnapshot(snap: Snapshot): Promise<void>;
  /** Applies committed entries synchronously. */
  applyEntries(ents: Entry[]): void;
  /** Runs after each Ready is applied, before advance (snapshots, lessor promotion). */
  afterApply(): Promise<void>;
  /** An unrecoverable error (WAL write failed): the server must stop. */
  onFatal(err: Error): void;
}

export class RaftNode {
  private ticker: NodeJS.Timeout | null = null;
  private busy: Promise<void> = Promise.resolve();
  private stopped = false;
  private isLeader = false;
  /** Last HardState persisted (term of the node). */
  hardState: HardState = emptyHardState();

  constructor(
    readonly node: Node,
    readonly storage: MemoryStorage,
    readonly wal: WAL,
    readonly snapshotter: Snapshotter,
    private readonly heartbeatMs: number,
    private readonly hooks: RaftNodeHooks,
    private readonly lg: ServerLogger,
  ) {}

  start(): void {
    this.node.onReady((rd) => {
      this.busy = this.handleReady(rd).catch((err: Error) => {
        this.lg.error({ error: err.message }, 'raft loop failed');
        this.hooks.onFatal(err);
      });
    });
    this.ticker = setInterval(() => this.node.tick(), this.heartbeatMs);
  }

  /** Advances the logical clock by `n` ticks at once (etcd's advanceTicks for fast elections). */
  advanceTicks(n: number): void {
    for (let i = 0; i < n; i++) this.node.tick();
  }

  /** Stops ticking and handing out Readys; waits for the Ready in progress to finish. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    this.node.onReady(null);
    this.node.stop();
    await this.busy;
  }

  private async handleReady(rd: Ready): Promise<void> {
    const hooks = this.hooks;
    if (rd.softState !== null) {
      this.isLeader = rd.softState.raftState === StateType.StateLeader;
      hooks.onSoftState(rd.softState);
    }
    if (rd.readStates.length !== 0) hooks.onReadStates(rd.readStates);
    const sentEarly = this.isLeader;
    if (sentEarly && rd.messages.length !== 0) hooks.send(rd.messages);

    const snap = rd.snapshot;
    const hasSnap = snap !== null && !isEmptySnap(snap);
    if (hasSnap) {
      // The snapshot file first: the WAL marker must never point to a missing snapshot.
      await this.snapshotter.saveSnap(snap);
    }
    const hs = rd.hardState;
    const committed = rd.committedEntries;
    const early = hasSnap ? 0 : durablePrefix(committed, rd.entries);
    const saving = hs !== null || rd.entries.length !== 0 ? this.wal.save(hs ?? emptyHardState(), rd.entries) : null;
    if (early !== 0) {
      // Committed entries already on disk are applied while this Ready's WAL write and fdatasync
      // run (etcd applies in parallel with saving): their responses leave a whole fsync earlier.
      try {
        hooks.applyEntries(early === committed.length ? committed : committed.slice(0, early));
      } catch (err) {
        await saving?.catch(() => {});
        throw err;
      }
    }
    if (saving !== null) await saving;
    if (hs !== null) this.hardState = hs;
    if (hasSnap) {
      const m = snap.metadata;
      await this.wal.saveSnapshot({ index: m.index, term: m.term, confState: m.confState });
      this.storage.applySnapshot(snap);
      await hooks.applySnapshot(snap);
      this.wal.releaseLockTo(m.index);
      await this.snapshotter.releaseSnapDBs(snap).catch(() => {});
    }
    if (rd.entries.length !== 0) this.storage.append(rd.entries);
    if (!sentEarly && rd.messages.length !== 0) hooks.send(rd.messages);
    if (early < committed.length) hooks.applyEntries(early === 0 ? committed : committed.slice(early));
    await hooks.afterApply();
    if (!this.stopped) this.node.advance();
  }
}

/**
 * How many leading committed entries may be applied before this Ready is persisted: normal entries
 * below the Ready's first new entry (durable since an earlier Ready). A conf change and all after
 * it wait for persistence, as etcd's apply waits for the raft loop's notify before conf changes.
 */
function durablePrefix(committed: Entry[], unstable: Entry[]): number {
  const firstNew = unstable.length !== 0 ? unstable[0]!.index : Infinity;
  let n = 0;
  while (n < committed.length) {
    const e = committed[n]!;
    if (e.index >= firstNew || e.type !== EntryType.EntryNormal) break;
    n++;
  }
  return n;
}

export { EMPTY_BYTES };
