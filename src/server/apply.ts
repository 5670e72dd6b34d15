// Applying committed requests to the state machine (etcd's applierV3backend): KV requests through
// MVCC (one write transaction, hence one revision, per request), leases through the lessor, alarms,
// compaction and member attributes. Runs synchronously for each committed entry, so an entry's
// writes and its consistent index land in the same backend batch. Errors are results, not throws:
// an entry that fails to apply (e.g. a Put on a missing lease) still counts as applied.
import type { Lessor } from '../lease/index.js';
import type { KVStore } from '../storage/mvcc/kvstore.js';
import * as txn from '../storage/mvcc/txn.js';
import type { AlarmStore } from './alarms.js';
import type { InternalRaftRequest } from './etcdserverpb/raftInternal.js';
import {
  type AlarmResponse,
  AlarmAction,
  AlarmType,
  type CompactionResponse,
  type DeleteRangeResponse,
  type LeaseGrantResponse,
  type LeaseRevokeResponse,
  type PutResponse,
  type RangeResponse,
  type ResponseHeader,
  type ResponseOp,
  type TxnResponse,
} from './etcdserverpb/rpc.js';
import { ErrCorrupt, ErrNoSpace } from './errors.js';
import type { RaftCluster } from './membership/cluster.js';

export interface ApplyResult {
  resp: unknown;
  err: Error | null;
  /** Physical compaction done (CompactionRequest.physical waits for it). */
  physc?: Promise<void>;
}

/** What the applier needs from the server for response headers. */
export interface HeaderSource {
  header(revision: number): ResponseHeader;
}

const NONE_RESULT: ApplyResult = { resp: null, err: null };

/** A header with only the revision, as etcd leaves the headers of responses inside a txn. */
const revHeader = (revision: number): ResponseHeader => ({ clusterId: 0n, memberId: 0n, revision, raftTerm: 0 });

export function toRangeResponse(r: txn.RangeResponse, header: ResponseHeader): RangeResponse {
  return { header, kvs: r.kvs, more: r.more, count: r.count };
}

export function toPutResponse(r: txn.PutResponse, header: ResponseHeader): PutResponse {
  return r.prevKv !== undefined ? { header, prevKv: r.prevKv } : { header };
}

export function toDeleteRangeResponse(r: txn.DeleteRangeResponse, header: ResponseHeader): DeleteRangeResponse {
  return { header, deleted: r.deleted, prevKvs: r.prevKvs };
}

export function toTxnResponse(r: txn.TxnResponse, header: ResponseHeader): TxnResponse {
  return { header, succeeded: r.succeeded, responses: r.responses.map(toResponseOp) };
}

function toResponseOp(op: txn.ResponseOp): ResponseOp {
  if (op.responseRange) return { responseRange: toRangeResponse(op.responseRange, revHeader(op.responseRange.revision)) };
  if (op.responsePut) return { responsePut: toPutResponse(op.responsePut, revHeader(op.responsePut.revision)) };
  if (op.responseDeleteRange) {
    const d = op.responseDeleteRange;
    return { responseDeleteRange: toDeleteRangeResponse(d, revHeader(d.revision)) };
  }
  if (op.responseTxn) return { responseTxn: toTxnResponse(op.responseTxn, revHeader(op.responseTxn.revision)) };
  return {};
}

function isTxnReadOnly(rt: txn.TxnRequest): boolean {
  for (const op of rt.success ?? []) if (op.requestRange === undefined) return false;
  for (const op of rt.failure ?? []) if (op.requestRange === undefined) return false;
  return true;
}

export class Applier {
  constructor(
    private kv: KVStore,
    private readonly lessor: Lessor,
    private readonly alarms: AlarmStore,
    private readonly cluster: RaftCluster,
    private readonly hs: HeaderSource,
    private readonly onAlarmsChanged: () => void = () => {},
  ) {}

  setKV(kv: KVStore): void {
    this.kv = kv;
  }

