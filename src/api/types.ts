// The contract between the client API layer and the server: etcdserverpb's request and response
// shapes as plain objects, and the interfaces the server implements (EtcdServerApi, WatchStreamApi).
//
// Shapes follow the protobuf field names as camelCased by protobufjs (range_end -> rangeEnd, ID and
// TTL unchanged). Decoded requests carry every field (proto3 defaults filled in); oneof members and
// message fields that were absent are undefined. Bytes are Buffers that VIEW the request frame:
// copy them if they must outlive the request (encoding into a raft entry is a copy). Revisions,
// counts and TTLs are numbers; lease, member and cluster IDs are bigints.
//
// How the server implements the contract (mirrors etcd's v3rpc -> EtcdServer split):
// - Every method is async and rejects with a typed error: the singletons of storage/mvcc/errors,
//   lease/errors and auth/errors, an Error whose message is one of etcd's etcdserver texts
//   ("etcdserver: no leader", "etcdserver: request timed out", ... as etcdserver/errors.go), or
//   an api GrpcError. api/errors maps them to etcd's gRPC codes and messages.
// - Responses may leave `header` undefined or set only `revision`: the API layer fills clusterId,
//   memberId and raftTerm from header() (and revision when 0), as etcd's v3rpc header.fill does.
// - The API layer validates requests first (empty keys, txn op count and overlaps, request size),
//   so the server only sees well-formed requests.
// - leaseTimeToLive and leaseRenew may reject with lease ErrLeaseNotFound: the API layer answers
//   TTL -1 / TTL 0 as etcd does.
// - Watch: one WatchStreamApi per gRPC Watch stream (etcd's mvcc.WatchStream). The server applies
//   filters and fills prevKv on events (etcd's v3rpc reads it from MVCC at mod_revision-1); the
//   API layer sends created/canceled responses, buffers events of not-yet-announced watchers,
//   fragments large responses and drives progress notifications.

import type { Event, KeyValue } from '../storage/mvcc/kv.js';

export type { Event, KeyValue };

export interface ResponseHeader {
  clusterId: bigint;
  memberId: bigint;
  revision: number;
  raftTerm: number;
}

/** Per-call information: the auth token from the `token` metadata header. */
export interface RequestContext {
  readonly token: string | undefined;
}

export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];
export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget];

export interface RangeRequest {
  key: Buffer;
  rangeEnd: Buffer;
  limit: number;
  revision: number;
  sortOrder: SortOrder;
  sortTarget: SortTarget;
  serializable: boolean;
  keysOnly: boolean;
  countOnly: boolean;
  minModRevision: number;
  maxModRevision: number;
  minCreateRevision: number;
  maxCreateRevision: number;
}

