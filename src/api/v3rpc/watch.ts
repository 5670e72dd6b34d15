// The Watch service (etcd's v3rpc/watch.go): one server watch stream per gRPC stream, many
// watchers on it. Create requests are normalised (empty key -> "\x00", range_end "\x00" -> every
// key >= key) and answered with a `created` response (or created+canceled with the reason);
// events of a watcher are held back until its `created` response has gone out; responses of
// watchers that asked for fragmentation are split to stay under the request size limit; a
// per-stream ticker asks for progress notifications for watchers that saw no events in a period.
// While the client is slow to read (the gRPC stream is over its write budget) the server stream is
// paused, so undelivered events wait in the store's bounded queue rather than in our buffers.

import { ErrGRPCCompacted, toGrpcError } from '../errors.js';
import type { StreamCall } from '../grpc/server.js';
import type { MessageCodec } from '../proto/codec.js';
import { codecOf } from '../proto/schema.js';
import type {
  EtcdServerApi,
  Event,
  WatchCreateRequest,
  WatchRequest,
  WatchResponse,
  WatchStreamApi,
  WatchStreamResponse,
} from '../types.js';
import type { StreamHandlers } from './handlers.js';
import { headerAt } from './header.js';

/** etcd's clientv3.InvalidWatchID. */
export const INVALID_WATCH_ID = -1;

export interface WatchOptions {
  /** Fragmentation threshold: etcd uses --max-request-bytes plus gRPC's 512 KiB overhead. */
  maxResponseBytes: number;
  /** Progress notification period for progress_notify watchers (etcd: 10 min, plus jitter). */
  progressIntervalMs: number;
}

const EMPTY = Buffer.alloc(0);

export function watchStreamHandlers(s: EtcdServerApi, opts: WatchOptions): StreamHandlers {
  return {
    Watch(call: StreamCall<WatchRequest, WatchResponse>): void {
      new ServerWatchStream(s, call, opts);
    },
  };
}

function watchResponse(
  header: WatchResponse['header'],
  watchId: number,
  events: Event[],
  fields?: Partial<WatchResponse>,
): WatchResponse {
  const r: WatchResponse = {
    header,
    watchId,
    created: false,
    canceled: false,
    compactRevision: 0,
    cancelReason: '',
    fragment: false,
    events,
  };
  return fields === undefined ? r : Object.assign(r, fields);
}

/**
 * The cancel reason of a refused create: etcd's gRPC text for auth errors, the raw text otherwise
 * (e.g. "mvcc: duplicate watch ID provided on the WatchStream").
 */
function cancelReasonOf(err: unknown): string {
  return toGrpcError(err).message;
}

class ServerWatchStream {
  private readonly ws: WatchStreamApi;
  /** Watchers with progress_notify; false once an event went out in the current period. */
  private readonly progress = new Map<number, boolean>();
  private readonly fragment = new Set<number>();
  /** Watchers whose `created` response has been sent. */
  private readonly announced = new Set<number>();
  private readonly pending = new Map<number, WatchResponse[]>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** Paused the server stream until the gRPC stream drains. */
  private blocked = false;

  constructor(
    private readonly s: EtcdServerApi,
    private readonly call: StreamCall<WatchRequest, WatchResponse>,
    private readonly opts: WatchOptions,
  ) {
    this.ws = s.watchStream(call.ctx);
    this.ws.onResponse((r) => this.onWatchResponse(r));
    call.onMessage = (req) => this.enqueue(req);
    // etcd keeps serving a stream whose client stopped sending, until the client goes away.
    call.onHalfClose = () => {};
    call.onCancel = () => this.close();
    const jitter = Math.floor(Math.random() * (opts.progressIntervalMs / 10));
    this.timer = setInterval(() => this.tick(), opts.progressIntervalMs + jitter);
    this.timer.unref();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.ws.close();
  }

  private send(r: WatchResponse): void {
    const call = this.call;
    if (!call.write(r)) return this.close();
    if (this.blocked || call.blocked?.() !== true || call.drained === undefined) return;
    this.blocked = true;
    this.ws.pause?.();
    void call.drained().then(() => {
      this.blocked = false;
      if (!this.closed) this.ws.resume?.();
    });
  }

  /** Requests wait, in order, while the stream's credentials are looked up (auth). */
  private held: WatchRequest[] | null = null;

  private enqueue(req: WatchRequest): void {
    if (this.held !== null) {
      this.held.push(req);
      return;
    }
    const wait = this.ws.ready?.();
    if (wait === undefined) return this.onRequest(req);
    const held = (this.held = [req]);
    void wait.then(() => {
      this.held = null;
      for (const r of held) this.enqueue(r);
    });
  }