  apply(r: InternalRaftRequest): ApplyResult {
    // Under CORRUPT every KV and lease write is refused on every member (etcd's applierV3Corrupt).
    if (this.alarms.has(AlarmType.CORRUPT) && (r.put || r.txn || r.deleteRange || r.range || r.compaction || r.leaseGrant || r.leaseRevoke)) {
      return { resp: null, err: ErrCorrupt };
    }
    try {
      if (r.put) return this.put(r);
      if (r.txn) return this.txn(r);
      if (r.deleteRange) return this.deleteRange(r);
      if (r.range) return { resp: this.range(r.range), err: null };
      if (r.leaseGrant) return this.leaseGrant(r);
      if (r.leaseRevoke) return this.leaseRevoke(r);
      if (r.leaseCheckpoint) {
        for (const cp of r.leaseCheckpoint.checkpoints) this.lessor.checkpoint(cp.ID, cp.remainingTTL);
        return { resp: { header: this.hs.header(this.kv.rev()) }, err: null };
      }
      if (r.compaction) return this.compaction(r);
      if (r.alarm) return this.alarm(r);
      if (r.memberAttrSet) {
        const m = r.memberAttrSet;
        this.cluster.updateAttributes(m.memberID, m.name, m.clientUrls, true);
        return NONE_RESULT;
      }
      return NONE_RESULT;
    } catch (err) {
      return { resp: null, err: err as Error };
    }
  }

  /** A read served outside raft (serializable, or after a ReadIndex round). */
  range(r: txn.RangeRequest): RangeResponse {
    const res = txn.range(this.kv, r);
    return toRangeResponse(res, this.hs.header(res.revision));
  }

  /** A read-only txn served outside raft. */
  readTxn(rt: txn.TxnRequest): TxnResponse {
    const res = txn.txn(this.kv, this.lessor, rt);
    return toTxnResponse(res, this.hs.header(res.revision));
  }

  private noSpace(): boolean {
    return this.alarms.has(AlarmType.NOSPACE);
  }

  private put(r: InternalRaftRequest): ApplyResult {
    if (this.noSpace()) return { resp: null, err: ErrNoSpace };
    const res = txn.put(this.kv, this.lessor, r.put!);
    return { resp: toPutResponse(res, this.hs.header(res.revision)), err: null };
  }

  private deleteRange(r: InternalRaftRequest): ApplyResult {
    const res = txn.deleteRange(this.kv, r.deleteRange!);
    return { resp: toDeleteRangeResponse(res, this.hs.header(res.revision)), err: null };
  }

  private txn(r: InternalRaftRequest): ApplyResult {
    const rt = r.txn!;
    // Under NOSPACE only a txn that cannot grow the database is allowed.
    if (this.noSpace() && !isTxnReadOnly(rt) && hasPut(rt)) return { resp: null, err: ErrNoSpace };
    const res = txn.txn(this.kv, this.lessor, rt);
    return { resp: toTxnResponse(res, this.hs.header(res.revision)), err: null };
  }

  private compaction(r: InternalRaftRequest): ApplyResult {
    const physc = this.kv.compact(r.compaction!.revision);
    // A failed physical compaction is logged by the store; waiters only need it finished.
    const done = physc.catch(() => {});
    const resp: CompactionResponse = { header: this.hs.header(this.kv.rev()) };
    return { resp, err: null, physc: done };
  }

  private leaseGrant(r: InternalRaftRequest): ApplyResult {
    if (this.noSpace()) return { resp: null, err: ErrNoSpace };
    const g = r.leaseGrant!;
    const l = this.lessor.grant(g.ID ?? 0n, g.TTL);
    const resp: LeaseGrantResponse = { header: this.hs.header(this.kv.rev()), ID: l.id, TTL: l.ttl, error: '' };
    return { resp, err: null };
  }

  private leaseRevoke(r: InternalRaftRequest): ApplyResult {
    this.lessor.revoke(r.leaseRevoke!.ID);
    const resp: LeaseRevokeResponse = { header: this.hs.header(this.kv.rev()) };
    return { resp, err: null };
  }

  private alarm(r: InternalRaftRequest): ApplyResult {
    const a = r.alarm!;
    const resp: AlarmResponse = { header: this.hs.header(this.kv.rev()), alarms: [] };
    switch (a.action) {
      case AlarmAction.GET:
        resp.alarms = this.alarms.get(a.alarm);
        break;
      case AlarmAction.ACTIVATE: {
        if (a.alarm === AlarmType.NONE) break;
        const m = this.alarms.activate(a.memberID, a.alarm);
        if (m !== null) {
          resp.alarms.push(m);
          this.onAlarmsChanged();
        }
        break;
      }
      case AlarmAction.DEACTIVATE: {
        const m = this.alarms.deactivate(a.memberID, a.alarm);
        if (m !== null) {
          resp.alarms.push(m);
          this.onAlarmsChanged();
        }
        break;
      }
    }
    return { resp, err: null };
  }
}

function hasPut(rt: txn.TxnRequest): boolean {
  for (const ops of [rt.success ?? [], rt.failure ?? []]) {
    for (const op of ops) {
      if (op.requestPut) return true;
      if (op.requestTxn && hasPut(op.requestTxn)) return true;
    }
  }
  return false;
}
