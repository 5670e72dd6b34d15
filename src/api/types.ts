// The contract between the client API layer and the server: etcdserverpb's request and response
// shapes as plain objects, and the interfaces the server implements (EtcdServerApi, WatchStreamApi).
//
// Shapes follow the protobuf field names as camelCased by protobufjs (range_end -> rangeEnd, ID and
// TTL unchanged); the etcdserverpb shapes themselves live in server/etcdserverpb/rpc.ts. Request
// fields may be absent (readers apply proto3 defaults); oneof members and message fields that were
// absent are undefined. Bytes are Buffers that VIEW the request frame: copy them if they must
// outlive the request (encoding into a raft entry is a copy). Revisions, counts and TTLs are
// numbers; lease, member and cluster IDs are bigints.
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
import type {
  AlarmMember, AlarmRequest, AlarmResponse, CompactionRequest, CompactionResponse, Compare,
  DeleteRangeRequest, DeleteRangeResponse, HashKVResponse, LeaseGrantRequest, LeaseGrantResponse,
  LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse, LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse, Member, MemberListResponse, PutRequest, PutResponse, RangeRequest,
  RangeResponse, RequestOp, ResponseHeader, ResponseOp, StatusResponse, TxnRequest, TxnResponse,
  HashResponse, DowngradeRequest, DowngradeResponse,
} from '../server/etcdserverpb/rpc.js';

export type { Event, KeyValue };

// The etcdserverpb shapes are defined once, by the server (the API layer sits above it).
export { AlarmAction, AlarmType, CompareResult, CompareTarget, DowngradeAction, SortOrder, SortTarget } from '../server/etcdserverpb/rpc.js';
export type {
  AlarmMember, AlarmRequest, AlarmResponse, CompactionRequest, CompactionResponse, Compare,
  DeleteRangeRequest, DeleteRangeResponse, HashKVResponse, LeaseGrantRequest, LeaseGrantResponse,
  LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse, LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse, Member, MemberListResponse, PutRequest, PutResponse, RangeRequest,
  RangeResponse, RequestOp, ResponseHeader, ResponseOp, StatusResponse, TxnRequest, TxnResponse,
  HashResponse, DowngradeRequest, DowngradeResponse,
};

/**
 * Per-call credentials: the auth token from the `token` metadata header, and the common name of the
 * client certificate verified on the call's TLS connection (used as the user when no token is
 * given, as etcd's AuthInfoFromTLS; only gRPC calls carry it, not the gateway's).
 */
export interface RequestContext {
  readonly token: string | undefined;
  readonly certCN?: string | undefined;
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


/** A database copy for Maintenance.Snapshot; the API layer streams it in chunks plus its SHA-256. */
export interface SnapshotSource {
  size: number;
  stream: NodeJS.ReadableStream & { destroy(): void };
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

  /** Optional: the leader's member ID as this member knows it, 0n for none (require-leader checks). */
  readonly leader?: bigint;
  /** Optional: the election timeout in ms (etcd: TickMs × ElectionTicks); paces the no-leader monitor. */
  readonly electionTimeoutMs?: number;
  /** Optional: true while this member is a learner (it serves Status and serializable reads only). */
  isLearner?(): boolean;

  /** The current header: cluster and member IDs, current revision, raft term. */
  header(): ResponseHeader;
  /** The /health check (etcd's checkHealth: alarms, leader, a Range). */
  isHealthy(serializable: boolean): Promise<HealthResult>;
  versions(): Versions;
}
