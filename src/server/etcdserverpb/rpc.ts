// The v3 request and response shapes (etcd's etcdserverpb) shared by the server and the API layer,
// with the field names protobufjs gives etcd's rpc.proto (camelCase; `TTL`, `ID` kept as written
// there), so the API layer passes decoded messages through with little translation. Bytes are
// Buffers, revisions and counts numbers, lease and member IDs bigint.
// Requests: proto3 fields may be absent on the wire, so scalar fields are optional and readers apply
// the proto3 default (0, false, empty). Responses: `header` is optional because the API layer fills
// it (etcd's v3rpc header.fill); the server may set it, or only its revision.
import type { KeyValue } from '../../storage/mvcc/kv.js';

export type { KeyValue };

export interface ResponseHeader {
  clusterId: bigint;
  memberId: bigint;
  revision: number;
  raftTerm: number;
}

export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];
export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget];

export interface RangeRequest {
  key: Buffer;
  /** Empty: the single key; "\0": every key >= key; otherwise [key, rangeEnd). */
  rangeEnd?: Buffer;
  limit?: number;
  revision?: number;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface RangeResponse {
  header?: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutRequest {
  key: Buffer;
  value?: Buffer;
  lease?: bigint;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

export interface PutResponse {
  header?: ResponseHeader;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  prevKv?: boolean;
}

export interface DeleteRangeResponse {
  header?: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;
export type CompareTarget = (typeof CompareTarget)[keyof typeof CompareTarget];

/** The target_union member that matches `target` holds the operand; others are undefined. */
export interface Compare {
  result?: CompareResult;
  target?: CompareTarget;
  key: Buffer;
  rangeEnd?: Buffer;
  version?: number;
  createRevision?: number;
  modRevision?: number;
  value?: Buffer;
  lease?: bigint;
}

/** Exactly one member is set in a valid request (the API layer rejects empty ops). */
export interface RequestOp {
  requestRange?: RangeRequest;
  requestPut?: PutRequest;
  requestDeleteRange?: DeleteRangeRequest;
  requestTxn?: TxnRequest;
}

export interface ResponseOp {
  responseRange?: RangeResponse;
  responsePut?: PutResponse;
  responseDeleteRange?: DeleteRangeResponse;
  responseTxn?: TxnResponse;
}

export interface TxnRequest {
  compare?: Compare[];
  success?: RequestOp[];
  failure?: RequestOp[];
}

export interface TxnResponse {
  header?: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionRequest {
  revision: number;
  physical?: boolean;
}

export interface CompactionResponse {
  header?: ResponseHeader;
}

export interface LeaseGrantRequest {
  /** Seconds. */
  TTL: number;
  /** 0n or absent: the server picks an ID. */
  ID?: bigint;
}

export interface LeaseGrantResponse {
  header?: ResponseHeader;
  ID: bigint;
  TTL: number;
  error: string;
}

export interface LeaseRevokeRequest {
  ID: bigint;
}

export interface LeaseRevokeResponse {
  header?: ResponseHeader;
}

export interface LeaseCheckpoint {
  ID: bigint;
  remainingTTL: number;
}

export interface LeaseCheckpointRequest {
  checkpoints: LeaseCheckpoint[];
}

export interface LeaseKeepAliveResponse {
  header?: ResponseHeader;
  ID: bigint;
  /** 0 when the lease does not exist (any more). */
  TTL: number;
}

export interface LeaseTimeToLiveRequest {
  ID: bigint;
  keys?: boolean;
}

export interface LeaseTimeToLiveResponse {
  header?: ResponseHeader;
  ID: bigint;
  /** Remaining seconds; -1 when the lease does not exist. */
  TTL: number;
  grantedTTL: number;
  keys: Buffer[];
}

export interface LeaseLeasesResponse {
  header?: ResponseHeader;
  leases: { ID: bigint }[];
}

export const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;
export type AlarmAction = (typeof AlarmAction)[keyof typeof AlarmAction];
export const AlarmType = { NONE: 0, NOSPACE: 1, CORRUPT: 2 } as const;
export type AlarmType = (typeof AlarmType)[keyof typeof AlarmType];

export interface AlarmRequest {
  action: AlarmAction;
  memberID: bigint;
  alarm: AlarmType;
}

export interface AlarmMember {
  memberID: bigint;
  alarm: AlarmType;
}

export interface AlarmResponse {
  header?: ResponseHeader;
  alarms: AlarmMember[];
}

export interface Member {
  ID: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface MemberListResponse {
  header?: ResponseHeader;
  members: Member[];
}

export interface StatusResponse {
  header?: ResponseHeader;
  version: string;
  dbSize: number;
  /** 0n when there is no leader (the API layer then adds "etcdserver: no leader" to errors). */
  leader: bigint;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  errors: string[];
  dbSizeInUse: number;
  isLearner: boolean;
}

export interface HashKVResponse {
  header?: ResponseHeader;
  hash: number;
  compactRevision: number;
}

export interface HashResponse {
  header?: Partial<ResponseHeader>;
  hash: number;
}

export const DowngradeAction = { VALIDATE: 0, ENABLE: 1, CANCEL: 2 } as const;
export type DowngradeAction = (typeof DowngradeAction)[keyof typeof DowngradeAction];

export interface DowngradeRequest {
  action: DowngradeAction;
  version: string;
}

export interface DowngradeResponse {
  header?: ResponseHeader;
  /** The cluster version (major.minor.patch). */
  version: string;
}
