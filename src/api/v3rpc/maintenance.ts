// The Maintenance service: Status (what `etcdctl endpoint status` shows), Alarm (which `etcdctl
// endpoint health` consults) and HashKV when the server offers it. Defragment, Snapshot, Hash,
// MoveLeader and Downgrade are not served yet (the gRPC server answers Unimplemented).

import { ErrGRPCNoLeader } from '../errors.js';
import type { UnaryCall } from '../grpc/server.js';
import type { AlarmRequest, AlarmResponse, EtcdServerApi, HashKVResponse, StatusResponse } from '../types.js';
import type { UnaryHandlers } from './handlers.js';
import { fillHeader } from './header.js';

export function maintenanceHandlers(s: EtcdServerApi): UnaryHandlers {
  const h: UnaryHandlers = {
    async Status(_r: unknown, call: UnaryCall): Promise<StatusResponse> {
      const resp = await s.status(call.ctx);
      resp.header = fillHeader(resp.header, s);
      if (resp.version === '') resp.version = s.versions().server;
      if (resp.leader === 0n && !resp.errors.includes(ErrGRPCNoLeader.message)) {
        resp.errors.unshift(ErrGRPCNoLeader.message);
      }
      return resp;
    },
    async Alarm(r: AlarmRequest, call: UnaryCall): Promise<AlarmResponse> {
      const resp = await s.alarm(r, call.ctx);
      resp.header = fillHeader(resp.header, s);
      return resp;
    },
  };
  if (s.hashKV !== undefined) {
    const hashKV = s.hashKV.bind(s);
    h.HashKV = async (r: { revision: number }, call: UnaryCall): Promise<HashKVResponse> => {
      const resp = await hashKV(r.revision, call.ctx);
      resp.header = fillHeader(resp.header, s);
      return resp;
    };
  }
  return h;
}
