// A tiny map-backed EtcdServerApi for the API layer's tests: keys with revisions, a history of
// events for watches (replayed from a start revision), leases with TTLs, compaction. It keeps the
// semantics the API layer relies on (errors, headers, watch responses) and nothing more.

import { ErrCompacted, ErrFutureRev, ErrWatcherDuplicateID, ErrWatcherNotExist } from '../../src/storage/mvcc/errors.js';
import { ErrLeaseNotFound } from '../../src/lease/errors.js';
import type {
  AlarmMember,
  AlarmRequest,
  AlarmResponse,
  Compare,
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  EtcdServerApi,
  Event,
  HealthResult,
  KeyValue,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestContext,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  StatusResponse,
  TxnRequest,
  TxnResponse,
  Versions,
  WatchParams,
  WatchStreamApi,
  WatchStreamResponse,
} from '../../src/api/types.js';

export const CLUSTER_ID = 0xcdf818194e3a8c32n;
export const MEMBER_ID = 0x8e9e05c52164694dn;

function inRange(k: Buffer, key: Buffer, end: Buffer): boolean {
  if (end.length === 0) return k.equals(key);
  if (end.length === 1 && end[0] === 0) return Buffer.compare(k, key) >= 0;
  return Buffer.compare(k, key) >= 0 && Buffer.compare(k, end) < 0;
}

function copyKv(kv: KeyValue): KeyValue {
  return { ...kv };
}

interface Lease {
  id: bigint;
  ttl: number;
  expiresAt: number;
  keys: Set<string>;
}

export class FakeServer implements EtcdServerApi {
  rev = 1;
  compacted = 0;
  term = 2;
  leader = MEMBER_ID;
  readonly kvs = new Map<string, KeyValue>();
  readonly history: Event[] = [];
  readonly leases = new Map<bigint, Lease>();
  readonly streams = new Set<FakeWatchStream>();
  alarms: AlarmMember[] = [];
  /** When set, every KV call rejects with it (to test error mapping). */
  failWith: Error | undefined;
  lastToken: string | undefined;
  private nextLease = 0x694d7a1b2c3d4e00n;

  header(): ResponseHeader {
    return { clusterId: CLUSTER_ID, memberId: MEMBER_ID, revision: this.rev, raftTerm: this.term };
  }

  versions(): Versions {
    return { server: '3.5.17', cluster: '3.5.0' };
  }

  async isHealthy(): Promise<HealthResult> {
    if (this.leader === 0n) return { health: false, reason: 'RAFT NO LEADER' };
    return { health: true, reason: '' };
  }

  private check(ctx: RequestContext): void {
    this.lastToken = ctx.token;
    if (this.failWith !== undefined) throw this.failWith;
  }

  private sorted(key: Buffer, end: Buffer): KeyValue[] {
    const out: KeyValue[] = [];
    for (const kv of this.kvs.values()) if (inRange(kv.key, key, end)) out.push(kv);
    return out.sort((a, b) => Buffer.compare(a.key, b.key));
  }

  async range(r: RangeRequest, ctx: RequestContext): Promise<RangeResponse> {
    this.check(ctx);
    return this.doRange(r);
  }

