// Linearizable reads (etcd's linearizableReadLoop): every read waiting when a round starts shares
// one ReadIndex request; when raft answers with the read index, all of them are released once the
// applied index reaches it. Reads arriving meanwhile wait for the next round. A round that gets no
// answer is re-sent every 500 ms (the leader may have changed) until the request timeout.
import type { Node, ReadState } from '../raft/index.js';
import { ErrStopped, ErrTimeout } from './errors.js';
import type { WaitIndex } from './wait.js';

const RETRY_MS = 500;

interface Reader {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class ReadIndexBatcher {
  private next: Reader[] = [];
  private current: Reader[] | null = null;
  private ctx: Buffer = Buffer.alloc(8);
  private retry: NodeJS.Timeout | null = null;
  private deadline: NodeJS.Timeout | null = null;
  private scheduled = false;
  private stopped = false;
  /** Rounds started (for tests and metrics). */
  rounds = 0;

  /**
   * `newId` must give IDs unique across the cluster (the request ID generator): the leader keeps
   * one pending read per context, so two followers using the same context would lose a round.
   */
  constructor(
    private readonly node: Node,
    private readonly applied: WaitIndex,
    private readonly timeoutMs: number,
    private readonly newId: () => bigint,
  ) {}

  /** Resolves once the local state machine reflects every write committed before this call. */
  wait(): Promise<void> {
    if (this.stopped) return Promise.reject(ErrStopped);
    return new Promise<void>((resolve, reject) => {
      this.next.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.current !== null || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.startRound();
    });
  }

  private startRound(): void {
    if (this.current !== null || this.next.length === 0 || this.stopped) return;
    this.current = this.next;
    this.next = [];
    this.rounds++;
    const ctx = Buffer.allocUnsafe(8);
    ctx.writeBigUInt64BE(this.newId());
    this.ctx = ctx;
    this.node.readIndex(ctx);
    this.retry = setInterval(() => this.node.readIndex(this.ctx), RETRY_MS);
    this.deadline = setTimeout(() => this.finish(ErrTimeout), this.timeoutMs);
  }

  private clearTimers(): void {
    if (this.retry !== null) clearInterval(this.retry);
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.retry = null;
    this.deadline = null;
  }

  private finish(err: Error): void {
    this.clearTimers();
    const batch = this.current;
    this.current = null;
    if (batch !== null) for (const r of batch) r.reject(err);
    this.schedule();
  }

  onReadStates(states: ReadState[]): void {
    if (this.current === null) return;
    for (const rs of states) {
      if (!this.ctx.equals(rs.requestCtx)) continue; // an answer to an older round
      this.clearTimers();
      const batch = this.current;
      this.current = null;
      this.applied.wait(rs.index).then(() => {
        if (this.stopped) for (const r of batch) r.reject(ErrStopped);
        else for (const r of batch) r.resolve();
      });
      this.schedule();
      return;
    }
  }

  /** Fails every waiting read with ErrStopped. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const all = [...(this.current ?? []), ...this.next];
    this.current = null;
    this.next = [];
    for (const r of all) r.reject(ErrStopped);
  }
}
