// gRPC status codes, etcd's gRPC errors (api/v3rpc/rpctypes) and the one place that maps the
// server's typed errors to them (etcd's v3rpc togRPCError). Texts are etcd's, byte for byte:
// clients such as clientv3 and etcdctl recognise errors by their message.

import * as auth from '../auth/errors.js';
import * as lease from '../lease/errors.js';
import * as mvcc from '../storage/mvcc/errors.js';

export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

/** An error with a gRPC status code; its message is sent as grpc-message. */
export class GrpcError extends Error {
  constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcError';
  }
}

const e = (code: Code, msg: string) => new GrpcError(code, msg);
const C = Code;

export const ErrGRPCEmptyKey = e(C.INVALID_ARGUMENT, 'etcdserver: key is not provided');
export const ErrGRPCKeyNotFound = e(C.INVALID_ARGUMENT, 'etcdserver: key not found');
export const ErrGRPCValueProvided = e(C.INVALID_ARGUMENT, 'etcdserver: value is provided');
export const ErrGRPCLeaseProvided = e(C.INVALID_ARGUMENT, 'etcdserver: lease is provided');
export const ErrGRPCTooManyOps = e(C.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request');
export const ErrGRPCDuplicateKey = e(C.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request');
export const ErrGRPCInvalidSortOption = e(C.INVALID_ARGUMENT, 'etcdserver: invalid sort option');
export const ErrGRPCCompacted = e(C.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted');
export const ErrGRPCFutureRev = e(C.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision');
export const ErrGRPCNoSpace = e(C.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded');

export const ErrGRPCLeaseNotFound = e(C.NOT_FOUND, 'etcdserver: requested lease not found');
export const ErrGRPCLeaseExist = e(C.FAILED_PRECONDITION, 'etcdserver: lease already exists');
export const ErrGRPCLeaseTTLTooLarge = e(C.OUT_OF_RANGE, 'etcdserver: too large lease TTL');

export const ErrGRPCWatchCanceled = e(C.CANCELLED, 'etcdserver: watch canceled');

export const ErrGRPCMemberExist = e(C.FAILED_PRECONDITION, 'etcdserver: member ID already exist');
export const ErrGRPCPeerURLExist = e(C.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists');
// etcd 3.4 maps this one to a client-side error value, so it reaches clients as code Unknown.
export const ErrGRPCMemberNotEnoughStarted = e(
  C.UNKNOWN,
  'etcdserver: re-configuration failed due to not enough started members',
);
export const ErrGRPCMemberBadURLs = e(C.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid');
export const ErrGRPCMemberNotFound = e(C.NOT_FOUND, 'etcdserver: member not found');
export const ErrGRPCMemberNotLearner = e(C.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member');
export const ErrGRPCLearnerNotReady = e(
  C.FAILED_PRECONDITION,
  'etcdserver: can only promote a learner member which is in sync with leader',
);
export const ErrGRPCTooManyLearners = e(C.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster');

export const ErrGRPCRequestTooLarge = e(C.INVALID_ARGUMENT, 'etcdserver: request is too large');
export const ErrGRPCRequestTooManyRequests = e(C.RESOURCE_EXHAUSTED, 'etcdserver: too many requests');

export const ErrGRPCRootUserNotExist = e(C.FAILED_PRECONDITION, 'etcdserver: root user does not exist');
export const ErrGRPCRootRoleNotExist = e(C.FAILED_PRECONDITION, 'etcdserver: root user does not have root role');
export const ErrGRPCUserAlreadyExist = e(C.FAILED_PRECONDITION, 'etcdserver: user name already exists');
export const ErrGRPCUserEmpty = e(C.INVALID_ARGUMENT, 'etcdserver: user name is empty');
export const ErrGRPCUserNotFound = e(C.FAILED_PRECONDITION, 'etcdserver: user name not found');
export const ErrGRPCRoleAlreadyExist = e(C.FAILED_PRECONDITION, 'etcdserver: role name already exists');
export const ErrGRPCRoleNotFound = e(C.FAILED_PRECONDITION, 'etcdserver: role name not found');
export const ErrGRPCRoleEmpty = e(C.INVALID_ARGUMENT, 'etcdserver: role name is empty');
export const ErrGRPCAuthFailed = e(
  C.INVALID_ARGUMENT,
  'etcdserver: authentication failed, invalid user ID or password',
);
export const ErrGRPCPermissionNotGiven = e(C.INVALID_ARGUMENT, 'etcdserver: permission not given');
export const ErrGRPCPermissionDenied = e(C.PERMISSION_DENIED, 'etcdserver: permission denied');
export const ErrGRPCRoleNotGranted = e(C.FAILED_PRECONDITION, 'etcdserver: role is not granted to the user');
export const ErrGRPCPermissionNotGranted = e(
  C.FAILED_PRECONDITION,
  'etcdserver: permission is not granted to the role',
);
export const ErrGRPCAuthNotEnabled = e(C.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled');
export const ErrGRPCInvalidAuthToken = e(C.UNAUTHENTICATED, 'etcdserver: invalid auth token');
export const ErrGRPCInvalidAuthMgmt = e(C.INVALID_ARGUMENT, 'etcdserver: invalid auth management');
export const ErrGRPCAuthOldRevision = e(C.INVALID_ARGUMENT, 'etcdserver: revision of auth store is old');

export const ErrGRPCNoLeader = e(C.UNAVAILABLE, 'etcdserver: no leader');
export const ErrGRPCNotLeader = e(C.FAILED_PRECONDITION, 'etcdserver: not leader');
export const ErrGRPCLeaderChanged = e(C.UNAVAILABLE, 'etcdserver: leader changed');
export const ErrGRPCNotCapable = e(C.FAILED_PRECONDITION, 'etcdserver: not capable');
export const ErrGRPCStopped = e(C.UNAVAILABLE, 'etcdserver: server stopped');
export const ErrGRPCTimeout = e(C.UNAVAILABLE, 'etcdserver: request timed out');
export const ErrGRPCTimeoutDueToLeaderFail = e(
  C.UNAVAILABLE,
  'etcdserver: request timed out, possibly due to previous leader failure',
);
export const ErrGRPCTimeoutDueToConnectionLost = e(
  C.UNAVAILABLE,
  'etcdserver: request timed out, possibly due to connection lost',
);
export const ErrGRPCTimeoutWaitAppliedIndex = e(
  C.UNAVAILABLE,
  'etcdserver: request timed out, waiting for the applied index took too long',
);
export const ErrGRPCUnhealthy = e(C.UNAVAILABLE, 'etcdserver: unhealthy cluster');
export const ErrGRPCCorrupt = e(C.DATA_LOSS, 'etcdserver: corrupt cluster');
export const ErrGRPCNotSupportedForLearner = e(C.UNAVAILABLE, 'etcdserver: rpc not supported for learner');
export const ErrGRPCBadLeaderTransferee = e(C.FAILED_PRECONDITION, 'etcdserver: bad leader transferee');
export const ErrGRPCTimeoutLeaderTransfer = e(
  C.UNAVAILABLE,
  'etcdserver: request timed out, leader transfer took too long',
);

export const ErrGRPCClusterVersionUnavailable = e(
  C.FAILED_PRECONDITION,
  'etcdserver: cluster version not found during downgrade',
);
export const ErrGRPCWrongDowngradeVersionFormat = e(
  C.INVALID_ARGUMENT,
  'etcdserver: wrong downgrade target version format',
);
export const ErrGRPCInvalidDowngradeTargetVersion = e(C.INVALID_ARGUMENT, 'etcdserver: invalid downgrade target version');
export const ErrGRPCDowngradeInProcess = e(C.FAILED_PRECONDITION, 'etcdserver: cluster has a downgrade job in progress');
export const ErrGRPCNoInflightDowngrade = e(C.FAILED_PRECONDITION, 'etcdserver: no inflight downgrade job');

export const ErrGRPCCanceled = e(C.CANCELLED, 'etcdserver: request canceled');
export const ErrGRPCDeadlineExceeded = e(C.DEADLINE_EXCEEDED, 'etcdserver: context deadline exceeded');

/** The server's singletons (compared by identity) and their gRPC errors. */
const byIdentity = new Map<Error, GrpcError>([
  [mvcc.ErrCompacted, ErrGRPCCompacted],
  [mvcc.ErrFutureRev, ErrGRPCFutureRev],
  [mvcc.ErrKeyNotFound, ErrGRPCKeyNotFound],
  [lease.ErrLeaseNotFound, ErrGRPCLeaseNotFound],
  [lease.ErrLeaseExists, ErrGRPCLeaseExist],
  [lease.ErrLeaseTTLTooLarge, ErrGRPCLeaseTTLTooLarge],
  [auth.ErrRootUserNotExist, ErrGRPCRootUserNotExist],
  [auth.ErrRootRoleNotExist, ErrGRPCRootRoleNotExist],
  [auth.ErrUserAlreadyExist, ErrGRPCUserAlreadyExist],
  [auth.ErrUserEmpty, ErrGRPCUserEmpty],
  [auth.ErrUserNotFound, ErrGRPCUserNotFound],
  [auth.ErrRoleAlreadyExist, ErrGRPCRoleAlreadyExist],
  [auth.ErrRoleNotFound, ErrGRPCRoleNotFound],
  [auth.ErrRoleEmpty, ErrGRPCRoleEmpty],
  [auth.ErrAuthFailed, ErrGRPCAuthFailed],
  [auth.ErrPermissionNotGiven, ErrGRPCPermissionNotGiven],
  [auth.ErrPermissionDenied, ErrGRPCPermissionDenied],
  [auth.ErrRoleNotGranted, ErrGRPCRoleNotGranted],
  [auth.ErrPermissionNotGranted, ErrGRPCPermissionNotGranted],
  [auth.ErrAuthNotEnabled, ErrGRPCAuthNotEnabled],
  [auth.ErrInvalidAuthToken, ErrGRPCInvalidAuthToken],
  [auth.ErrInvalidAuthMgmt, ErrGRPCInvalidAuthMgmt],
  [auth.ErrAuthOldRevision, ErrGRPCAuthOldRevision],
]);

/**
 * etcdserver's error texts (etcdserver/errors.go, membership) and their gRPC errors. The server
 * may reject with a plain Error carrying one of these texts.
 */
const byText = new Map<string, GrpcError>([
  ['etcdserver: request is too large', ErrGRPCRequestTooLarge],
  ['etcdserver: no space', ErrGRPCNoSpace],
  ['etcdserver: too many requests', ErrGRPCRequestTooManyRequests],
  ['etcdserver: no leader', ErrGRPCNoLeader],
  ['etcdserver: not leader', ErrGRPCNotLeader],
  ['etcdserver: leader changed', ErrGRPCLeaderChanged],
  ['etcdserver: server stopped', ErrGRPCStopped],
  ['etcdserver: request timed out', ErrGRPCTimeout],
  ['etcdserver: request timed out, possibly due to previous leader failure', ErrGRPCTimeoutDueToLeaderFail],
  ['etcdserver: request timed out, possibly due to connection lost', ErrGRPCTimeoutDueToConnectionLost],
  ['etcdserver: request timed out, waiting for the applied index took too long', ErrGRPCTimeoutWaitAppliedIndex],
  ['etcdserver: unhealthy cluster', ErrGRPCUnhealthy],
  ['etcdserver: key not found', ErrGRPCKeyNotFound],
  ['etcdserver: corrupt cluster', ErrGRPCCorrupt],
  ['etcdserver: bad leader transferee', ErrGRPCBadLeaderTransferee],
  ['etcdserver: request timed out, leader transfer took too long', ErrGRPCTimeoutLeaderTransfer],
  ['etcdserver: re-configuration failed due to not enough started members', ErrGRPCMemberNotEnoughStarted],
  ['etcdserver: can only promote a learner member which is in sync with leader', ErrGRPCLearnerNotReady],
  ['etcdserver: cluster version not found during downgrade', ErrGRPCClusterVersionUnavailable],
  ['etcdserver: wrong downgrade target version format', ErrGRPCWrongDowngradeVersionFormat],
  ['etcdserver: invalid downgrade target version', ErrGRPCInvalidDowngradeTargetVersion],
  ['etcdserver: cluster has a downgrade job in progress', ErrGRPCDowngradeInProcess],
  ['etcdserver: no inflight downgrade job', ErrGRPCNoInflightDowngrade],
  ['membership: ID removed', ErrGRPCMemberNotFound],
  ['membership: ID not found', ErrGRPCMemberNotFound],
  ['membership: ID exists', ErrGRPCMemberExist],
  ['membership: peerURL exists', ErrGRPCPeerURLExist],
  ['membership: can only promote a learner member', ErrGRPCMemberNotLearner],
  ['membership: too many learner members in cluster', ErrGRPCTooManyLearners],
  ['mvcc: required revision has been compacted', ErrGRPCCompacted],
  ['mvcc: required revision is a future revision', ErrGRPCFutureRev],
  ['mvcc: database space exceeded', ErrGRPCNoSpace],
  ['lease not found', ErrGRPCLeaseNotFound],
  ['lease already exists', ErrGRPCLeaseExist],
  ['too large lease TTL', ErrGRPCLeaseTTLTooLarge],
]);
for (const g of byIdentity.values()) byText.set(g.message, g);

/** The gRPC error a handler failure is sent as (etcd's togRPCError: unknown -> Unknown). */
export function toGrpcError(err: unknown): GrpcError {
  if (err instanceof GrpcError) return err;
  if (err instanceof Error) {
    const g = byIdentity.get(err) ?? byText.get(err.message);
    if (g !== undefined) return g;
    if (err.name === 'AbortError') return ErrGRPCCanceled;
    return new GrpcError(Code.UNKNOWN, err.message);
  }
  return new GrpcError(Code.UNKNOWN, String(err));
}