  private doRange(r: RangeRequest): RangeResponse {
    const revision = r.revision ?? 0;
    const limit = r.limit ?? 0;
    if (revision > this.rev) throw ErrFutureRev;
    if (revision > 0 && revision <= this.compacted) throw ErrCompacted;
    let kvs = this.sorted(r.key, r.rangeEnd ?? Buffer.alloc(0));
    const count = kvs.length;
    if (r.sortOrder === 2) kvs.reverse();
    const more = limit > 0 && kvs.length > limit;
    if (limit > 0) kvs = kvs.slice(0, limit);
    if (r.countOnly) kvs = [];
    if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: Buffer.alloc(0) }));
    return { header: { clusterId: 0n, memberId: 0n, revision: this.rev, raftTerm: 0 }, kvs, more, count };
  }

  async put(r: PutRequest, ctx: RequestContext): Promise<PutResponse> {
    this.check(ctx);
    const resp = this.doPut(r, this.rev + 1);
    this.rev++;
    this.flush();
    return resp;
  }

  private doPut(r: PutRequest, rev: number): PutResponse {
    const lease = r.lease ?? 0n;
    if (lease !== 0n && !this.leases.has(lease)) throw ErrLeaseNotFound;
    const k = r.key.toString('latin1');
    const prev = this.kvs.get(k);
    const kv: KeyValue = {
      key: Buffer.from(r.key),
      value: Buffer.from(r.value ?? Buffer.alloc(0)),
      createRevision: prev?.createRevision ?? rev,
      modRevision: rev,
      version: (prev?.version ?? 0) + 1,
      lease,
    };
    this.kvs.set(k, kv);
    if (lease !== 0n) this.leases.get(lease)?.keys.add(k);
    this.history.push({ type: 0, kv: copyKv(kv), prevKv: prev });
    return { prevKv: r.prevKv ? prev : undefined };
  }

  async deleteRange(r: DeleteRangeRequest, ctx: RequestContext): Promise<DeleteRangeResponse> {
    this.check(ctx);
    const resp = this.doDelete(r, this.rev + 1);
    if (resp.deleted > 0) this.rev++;
    this.flush();
    return resp;
  }

  private doDelete(r: DeleteRangeRequest, rev: number): DeleteRangeResponse {
    const victims = this.sorted(r.key, r.rangeEnd ?? Buffer.alloc(0));
    for (const kv of victims) {
      this.kvs.delete(kv.key.toString('latin1'));
      this.history.push({
        type: 1,
        kv: { key: kv.key, value: Buffer.alloc(0), createRevision: 0, modRevision: rev, version: 0, lease: 0n },
        prevKv: kv,
      });
    }
    return { deleted: victims.length, prevKvs: r.prevKv ? victims : [] };
  }

  async txn(r: TxnRequest, ctx: RequestContext): Promise<TxnResponse> {
    this.check(ctx);
    const before = this.history.length;
    const resp = this.doTxn(r, this.rev + 1);
    if (this.history.length > before) this.rev++;
    this.flush();
    return resp;
  }

  private compare(c: Compare): boolean {
    const kv = this.kvs.get(c.key.toString('latin1'));
    let cmp: number;
    switch (c.target) {
      case 0:
        cmp = (kv?.version ?? 0) - (c.version ?? 0);
        break;
      case 1:
        cmp = (kv?.createRevision ?? 0) - (c.createRevision ?? 0);
        break;
      case 2:
        cmp = (kv?.modRevision ?? 0) - (c.modRevision ?? 0);
        break;
      case 3:
        if (kv === undefined) return false;
        cmp = Buffer.compare(kv.value, c.value ?? Buffer.alloc(0));
        break;
      default:
        cmp = Number((kv?.lease ?? 0n) - (c.lease ?? 0n));
    }
    switch (c.result) {
      case 0:
        return cmp === 0;
      case 1:
        return cmp > 0;
      case 2:
        return cmp < 0;
      default:
        return cmp !== 0;
    }
  }

  private doTxn(r: TxnRequest, rev: number): TxnResponse {
    const succeeded = (r.compare ?? []).every((c) => this.compare(c));
    const ops: RequestOp[] = (succeeded ? r.success : r.failure) ?? [];
    const responses: ResponseOp[] = ops.map((op) => {
      if (op.requestRange !== undefined) return { responseRange: this.doRange(op.requestRange) };
      if (op.requestPut !== undefined) return { responsePut: this.doPut(op.requestPut, rev) };
      if (op.requestDeleteRange !== undefined) return { responseDeleteRange: this.doDelete(op.requestDeleteRange, rev) };
      return { responseTxn: this.doTxn(op.requestTxn as TxnRequest, rev) };
    });
    return { succeeded, responses };
  }

  async compact(r: CompactionRequest, ctx: RequestContext): Promise<CompactionResponse> {
    this.check(ctx);
    if (r.revision > this.rev) throw ErrFutureRev;
    if (r.revision <= this.compacted) throw ErrCompacted;
    this.compacted = r.revision;
    return {};
  }

  async leaseGrant(r: LeaseGrantRequest): Promise<LeaseGrantResponse> {
    const id = r.ID !== undefined && r.ID !== 0n ? r.ID : this.nextLease++;
    this.leases.set(id, { id, ttl: r.TTL, expiresAt: Date.now() + r.TTL * 1000, keys: new Set() });
    return { ID: id, TTL: r.TTL, error: '' };
  }

  async leaseRevoke(r: LeaseRevokeRequest): Promise<LeaseRevokeResponse> {
    const l = this.leases.get(r.ID);
    if (l === undefined) throw ErrLeaseNotFound;
    this.leases.delete(r.ID);
    for (const k of l.keys) {
      const kv = this.kvs.get(k);
      if (kv !== undefined) this.doDelete({ key: kv.key, rangeEnd: Buffer.alloc(0), prevKv: false }, this.rev + 1);
    }
    if (l.keys.size > 0) this.rev++;
    this.flush();
    return {};
  }

  async leaseRenew(id: bigint): Promise<number> {
    const l = this.leases.get(id);
    if (l === undefined) throw ErrLeaseNotFound;
    l.expiresAt = Date.now() + l.ttl * 1000;
    return l.ttl;
  }

  async leaseTimeToLive(r: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse> {
    const l = this.leases.get(r.ID);
    if (l === undefined) throw ErrLeaseNotFound;
    return {
      ID: r.ID,
      TTL: Math.max(0, Math.round((l.expiresAt - Date.now()) / 1000)),
      grantedTTL: l.ttl,
      keys: r.keys ? [...l.keys].map((k) => Buffer.from(k, 'latin1')) : [],
    };
  }

  async leaseLeases(): Promise<LeaseLeasesResponse> {
    return { leases: [...this.leases.keys()].map((ID) => ({ ID })) };
  }

  watchStream(): WatchStreamApi {
    const ws = new FakeWatchStream(this);
    this.streams.add(ws);
    return ws;
  }

  async status(): Promise<StatusResponse> {
    return {
      version: '',
      dbSize: 24576,
      leader: this.leader,
      raftIndex: this.rev + 3,
      raftTerm: this.term,
      raftAppliedIndex: this.rev + 3,
      errors: [],
      dbSizeInUse: 16384,
      isLearner: false,
    };
  }

  async alarm(r: AlarmRequest): Promise<AlarmResponse> {
    if (r.action === 1) this.alarms.push({ memberID: r.memberID, alarm: r.alarm });
    if (r.action === 2) this.alarms = this.alarms.filter((a) => a.alarm !== r.alarm);
    return { alarms: this.alarms };
  }

  /** Delivers new history to every watch stream. */
  private flush(): void {
    for (const s of this.streams) s.catchUp();
  }
}

