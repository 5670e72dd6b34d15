// A watch stream as the client API drives it: one per gRPC Watch call, over the store's
// WatchStream (etcd's mvcc.WatchStream), with request filters mapped to the store's filter
// functions and responses pushed to a single receiver as they are queued. The receiver may
// pause delivery (a slow client): responses then stay in the store's bounded queue, so a slow
// consumer's watchers get parked and caught up later instead of piling up in memory.
import {
  filterNoDelete,
  filterNoPut,
  type FilterFunc,
  type WatchResponse,
  type WatchStream,
} from '../storage/mvcc/watcher.js';

/** WatchCreateRequest filter types (etcdserverpb). */
export const FilterType = { NOPUT: 0, NODELETE: 1 } as const;

export interface WatchParams {
  /** 0: the stream picks an ID. */
  id: number;
  key: Buffer;
  /** null: the key alone; empty: every key >= key; otherwise [key, rangeEnd). */
  rangeEnd: Buffer | null;
  /** 0: from the next revision. */
  startRevision: number;
  filters: number[];
  prevKv: boolean;
}

export class ServerWatchStream {
  private cb: ((r: WatchResponse) => void) | null = null;
  private paused = false;

  constructor(private readonly ws: WatchStream) {
    ws.onReady = () => this.drain();
  }

  watch(p: WatchParams): number {
    const filters: FilterFunc[] = [];
    for (const f of p.filters) {
      if (f === FilterType.NOPUT) filters.push(filterNoPut);
      else if (f === FilterType.NODELETE) filters.push(filterNoDelete);
    }
    const id = this.ws.watch(p.key, p.rangeEnd, p.startRevision, { id: p.id, filters, prevKv: p.prevKv });
    this.drain();
    return id;
  }

  cancel(id: number): void {
    this.ws.cancel(id);
  }

  requestProgress(id: number): void {
    this.ws.requestProgress(id);
    this.drain();
  }

  requestProgressAll(): void {
    this.ws.requestProgressAll();
    this.drain();
  }

  rev(): number {
    return this.ws.rev();
  }

  onResponse(cb: (r: WatchResponse) => void): void {
    this.cb = cb;
    this.drain();
  }

  /** Stops delivery until resume(); the receiver may call it from inside its callback. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.drain();
  }

  close(): void {
    this.cb = null;
    this.ws.close();
  }

  /** One response at a time, so a pause from inside the callback leaves the rest queued. */
  private drain(): void {
    for (;;) {
      const cb = this.cb;
      if (cb === null || this.paused) return;
      const r = this.ws.take();
      if (r === undefined) return;
      cb(r);
    }
  }
}
