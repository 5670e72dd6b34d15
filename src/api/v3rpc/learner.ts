// What a learner serves (etcd 3.4's interceptors): Status and serializable Range only; every
// other unary call and every stream is refused with "rpc not supported for learner" (Unavailable,
// so clients move on to another endpoint). Applied around each handler at registration.

import { ErrGRPCNotSupportedForLearner } from '../errors.js';
import type { StreamCall, StreamHandler, UnaryCall } from '../grpc/server.js';
import type { EtcdServerApi } from '../types.js';

type Unary = (req: any, call: UnaryCall) => Promise<unknown>;

interface LearnerAware {
  isLearner?(): boolean;
}

function supportedForLearner(method: string, req: unknown): boolean {
  if (method === 'Status') return true;
  if (method === 'Range') return (req as { serializable?: boolean }).serializable === true;
  return false;
}

/** `h` refusing what a learner does not serve; `h` itself when the server knows no learners. */
export function guardUnaryForLearner(s: EtcdServerApi, method: string, h: Unary): Unary {
  const isLearner = (s as EtcdServerApi & LearnerAware).isLearner?.bind(s);
  if (isLearner === undefined) return h;
  return (req, call) => {
    if (isLearner() && !supportedForLearner(method, req)) return Promise.reject(ErrGRPCNotSupportedForLearner);
    return h(req, call);
  };
}

export function guardStreamForLearner<Req, Res>(s: EtcdServerApi, h: StreamHandler<Req, Res>): StreamHandler<Req, Res> {
  const isLearner = (s as EtcdServerApi & LearnerAware).isLearner?.bind(s);
  if (isLearner === undefined) return h;
  return (call: StreamCall<Req, Res>) => {
    if (isLearner()) call.end(ErrGRPCNotSupportedForLearner);
    else h(call);
  };
}
