// The KV service (etcd's v3rpc/key.go): validates each request, passes it to the server, and
// completes the response header. Writes larger than --max-request-bytes are refused here with
// etcd's "request is too large", as the server would refuse the raft proposal.

import { ErrGRPCRequestTooLarge } from '../errors.js';
import type { UnaryCall } from '../grpc/server.js';
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  EtcdServerApi,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ResponseHeader,
  TxnRequest,
  TxnResponse,
} from '../types.js';
import { withHeader } from './header.js';
import type { UnaryHandlers } from './handlers.js';
import {
  checkDeleteRequest,
  checkIntervals,
  checkPutRequest,
  checkRangeRequest,
  checkTxnRequest,
  isTxnReadonly,
} from './validate.js';

export interface KvLimits {
  maxTxnOps: number;
  maxRequestBytes: number;
}

export function kvHandlers(s: EtcdServerApi, limits: KvLimits): UnaryHandlers {
  const checkSize = (call: UnaryCall) => {
    if (call.messageLength > limits.maxRequestBytes) throw ErrGRPCRequestTooLarge;
  };
  // Range and Put are the hot calls: plain promise chains with one shared callback, not async
  // functions (one frame and one promise less per request).
  const header = <T extends { header?: ResponseHeader }>(resp: T): T => withHeader(resp, s);
  return {
    Range(r: RangeRequest, call: UnaryCall): Promise<RangeResponse> {
      try {
        checkRangeRequest(r);
      } catch (e) {
        return Promise.reject(e);
      }
      return s.range(r, call.ctx).then(header);
    },
    Put(r: PutRequest, call: UnaryCall): Promise<PutResponse> {
      try {
        checkPutRequest(r);
        checkSize(call);
      } catch (e) {
        return Promise.reject(e);
      }
      return s.put(r, call.ctx).then(header);
    },
    async DeleteRange(r: DeleteRangeRequest, call: UnaryCall): Promise<DeleteRangeResponse> {
      checkDeleteRequest(r);
      checkSize(call);
      return withHeader(await s.deleteRange(r, call.ctx), s);
    },
    async Txn(r: TxnRequest, call: UnaryCall): Promise<TxnResponse> {
      checkTxnRequest(r, limits.maxTxnOps);
      // overlaps are checked after the op count, so a huge txn cannot make this quadratic
      checkIntervals(r.success);
      checkIntervals(r.failure);
      if (!isTxnReadonly(r)) checkSize(call);
      return withHeader(await s.txn(r, call.ctx), s);
    },
    async Compact(r: CompactionRequest, call: UnaryCall): Promise<CompactionResponse> {
      return withHeader(await s.compact(r, call.ctx), s);
    },
  };
}