interface FakeWatcher {
  id: number;
  p: WatchParams;
  /** Index into history of the next event to consider. */
  next: number;
}

export class FakeWatchStream implements WatchStreamApi {
  private readonly watchers = new Map<number, FakeWatcher>();
  private cb: (r: WatchStreamResponse) => void = () => {};
  private nextId = 0;
  closed = false;

  constructor(private readonly s: FakeServer) {}

  watch(p: WatchParams): number {
    let id = p.id;
    if (id === 0) {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watchers.has(id)) throw ErrWatcherDuplicateID;
    const start = p.startRevision === 0 ? this.s.rev + 1 : p.startRevision;
    const w: FakeWatcher = { id, p, next: this.s.history.findIndex((e) => e.kv.modRevision >= start) };
    if (w.next < 0) w.next = this.s.history.length;
    this.watchers.set(id, w);
    if (p.startRevision > 0 && p.startRevision <= this.s.compacted) {
      this.watchers.delete(id);
      this.cb({ watchId: id, events: [], revision: this.s.rev, compactRevision: this.s.compacted });
      return id;
    }
    this.deliver(w);
    return id;
  }

  cancel(id: number): void {
    if (!this.watchers.delete(id)) throw ErrWatcherNotExist;
  }

  requestProgress(id: number): void {
    if (this.watchers.has(id)) this.cb({ watchId: id, events: [], revision: this.s.rev, compactRevision: 0 });
  }

  requestProgressAll(): void {
    this.cb({ watchId: -1, events: [], revision: this.s.rev, compactRevision: 0 });
  }

  rev(): number {
    return this.s.rev;
  }

  onResponse(cb: (r: WatchStreamResponse) => void): void {
    this.cb = cb;
  }

  close(): void {
    this.closed = true;
    this.watchers.clear();
    this.s.streams.delete(this);
  }

  catchUp(): void {
    for (const w of this.watchers.values()) this.deliver(w);
  }

  private deliver(w: FakeWatcher): void {
    const h = this.s.history;
    const events: Event[] = [];
    const end = w.p.rangeEnd === null ? Buffer.alloc(0) : w.p.rangeEnd.length === 0 ? Buffer.from([0]) : w.p.rangeEnd;
    for (; w.next < h.length; w.next++) {
      const ev = h[w.next];
      if (!inRange(ev.kv.key, w.p.key, end)) continue;
      if (w.p.filters.includes(ev.type === 0 ? 0 : 1)) continue;
      events.push(w.p.prevKv ? ev : { type: ev.type, kv: ev.kv });
    }
    if (events.length > 0) this.cb({ watchId: w.id, events, revision: this.s.rev, compactRevision: 0 });
  }
}
