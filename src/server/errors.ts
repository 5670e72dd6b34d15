// The server's errors: singletons with etcd's texts (etcdserver/errors.go), compared by identity;
// the API layer maps them to gRPC codes in one place. Errors of lower layers (mvcc, lease, raft)
// pass through unchanged.
export { ErrKeyNotFound } from '../storage/mvcc/errors.js';

export class EtcdServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EtcdServerError';
  }
}

export const ErrUnknownMethod = new EtcdServerError('etcdserver: unknown method');
export const ErrStopped = new EtcdServerError('etcdserver: server stopped');
export const ErrCanceled = new EtcdServerError('etcdserver: request cancelled');
export const ErrTimeout = new EtcdServerError('etcdserver: request timed out');
export const ErrTimeoutDueToLeaderFail = new EtcdServerError(
  'etcdserver: request timed out, possibly due to previous leader failure',
);
export const ErrTimeoutWaitAppliedIndex = new EtcdServerError('etcdserver: request timed out, waiting for the applied index took too long');
export const ErrLeaderChanged = new EtcdServerError('etcdserver: leader changed');
export const ErrNoLeader = new EtcdServerError('etcdserver: no leader');
export const ErrNotLeader = new EtcdServerError('etcdserver: not leader');
export const ErrRequestTooLarge = new EtcdServerError('etcdserver: request is too large');
export const ErrNoSpace = new EtcdServerError('etcdserver: no space');
export const ErrTooManyRequests = new EtcdServerError('etcdserver: too many requests');
export const ErrUnhealthy = new EtcdServerError('etcdserver: unhealthy cluster');
export const ErrCorrupt = new EtcdServerError('etcdserver: corrupt cluster');
export const ErrBadLeaderTransferee = new EtcdServerError('etcdserver: bad leader transferee');
export const ErrTimeoutLeaderTransfer = new EtcdServerError('etcdserver: request timed out, leader transfer took too long');
export const ErrWrongDowngradeVersionFormat = new EtcdServerError('etcdserver: wrong downgrade target version format');
export const ErrInvalidDowngradeTargetVersion = new EtcdServerError('etcdserver: invalid downgrade target version');
export const ErrDowngradeInProcess = new EtcdServerError('etcdserver: cluster has a downgrade job in progress');
export const ErrNoInflightDowngrade = new EtcdServerError('etcdserver: no inflight downgrade job');
