// The server errors of membership changes (etcdserver/errors.go), with etcd's texts; the API maps
// them to gRPC errors by text. Membership's own validation errors live in cluster.ts.
import { EtcdServerError } from '../errors.js';

export const ErrNotEnoughStartedMembers = new EtcdServerError(
  'etcdserver: re-configuration failed due to not enough started members',
);
export const ErrLearnerNotReady = new EtcdServerError(
  'etcdserver: can only promote a learner member which is in sync with leader',
);