  private onRequest(req: WatchRequest): void {
    if (this.closed) return;
    if (req.createRequest !== undefined) this.create(req.createRequest);
    else if (req.cancelRequest !== undefined) this.cancel(req.cancelRequest.watchId);
    else if (req.progressRequest !== undefined) this.ws.requestProgressAll();
  }

  private create(c: WatchCreateRequest): void {
    const key = c.key.length === 0 ? Buffer.from([0]) : c.key;
    let rangeEnd: Buffer | null = c.rangeEnd.length === 0 ? null : c.rangeEnd;
    if (c.rangeEnd.length === 1 && c.rangeEnd[0] === 0) rangeEnd = EMPTY;
    if (c.startRevision < 0) {
      this.sendControl(
        watchResponse(headerAt(this.s, this.ws.rev()), INVALID_WATCH_ID, [], {
          created: true,
          canceled: true,
          cancelReason: ErrGRPCCompacted.message,
        }),
      );
      return;
    }
    let id: number;
    let reason = '';
    try {
      id = this.ws.watch({
        id: c.watchId,
        key,
        rangeEnd,
        startRevision: c.startRevision,
        filters: c.filters,
        prevKv: c.prevKv,
      });
      if (c.progressNotify) this.progress.set(id, true);
      if (c.fragment) this.fragment.add(id);
    } catch (e) {
      id = INVALID_WATCH_ID;
      reason = cancelReasonOf(e);
    }
    this.sendControl(
      watchResponse(headerAt(this.s, this.ws.rev()), id, [], {
        created: true,
        canceled: reason !== '',
        cancelReason: reason,
      }),
    );
  }

  private cancel(id: number): void {
    try {
      this.ws.cancel(id);
    } catch {
      return; // etcd ignores cancels of unknown watchers
    }
    this.sendControl(watchResponse(headerAt(this.s, this.ws.rev()), id, [], { canceled: true }));
    this.progress.delete(id);
    this.fragment.delete(id);
  }

  /** Sends a created/canceled response and tracks which watchers the client knows about. */
  private sendControl(r: WatchResponse): void {
    this.send(r);
    const id = r.watchId;
    if (r.canceled && id !== INVALID_WATCH_ID) {
      this.announced.delete(id);
      return;
    }
    if (r.created && id !== INVALID_WATCH_ID) {
      this.announced.add(id);
      const held = this.pending.get(id);
      if (held !== undefined) {
        this.pending.delete(id);
        for (const h of held) this.sendEvents(h);
      }
    }
  }

  private onWatchResponse(r: WatchStreamResponse): void {
    if (this.closed) return;
    const wr = watchResponse(headerAt(this.s, r.revision), r.watchId, r.events, {
      compactRevision: r.compactRevision,
      canceled: r.compactRevision !== 0,
    });
    if (r.watchId !== INVALID_WATCH_ID && !this.announced.has(r.watchId)) {
      const held = this.pending.get(r.watchId);
      if (held === undefined) this.pending.set(r.watchId, [wr]);
      else held.push(wr);
      return;
    }
    this.sendEvents(wr);
  }

  private sendEvents(wr: WatchResponse): void {
    if (this.fragment.has(wr.watchId)) this.sendFragments(wr);
    else this.send(wr);
    if (wr.events.length > 0 && this.progress.get(wr.watchId) === true) this.progress.set(wr.watchId, false);
  }

  /** etcd's sendFragments: consecutive responses flagged `fragment`, the last one unflagged. */
  private sendFragments(wr: WatchResponse): void {
    const codec = codecOf<WatchResponse>('etcdserverpb.WatchResponse');
    const max = this.opts.maxResponseBytes;
    if (wr.events.length < 2 || codec.size(wr) < max) {
      this.send(wr);
      return;
    }
    const eventCodec = codecOf<Event>('mvccpb.Event');
    const base = codec.size({ ...wr, events: [], fragment: true });
    const evs = wr.events;
    let idx = 0;
    while (idx < evs.length) {
      const cur: Event[] = [];
      let size = base;
      while (idx < evs.length) {
        size += eventEntrySize(eventCodec, evs[idx]);
        cur.push(evs[idx]);
        if (cur.length > 1 && size >= max) {
          cur.pop();
          break;
        }
        idx++;
      }
      this.send({ ...wr, events: cur, fragment: idx < evs.length });
      if (this.closed) return;
    }
  }

  private tick(): void {
    for (const [id, ok] of this.progress) {
      if (ok) this.ws.requestProgress(id);
      this.progress.set(id, true);
    }
  }
}

/** Bytes one event adds to a WatchResponse (field 11: 1-byte tag, length, body). */
function eventEntrySize(codec: MessageCodec<Event>, ev: Event): number {
  const n = codec.size(ev);
  let l = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 128)) l++;
  return 1 + l + n;
}
