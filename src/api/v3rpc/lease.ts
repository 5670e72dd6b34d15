// The Lease service (etcd's v3rpc/lease.go): grant, revoke, time-to-live and list pass through;
// a missing lease reads as TTL -1 in TimeToLive and TTL 0 in KeepAlive, as etcd answers. Each
// KeepAlive stream renews one request at a time, in order, stamping the header before renewing
// so a client never sees a renewal newer than a revocation.

import { ErrGRPCLeaseNotFound, ErrGRPCRequestTooLarge, toGrpcError } from '../errors.js';
import type { StreamCall, UnaryCall } from '../grpc/server.js';
import type {
  EtcdServerApi,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  ResponseHeader,
} from '../types.js';
import type { StreamHandlers, UnaryHandlers } from './handlers.js';
import { fillHeader, withHeader } from './header.js';

function isLeaseNotFound(e: unknown): boolean {
  return toGrpcError(e) === ErrGRPCLeaseNotFound;
}

export function leaseHandlers(s: EtcdServerApi, maxRequestBytes: number): UnaryHandlers {
  return {
    async LeaseGrant(r: LeaseGrantRequest, call: UnaryCall): Promise<LeaseGrantResponse> {
      if (call.messageLength > maxRequestBytes) throw ErrGRPCRequestTooLarge;
      return withHeader(await s.leaseGrant(r, call.ctx), s);
    },
    async LeaseRevoke(r: LeaseRevokeRequest, call: UnaryCall): Promise<LeaseRevokeResponse> {
      return withHeader(await s.leaseRevoke(r, call.ctx), s);
    },
    async LeaseTimeToLive(r: LeaseTimeToLiveRequest, call: UnaryCall): Promise<LeaseTimeToLiveResponse> {
      let resp: LeaseTimeToLiveResponse;
      try {
        resp = await s.leaseTimeToLive(r, call.ctx);
      } catch (e) {
        if (!isLeaseNotFound(e)) throw e;
        resp = { ID: r.ID, TTL: -1, grantedTTL: 0, keys: [] };
      }
      return withHeader(resp, s);
    },
    async LeaseLeases(_r: unknown, call: UnaryCall): Promise<LeaseLeasesResponse> {
      let resp: LeaseLeasesResponse;
      try {
        resp = await s.leaseLeases(call.ctx);
      } catch (e) {
        if (!isLeaseNotFound(e)) throw e;
        resp = { leases: [] };
      }
      return withHeader(resp, s);
    },
  };
}

interface KeepAliveRequest {
  ID: bigint;
}

interface KeepAliveResponse {
  header: ResponseHeader;
  ID: bigint;
  TTL: number;
}

export function leaseStreamHandlers(s: EtcdServerApi): StreamHandlers {
  return {
    LeaseKeepAlive(call: StreamCall<KeepAliveRequest, KeepAliveResponse>): void {
      let queue: Promise<void> = Promise.resolve();
      let inflight = 0;
      let halfClosed = false;
      const renew = async (id: bigint) => {
        if (call.ended) return;
        const header = fillHeader(undefined, s);
        let ttl: number;
        try {
          ttl = await s.leaseRenew(id, call.ctx);
        } catch (e) {
          if (!isLeaseNotFound(e)) {
            call.end(toGrpcError(e));
            return;
          }
          ttl = 0;
        }
        call.write({ header, ID: id, TTL: ttl });
      };
      const settle = () => {
        inflight--;
        if (halfClosed && inflight === 0) call.end();
      };
      call.onMessage = (req) => {
        inflight++;
        queue = queue.then(() => renew(req.ID)).then(settle, settle);
      };
      call.onHalfClose = () => {
        halfClosed = true;
        if (inflight === 0) call.end();
      };
    },
  };
}