export interface RangeResponse {
  header?: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutRequest {
  key: Buffer;
  value: Buffer;
  lease: bigint;
  prevKv: boolean;
  ignoreValue: boolean;
  ignoreLease: boolean;
}

export interface PutResponse {
  header?: ResponseHeader;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Buffer;
  rangeEnd: Buffer;
  prevKv: boolean;
}

export interface DeleteRangeResponse {
  header?: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
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

export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;
export type CompareTarget = (typeof CompareTarget)[keyof typeof CompareTarget];

/** The target_union member that matches `target` holds the operand; others are undefined. */
export interface Compare {
  result: CompareResult;
  target: CompareTarget;
  key: Buffer;
  rangeEnd: Buffer;
  version?: number;
  createRevision?: number;
  modRevision?: number;
  value?: Buffer;
  lease?: bigint;
}

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface TxnResponse {
  header?: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionRequest {
  revision: number;
  physical: boolean;
}

export interface CompactionResponse {
  header?: ResponseHeader;
}

export interface LeaseGrantRequest {
  TTL: number;
  /** 0n: the server picks an ID. */
  ID: bigint;
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

export interface LeaseTimeToLiveRequest {
  ID: bigint;
  keys: boolean;
}

export interface LeaseTimeToLiveResponse {
  header?: ResponseHeader;
  ID: bigint;
  TTL: number;
  grantedTTL: number;
  keys: Buffer[];
}

export interface LeaseLeasesResponse {
  header?: ResponseHeader;
  leases: { ID: bigint }[];
}

export const FilterType = { NOPUT: 0, NODELETE: 1 } as const;
export type FilterType = (typeof FilterType)[keyof typeof FilterType];

export interface WatchCreateRequest {
  key: Buffer;
  rangeEnd: Buffer;
  startRevision: number;
  progressNotify: boolean;
  filters: FilterType[];
  prevKv: boolean;
  watchId: number;
  fragment: boolean;
}

export interface WatchRequest {
  createRequest?: WatchCreateRequest;
  cancelRequest?: { watchId: number };
  progressRequest?: Record<string, never>;
}

export interface WatchResponse {
  header?: ResponseHeader;
  watchId: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  fragment: boolean;
  events: Event[];
}

/** What the API layer asks of a watch stream (etcd's mvcc.WatchStream.Watch arguments). */
export interface WatchParams {
  /** Requested watch ID; 0 lets the stream pick one (etcd's AutoWatchID). */
  id: number;
  /** Never empty: an empty key is sent as "\x00", the smallest key. */
  key: Buffer;
  /** null: the single key; empty: every key >= key; otherwise [key, rangeEnd). */
  rangeEnd: Buffer | null;
  /** 0: from the next revision. */
  startRevision: number;
  filters: FilterType[];
  prevKv: boolean;
}

/** One batch of a watcher's events (etcd's mvcc.WatchResponse). */
export interface WatchStreamResponse {
  /** -1 for a progress notification sent on behalf of every watcher of the stream. */
  watchId: number;
  events: Event[];
  /** The store revision the response reflects (header.revision). */
  revision: number;
  /** Non-zero: the start revision was compacted; the watcher has been removed. */
  compactRevision: number;
}

export interface WatchStreamApi {
  /**
   * Creates a watcher and returns its ID. Throws mvcc ErrWatcherDuplicateID or
   * ErrEmptyWatcherRange. Responses may be delivered synchronously from inside this call.
   */
  watch(p: WatchParams): number;
  /** Throws mvcc ErrWatcherNotExist for an unknown ID. */
  cancel(id: number): void;
  /** Asks for an empty response at the current revision for this watcher, if it is synced. */
  requestProgress(id: number): void;
  /** Asks for one progress response (watchId -1) if every watcher is synced. */
  requestProgressAll(): void;
  /** The store's current revision. */
  rev(): number;
  /** Sets the single receiver of watch responses. */
  onResponse(cb: (r: WatchStreamResponse) => void): void;
  /**
   * Optional flow control: while paused no responses are delivered; they wait in the store
   * (bounded: a full stream parks its watchers and catches them up after resume()).
   */
  pause?(): void;
  resume?(): void;
  /**
   * Optional (auth): a promise when requests must wait (the caller's credentials are being looked
   * up); the API layer holds this stream's requests, in order, until it settles.
   */
  ready?(): Promise<void> | undefined;
  /** Removes every watcher; no responses are delivered afterwards. */
  close(): void;
}

export const AlarmType = { NONE: 0, NOSPACE: 1, CORRUPT: 2 } as const;
export type AlarmType = (typeof AlarmType)[keyof typeof AlarmType];
export const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;
export type AlarmAction = (typeof AlarmAction)[keyof typeof AlarmAction];

export interface AlarmMember {
  memberID: bigint;
  alarm: AlarmType;
}

export interface AlarmRequest {
  action: AlarmAction;
  memberID: bigint;
  alarm: AlarmType;
}

export interface AlarmResponse {
  header?: ResponseHeader;
  alarms: AlarmMember[];
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

export interface HashKVResponse {
  header?: ResponseHeader;
  hash: number;
  compactRevision: number;
}

/** A database copy for Maintenance.Snapshot; the API layer streams it in chunks plus its SHA-256. */
export interface SnapshotSource {
  size: number;
  stream: NodeJS.ReadableStream & { destroy(): void };
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
  version: string;
}

export interface HealthResult {
  health: boolean;
  /** etcd's reason text, e.g. "RAFT NO LEADER", "ALARM NOSPACE"; empty when healthy. */
  reason: string;
}

export interface Versions {
  /** The etcd version this server claims, e.g. "3.5.17". */
  server: string;
  /** The cluster version, e.g. "3.5.0". */
  cluster: string;
}

/** A permission of a role (authpb.Permission): permType 0 READ, 1 WRITE, 2 READWRITE. */
export interface AuthPermission {
  permType: 0 | 1 | 2;
  key: Buffer;
  rangeEnd: Buffer;
}

/** The Auth service (etcd's Authenticator); responses carry etcdserverpb's fields. */
export interface AuthServerApi {
  authEnable(ctx: RequestContext): Promise<{ header?: ResponseHeader }>;
  authDisable(ctx: RequestContext): Promise<{ header?: ResponseHeader }>;
  authStatus(ctx: RequestContext): Promise<{ header?: ResponseHeader; enabled?: boolean; authRevision?: number }>;
  authenticate(r: { name: string; password: string }, ctx: RequestContext): Promise<{ header?: ResponseHeader; token?: string }>;
  userAdd(r: { name: string; password: string; options?: { noPassword: boolean } | null }, ctx: RequestContext): Promise<{ header?: ResponseHeader }>;
  userGet(r: { name: string }, ctx: RequestContext): Promise<{ header?: ResponseHeader; roles?: string[] }>;
  userList(ctx: RequestContext): Promise<{ header?: ResponseHeader; users?: string[] }>;
  userDelete(r: { name: string }, ctx: RequestContext): Promise<{ header?: ResponseHeader }>;
  userChangePassword(r: { name: string; password: string }, ctx: RequestContext): Promise<{ header?: ResponseHeader }>;
  userGrantRole(r: { user: string; role: string }, ctx: RequestContext): Promise<{ header?: ResponseHeader }>;
  userRevokeRole(r: { name: string; role: string }, ctx: RequestContext): Promise<{ header?: ResponseHeader }>;
  roleAdd(r: { name: string }, ctx: RequestContext): Promise<{ header?: ResponseHeader }>;
  roleGet(r: { role: string }, ctx: RequestContext): Promise<{ header?: ResponseHeader; perm?: AuthPermission[] }>;
  roleList(ctx: RequestContext): Promise<{ header?: ResponseHeader; roles?: string[] }>;
  roleDelete(r: { role: string }, ctx: RequestContext): Promise<{ header?: ResponseHeader }>;
  roleGrantPermission(r: { name: string; perm?: AuthPermission | null }, ctx: RequestContext): Promise<{ header?: ResponseHeader }>;
  roleRevokePermission(r: { role: string; key: Buffer; rangeEnd: Buffer }, ctx: RequestContext): Promise<{ header?: ResponseHeader }>;
}

/** The server as the API layer uses it (etcd's RaftKV, Lessor, Watchable, status getters). */
export interface EtcdServerApi {
  /** Optional: the Auth service (Unimplemented when absent). */
  readonly auth?: AuthServerApi;
  range(r: RangeRequest, ctx: RequestContext): Promise<RangeResponse>;
  put(r: PutRequest, ctx: RequestContext): Promise<PutResponse>;
  deleteRange(r: DeleteRangeRequest, ctx: RequestContext): Promise<DeleteRangeResponse>;
  txn(r: TxnRequest, ctx: RequestContext): Promise<TxnResponse>;
  compact(r: CompactionRequest, ctx: RequestContext): Promise<CompactionResponse>;

  leaseGrant(r: LeaseGrantRequest, ctx: RequestContext): Promise<LeaseGrantResponse>;
  leaseRevoke(r: LeaseRevokeRequest, ctx: RequestContext): Promise<LeaseRevokeResponse>;
  /** Renews a lease and resolves to its TTL in seconds. */
  leaseRenew(id: bigint, ctx: RequestContext): Promise<number>;
  leaseTimeToLive(r: LeaseTimeToLiveRequest, ctx: RequestContext): Promise<LeaseTimeToLiveResponse>;
  leaseLeases(ctx: RequestContext): Promise<LeaseLeasesResponse>;

  /** A new watch stream for one gRPC Watch call (closed when the call ends). */
  watchStream(ctx: RequestContext): WatchStreamApi;

  /** Maintenance.Status; `version`, errors for "no leader" and header are completed by the API. */
  status(ctx: RequestContext): Promise<StatusResponse>;
  alarm(r: AlarmRequest, ctx: RequestContext): Promise<AlarmResponse>;
  /** Optional: Maintenance.HashKV (Unimplemented when absent). */
  hashKV?(revision: number, ctx: RequestContext): Promise<HashKVResponse>;
  /** Optional maintenance operations (each Unimplemented when absent). */
  defragment?(ctx: RequestContext): Promise<void>;
  snapshot?(ctx: RequestContext): Promise<SnapshotSource>;
  hash?(ctx: RequestContext): Promise<HashResponse>;
  /** Hands leadership to `transferee` within `timeoutMs` (the server's default when undefined). */
  moveLeader?(transferee: bigint, timeoutMs?: number): Promise<void>;
  downgrade?(r: DowngradeRequest, ctx: RequestContext): Promise<DowngradeResponse>;
  /** Optional: Cluster.MemberList (Unimplemented when absent). */
  memberList?(linearizable: boolean, ctx: RequestContext): Promise<MemberListResponse>;

  /** The current header: cluster and member IDs, current revision, raft term. */
  header(): ResponseHeader;
  /** The /health check (etcd's checkHealth: alarms, leader, a Range). */
  isHealthy(serializable: boolean): Promise<HealthResult>;
  versions(): Versions;
}
