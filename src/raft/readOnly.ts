// ReadIndex bookkeeping for the leader (etcd-raft read_only.go): pending read-only requests keyed by
// their request context, the heartbeat acks each one collected, and the FIFO that releases every
// request up to the one a quorum confirmed.
import type { Message, NodeId } from './raftpb/types.js';

export enum ReadOnlyOption {
  /** Linearizable reads confirmed by a heartbeat round with a quorum (the default). */
  ReadOnlySafe = 0,
  /** Reads served under the leader lease; needs CheckQuorum and bounded clock drift. */
  ReadOnlyLeaseBased = 1,
}

export interface ReadIndexStatus {
  req: Message;
  index: number;
  /** Voters that acknowledged the heartbeat carrying this request's context (value always true). */
  acks: Map<NodeId, boolean>;
}

/** Binary-safe map key for a request context. */
export function ctxKey(ctx: Uint8Array): string {
  return Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString('latin1');
}

export class ReadOnly {
  readonly option: ReadOnlyOption;
  pendingReadIndex = new Map<string, ReadIndexStatus>();
  readIndexQueue: string[] = [];

  constructor(option: ReadOnlyOption) {
    this.option = option;
  }

  /**
   * Queues a read request `m` (its first entry's data is the context) observed at commit `index`.
   * A request whose context is already pending is ignored.
   */
  addRequest(index: number, m: Message): void {
    const s = ctxKey(m.entries[0].data);
    if (this.pendingReadIndex.has(s)) return;
    this.pendingReadIndex.set(s, { index, req: m, acks: new Map() });
    this.readIndexQueue.push(s);
  }

  /** Records a heartbeat ack for the request with `context`; returns its acks, or null if unknown. */
  recvAck(id: NodeId, context: Uint8Array): Map<NodeId, boolean> | null {
    const rs = this.pendingReadIndex.get(ctxKey(context));
    if (rs === undefined) return null;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /**
   * Dequeues every request up to and including the one whose context `m` carries (reads queued
   * earlier are confirmed by the same quorum). Returns [] if that context is not pending.
   */
  advance(m: Message): ReadIndexStatus[] {
    const ctx = ctxKey(m.context);
    const rss: ReadIndexStatus[] = [];
    let i = 0;
    let found = false;
    for (const okctx of this.readIndexQueue) {
      i++;
      const rs = this.pendingReadIndex.get(okctx);
      if (rs === undefined) throw new Error('cannot find corresponding read state from pending map');
      rss.push(rs);
      if (okctx === ctx) {
        found = true;
        break;
      }
    }
    if (!found) return [];
    this.readIndexQueue = this.readIndexQueue.slice(i);
    for (const rs of rss) this.pendingReadIndex.delete(ctxKey(rs.req.entries[0].data));
    return rss;
  }

  /** The context of the newest pending request (as bytes), or null if nothing is pending. */
  lastPendingRequestCtx(): Uint8Array | null {
    const n = this.readIndexQueue.length;
    if (n === 0) return null;
    const rs = this.pendingReadIndex.get(this.readIndexQueue[n - 1]);
    return rs === undefined ? null : rs.req.entries[0].data;
  }
}

export function newReadOnly(option: ReadOnlyOption): ReadOnly {
  return new ReadOnly(option);
}
