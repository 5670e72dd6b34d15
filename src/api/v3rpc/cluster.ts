// The Cluster service: MemberList when the server offers it (`etcdctl member list`); member
// add/remove/update/promote are not served yet (the gRPC server answers Unimplemented).

import type { UnaryCall } from '../grpc/server.js';
import type { EtcdServerApi, MemberListResponse } from '../types.js';
import type { UnaryHandlers } from './handlers.js';
import { fillHeader } from './header.js';

export function clusterHandlers(s: EtcdServerApi): UnaryHandlers {
  const h: UnaryHandlers = {};
  if (s.memberList !== undefined) {
    const list = s.memberList.bind(s);
    h.MemberList = async (r: { linearizable: boolean }, call: UnaryCall): Promise<MemberListResponse> => {
      const resp = await list(r.linearizable, call.ctx);
      resp.header = fillHeader(resp.header, s);
      return resp;
    };
  }
  return h;
}
