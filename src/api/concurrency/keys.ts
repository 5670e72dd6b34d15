// The building blocks of etcd's concurrency recipes (client/v3/concurrency key.go, session.go),
// run in-process against the server API instead of over a client connection: request builders,
// a cancellable single-watcher stream, and "wait until these keys are deleted".

import { EventType } from '../../storage/mvcc/kv.js';
import { Code, ErrGRPCCanceled, ErrGRPCCompacted, GrpcError } from '../errors.js';
import {
  CompareResult,
  CompareTarget,
  SortOrder,
  SortTarget,
  type Compare,
  type EtcdServerApi,
  type PutRequest,
  type RangeRequest,
  type RequestContext,
  type ResponseHeader,
  type WatchStreamApi,
  type WatchStreamResponse,
} from '../types.js';
import { fillHeader } from '../v3rpc/header.js';

export const EMPTY = Buffer.alloc(0);
const SLASH = Buffer.from('/');

/** etcd's concurrency.defaultSessionTTL: the lease granted when a request names none. */
export const SESSION_TTL = 60;

/** What a blocking recipe needs of its call: the caller's auth context and its cancellation. */
export interface RecipeCall {
  readonly ctx: RequestContext;
  readonly signal: AbortSignal;
}

/** Handlers of a service whose calls may block (Lock, Campaign), keyed by method name. */
// Typed per method in each service file; the registry only needs the call shape.
export type RecipeHandlers = Record<string, (req: any, call: RecipeCall) => Promise<unknown>>;

/** A plain error of a recipe: etcd's servers return these as gRPC Unknown with the text. */
export function recipeError(message: string): GrpcError {
  return new GrpcError(Code.UNKNOWN, message);
}

/** "<name>/": the key prefix under which a lock's or an election's contenders live. */
export function prefixOf(name: Buffer): Buffer {
  return Buffer.concat([name, SLASH]);
}

/** "<prefix><lease in hex>", as etcd formats it with %x. */
export function contenderKey(prefix: Buffer, lease: bigint): Buffer {
  return Buffer.concat([prefix, Buffer.from(lease.toString(16))]);
}

/** The end of the range of every key starting with `p` (clientv3.GetPrefixRangeEnd). */
export function prefixEnd(p: Buffer): Buffer {
  for (let i = p.length - 1; i >= 0; i--) {
    if (p[i] < 0xff) {
      const end = Buffer.from(p.subarray(0, i + 1));
      end[i]++;
      return end;
    }
  }
  return Buffer.from([0]); // all 0xff: every key from p on
}

/** prefixEnd as a watch range end (WatchParams: empty means every key from the start on). */
export function watchEndOf(prefix: Buffer): Buffer {
  const end = prefixEnd(prefix);
  return end.length === 1 && end[0] === 0 ? EMPTY : end;
}

export function rangeOf(key: Buffer, over: Partial<RangeRequest> = {}): RangeRequest {
  return {
    key,
    rangeEnd: EMPTY,
    limit: 0,
    revision: 0,
    sortOrder: SortOrder.NONE,
    sortTarget: SortTarget.KEY,
    serializable: false,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...over,
  };
}

/** The oldest key under the prefix (clientv3.WithFirstCreate). */
export function firstCreated(prefix: Buffer): RangeRequest {
  return rangeOf(prefix, { rangeEnd: prefixEnd(prefix), limit: 1, sortTarget: SortTarget.CREATE, sortOrder: SortOrder.ASCEND });
}

/** The newest key under the prefix created at or before maxCreateRev (WithLastCreate, WithMaxCreateRev). */
function lastCreatedUpTo(prefix: Buffer, maxCreateRev: number): RangeRequest {
  return rangeOf(prefix, {
    rangeEnd: prefixEnd(prefix),
    limit: 1,
    sortTarget: SortTarget.CREATE,
    sortOrder: SortOrder.DESCEND,
    maxCreateRevision: maxCreateRev,
  });
}

export function putOf(key: Buffer, value: Buffer, lease: bigint): PutRequest {
  return { key, value, lease, prevKv: false, ignoreValue: false, ignoreLease: false };
}

/** create_revision(key) == rev (0: the key does not exist). */
export function createRevisionIs(key: Buffer, rev: number): Compare {
  return { result: CompareResult.EQUAL, target: CompareTarget.CREATE, key, rangeEnd: EMPTY, createRevision: rev };
}

/**
 * The lease of a session (concurrency.NewSession then Orphan): the given one, or a fresh lease of
 * SESSION_TTL seconds when 0. Nobody renews it: a server-side lock or leadership taken without a
 * lease lasts at most a minute unless the caller keeps the returned lease alive.
 */
export async function sessionLease(s: EtcdServerApi, ctx: RequestContext, lease: bigint): Promise<bigint> {
  if (lease !== 0n) return lease;
  return (await s.leaseGrant({ TTL: SESSION_TTL, ID: 0n }, ctx)).ID;
}

/**
 * One watcher on a private watch stream, read with `await next()`. Ends with etcd's errors:
 * ErrGRPCCompacted when the start revision was compacted, ErrGRPCCanceled once `signal` aborts.
 */
export class KeyWatch {
  private readonly ws: WatchStreamApi;
  private readonly queue: WatchStreamResponse[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private readonly onAbort = () => this.close();

  /** rangeEnd: null watches the single key; otherwise [key, rangeEnd) as in WatchParams. */
  constructor(
    s: EtcdServerApi,
    ctx: RequestContext,
    key: Buffer,
    rangeEnd: Buffer | null,
    startRevision: number,
    private readonly signal: AbortSignal,
  ) {
    if (signal.aborted) throw ErrGRPCCanceled;
    this.ws = s.watchStream(ctx);
    this.ws.onResponse((r) => {
      if (r.watchId < 0) return; // stream-wide progress notifications carry nothing for us
      this.queue.push(r);
      this.notify();
    });
    try {
      this.ws.watch({ id: 0, key, rangeEnd, startRevision, filters: [], prevKv: false });
    } catch (e) {
      this.ws.close();
      throw e;
    }
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async next(): Promise<WatchStreamResponse> {
    for (;;) {
      const r = this.queue.shift();
      if (r !== undefined && !this.closed) {
        if (r.compactRevision !== 0) throw ErrGRPCCompacted;
        return r;
      }
      if (this.closed) throw ErrGRPCCanceled;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.signal.removeEventListener('abort', this.onAbort);
    this.ws.close();
    this.notify();
  }
}

/** Resolves once `key` is deleted at or after revision `rev` (key.go waitDelete). */
async function waitDelete(s: EtcdServerApi, call: RecipeCall, key: Buffer, rev: number): Promise<void> {
  const w = new KeyWatch(s, call.ctx, key, null, rev, call.signal);
  try {
    for (;;) {
      const r = await w.next();
      for (const ev of r.events) if (ev.type === EventType.DELETE) return;
    }
  } finally {
    w.close();
  }
}

/**
 * Waits until no key under the prefix was created at or before maxCreateRev, newest first
 * (key.go waitDeletes); resolves to the header of the final, empty read.
 */
export async function waitDeletes(s: EtcdServerApi, call: RecipeCall, prefix: Buffer, maxCreateRev: number): Promise<ResponseHeader> {
  for (;;) {
    if (call.signal.aborted) throw ErrGRPCCanceled;
    const resp = await s.range(lastCreatedUpTo(prefix, maxCreateRev), call.ctx);
    const header = fillHeader(resp.header, s);
    if (resp.kvs.length === 0) return header;
    await waitDelete(s, call, resp.kvs[0].key, header.revision);
  }
}
