// EtcdServer (etcd's etcdserver/server.go): ties bootstrap, the raft loop, apply, reads, leases,
// snapshots, alarms and membership together, and offers the request methods the client API calls.
//
//   const s = await EtcdServer.create(cfg);   // bootstrap: data dir, WAL, backend, raft
//   s.start();                                // raft loop, lessor, peers; elects, publishes itself
//   await s.put({ key, value });              // proposal -> commit -> apply -> response
//   await s.range({ key });                   // linearizable (ReadIndex) unless serializable
//   await s.stop();                           // no new requests, in-flight ones finish, files closed
//
// Writes: a request becomes an InternalRaftRequest with a fresh ID, is proposed, and resolves when
// the apply loop applies its entry and triggers its waiter. Reads: linearizable ranges and
// read-only txns wait for a batched ReadIndex round, then read MVCC locally.
import * as fs from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Lessor, minLeaseTtl, ErrLeaseNotFound, ErrNotPrimary } from '../lease/index.js';
import {
  ConfChangeType,
  EntryType,
  MessageType,
  None,
  StateType,
  SnapshotStatus,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type Node,
  type ReadState,
  type Snapshot,
  type SoftState,
  restartNode,
  startNode,
} from '../raft/index.js';
import { decodeConfChange } from '../raft/raftpb/codec.js';
import { EMPTY_BYTES, emptyConfState } from '../raft/raftpb/types.js';
import type { Backend } from '../storage/backend/backend.js';
import { WatchableStore } from '../storage/mvcc/watchableStore.js';
import type { WatchStream } from '../storage/mvcc/watcher.js';
import { purgeFiles } from '../pkg/fileutil.js';
import type { Transport } from '../transport/index.js';
import { AlarmStore } from './alarms.js';
import { Applier, type ApplyResult } from './apply.js';
import { bootstrap, openBackend, raftConfig, raftLogger, type Bootstrapped } from './bootstrap.js';
import type { ServerConfig, ServerLogger } from './config.js';
import { encodeInternalRaftRequest, decodeInternalRaftRequest, type InternalRaftRequest } from './etcdserverpb/raftInternal.js';
import {
  AlarmAction,
  AlarmType,
  type AlarmRequest,
  type AlarmResponse,
  type CompactionRequest,
  type CompactionResponse,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type HashKVResponse,
  type LeaseGrantRequest,
  type LeaseGrantResponse,
  type LeaseLeasesResponse,
  type LeaseRevokeRequest,
  type LeaseRevokeResponse,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
  type Member,
  type MemberListResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type ResponseHeader,
  type StatusResponse,
  type TxnRequest,
  type TxnResponse,
} from './etcdserverpb/rpc.js';
import { ErrNoLeader, ErrNoSpace, ErrRequestTooLarge, ErrStopped, ErrTimeout, ErrTooManyRequests } from './errors.js';
import { IdGenerator } from './idGen.js';
import { memberFromJson } from './membership/member.js';
import type { RaftCluster } from './membership/cluster.js';
import { RaftNode } from './raftNode.js';
import { ReadIndexBatcher } from './readIndex.js';
import { CLUSTER_VERSION, SERVER_VERSION } from './version.js';
import { ServerWatchStream } from './watchStream.js';
import { WaitIndex, Wait } from './wait.js';
import { Compactor } from './compactor.js';

/** Proposals allowed to be committed but not yet applied before new ones are refused (etcd). */
const MAX_GAP_BETWEEN_APPLY_AND_COMMIT = 5000;
const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;
const ALARM_NAMES = ['NONE', 'NOSPACE', 'CORRUPT'];

export interface HealthResult {
  health: boolean;
  reason: string;
}

export class EtcdServer {
  readonly cfg: ServerConfig;
  readonly id: bigint;
  readonly cluster: RaftCluster;
  backend: Backend;
  readonly kv: WatchableStore;
  readonly lessor: Lessor;
  readonly alarms: AlarmStore;
  readonly node: Node;
  readonly r: RaftNode;
  transport: Transport | null = null;

  private readonly b: Bootstrapped;
  private readonly lg: ServerLogger;
  private readonly applier: Applier;
  private readonly wait = new Wait<ApplyResult>();
  readonly appliedWait = new WaitIndex();
  private readonly reads: ReadIndexBatcher;
  private readonly idGen: IdGenerator;
  private readonly compactor: Compactor;

  appliedIndex = 0;
  private appliedTerm = 0;
  private snapshotIndex = 0;
  private confState: ConfState = emptyConfState();
  private lead: bigint = None;
  private leaderChangedAt = 0;
  private becameLeader = false;
  private fastCampaign = false;
  private started = false;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private fatal: Error | null = null;
  private timers: NodeJS.Timeout[] = [];
  private quotaBytes: number;
  private dbSize = 0;
  /** Resolves when the server stopped on its own (removed, fatal error). */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  private constructor(cfg: ServerConfig, b: Bootstrapped) {
    this.cfg = cfg;
    this.lg = cfg.logger;
    this.b = b;
    this.id = b.id;
    this.cluster = b.cluster;
    this.backend = b.backend;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.idGen = new IdGenerator(this.id);
    this.quotaBytes = cfg.quotaBackendBytes > 0 ? cfg.quotaBackendBytes : DEFAULT_QUOTA_BYTES;

    this.lessor = new Lessor(this.backend.batchTx, {
      minLeaseTtl: minLeaseTtl(cfg.electionMs, cfg.heartbeatMs),
      log: (level, msg) => (level === 'warn' ? this.lg.warn({}, msg) : level === 'error' ? this.lg.error({}, msg) : this.lg.debug({}, msg)),
    });
    this.kv = new WatchableStore(this.backend, this.lessor, { log: (msg) => this.lg.info({}, msg) });
    this.lessor.setRangeDeleter(() => this.kv.write());
    this.lessor.setCheckpointer((cps) =>
      this.propose({ leaseCheckpoint: { checkpoints: cps.map((c) => ({ ID: c.id, remainingTTL: c.remainingTtl })) } }),
    );
    this.alarms = new AlarmStore(this.backend);
    this.applier = new Applier(this.kv, this.lessor, this.alarms, this.cluster, this);

    const ci = this.backend.consistentIndex();
    if (b.snapshot !== null) {
      this.snapshotIndex = b.snapshot.metadata.index;
      this.confState = b.snapshot.metadata.confState;
      this.appliedIndex = b.snapshot.metadata.index;
      this.appliedTerm = b.snapshot.metadata.term;
    }
    // Entries at or below the consistent index are in the backend already: raft need not hand
    // them out again (etcd sets no Applied; its apply skips them, which comes to the same).
    const rcfg = raftConfig(cfg, this.id, b.storage, raftLogger(this.lg));
    this.node = b.peers !== null ? startNode(rcfg, b.peers) : restartNode(rcfg);
    if (ci.index > this.appliedIndex) {
      this.lg.info({ 'consistent-index': ci.index }, 'backend is ahead of the snapshot; skipping applied entries');
    }
    this.appliedWait.trigger(this.appliedIndex);
    this.r = new RaftNode(this.node, b.storage, b.wal, b.snapshotter, cfg.heartbeatMs, this.raftHooks(), this.lg);
    this.reads = new ReadIndexBatcher(this.node, this.appliedWait, cfg.requestTimeoutMs);
    this.compactor = new Compactor(this, cfg.autoCompactionMode, cfg.autoCompactionRetention, this.lg);
  }

  /** Bootstraps from the data dir (new member or restart); call start() next. */
  static async create(cfg: ServerConfig): Promise<EtcdServer> {
    const b = await bootstrap(cfg);
    try {
      return new EtcdServer(cfg, b);
    } catch (err) {
      await b.wal.close().catch(() => {});
      await b.backend.close().catch(() => {});
      throw err;
    }
  }

  get clusterId(): bigint {
    return this.cluster.clusterId;
  }

  get term(): number {
    return this.r.hardState.term;
  }

  get leader(): bigint {
    return this.lead;
  }

  isLeader(): boolean {
    return this.lead === this.id && this.lead !== None;
  }

  /** Attaches the peer transport (created by embed with this server as its RaftHandler). */
  setTransport(t: Transport): void {
    this.transport = t;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.transport !== null) {
      for (const m of this.cluster.memberList()) if (m.id !== this.id) this.transport.addPeer(m.id, m.peerURLs);
      this.transport.start();
    }
    this.r.start();
    this.lessor.start();
    this.compactor.start();
    this.refreshDbSize();
    this.timers.push(setInterval(() => this.revokeExpiredLeases(), 100));
    this.timers.push(setInterval(() => this.refreshDbSize(), 1000));
    for (const t of this.timers) t.unref();
    // A single voter need not wait an election timeout to lead (etcd fast-forwards its ticks):
    // it campaigns once the membership entries are applied (see afterApply).
    this.fastCampaign = this.cluster.memberList().length <= 1;
    if (this.fastCampaign) this.maybeCampaign();
    void this.publish();
    this.lg.info(
      { 'local-member-id': this.id.toString(16), 'cluster-id': this.clusterId.toString(16) },
      'started etcd server',
    );
  }

  // ---- raft hooks -------------------------------------------------------------------------------

  private raftHooks() {
    return {
      onSoftState: (ss: SoftState) => this.onSoftState(ss),
      onReadStates: (rs: ReadState[]) => this.reads.onReadStates(rs),
      send: (msgs: Message[]) => this.send(msgs),
      applySnapshot: (snap: Snapshot) => this.applySnapshot(snap),
      applyEntries: (ents: Entry[]) => this.applyEntries(ents),
      afterApply: () => this.afterApply(),
      onFatal: (err: Error) => this.onFatal(err),
    };
  }

  private onSoftState(ss: SoftState): void {
    if (ss.lead !== this.lead) {
      this.leaderChangedAt = Date.now();
      if (ss.lead !== None) {
        this.lg.info({ 'local-member-id': this.id.toString(16), leader: ss.lead.toString(16) }, 'leader changed');
      }
    }
    const wasLeader = this.isLeader();
    this.lead = ss.lead;
    const isLeader = ss.raftState === StateType.StateLeader;
    if (wasLeader && !isLeader) this.lessor.demote();
    if (!wasLeader && isLeader) this.becameLeader = true;
  }

  private send(msgs: Message[]): void {
    const t = this.transport;
    if (t === null) return;
    const normal: Message[] = [];
    for (const m of msgs) {
      if (m.type === MessageType.MsgSnap) void this.sendSnapshot(t, m);
      else normal.push(m);
    }
    if (normal.length !== 0) t.send(normal);
  }

  private async sendSnapshot(t: Transport, m: Message): Promise<void> {
    try {
      const snap = await this.backend.snapshot();
      await t.sendSnapshot(m, snap.stream as Readable);
    } catch (err) {
      this.lg.warn({ to: m.to.toString(16), error: (err as Error).message }, 'failed to send database snapshot');
      this.node.reportSnapshot(m.to, SnapshotStatus.SnapshotFailure);
    }
  }

  private applyEntries(ents: Entry[]): void {
    for (const e of ents) {
      if (e.index <= this.appliedIndex) continue;
      const shouldApply = e.index > this.backend.consistentIndex().index;
      if (e.type === EntryType.EntryNormal) {
        if (e.data.length !== 0 && shouldApply) {
          const req = decodeInternalRaftRequest(e.data);
          const res = this.applier.apply(req);
          this.backend.setConsistentIndex(e.index, e.term);
          if (req.idPrefix === this.idGen.prefix) this.wait.trigger(req.id, res);
        } else if (shouldApply) {
          this.backend.setConsistentIndex(e.index, e.term);
        }
      } else if (e.type === EntryType.EntryConfChange) {
        this.applyConfChange(decodeConfChange(e.data), shouldApply);
        if (shouldApply) this.backend.setConsistentIndex(e.index, e.term);
      } else {
        // ConfChangeV2 is not proposed by this server; hand it to raft so the log stays usable.
        this.lg.warn({ index: e.index }, 'ignoring ConfChangeV2 entry');
      }
      this.appliedIndex = e.index;
      this.appliedTerm = e.term;
    }
    this.appliedWait.trigger(this.appliedIndex);
  }

  private applyConfChange(cc: ConfChange, shouldApply: boolean): void {
    let member: Member | null = null;
    if (cc.type === ConfChangeType.ConfChangeAddNode || cc.type === ConfChangeType.ConfChangeAddLearnerNode) {
      const m = memberFromJson(Buffer.from(cc.context).toString('utf8'));
      const known = this.cluster.member(m.id);
      const err = known !== undefined ? null : this.cluster.validateAdd(m);
      if (err !== null) {
        this.lg.warn({ error: err.message }, 'rejected conf change');
        this.confState = this.node.applyConfChange({ ...cc, nodeId: None });
        this.triggerConfChange(cc, { resp: null, err });
        return;
      }
      member = { ID: m.id, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner };
      this.confState = this.node.applyConfChange(cc);
      this.cluster.addMember(m, shouldApply);
      if (m.id !== this.id && this.transport !== null && !this.transport.hasPeer(m.id)) {
        this.transport.addPeer(m.id, m.peerURLs);
      }
    } else if (cc.type === ConfChangeType.ConfChangeRemoveNode) {
      const err = this.cluster.validateRemove(cc.nodeId);
      if (err !== null) {
        this.confState = this.node.applyConfChange({ ...cc, nodeId: None });
        this.triggerConfChange(cc, { resp: null, err });
        return;
      }
      this.confState = this.node.applyConfChange(cc);
      this.cluster.removeMember(cc.nodeId, shouldApply);
      if (cc.nodeId === this.id) {
        this.lg.warn({ 'local-member-id': this.id.toString(16) }, 'the local etcd member was removed from the cluster');
        setImmediate(() => void this.stop());
      } else if (this.transport !== null) void this.transport.removePeer(cc.nodeId);
    } else {
      this.confState = this.node.applyConfChange(cc);
      const m = cc.context.length ? memberFromJson(Buffer.from(cc.context).toString('utf8')) : null;
      if (m !== null) {
        this.cluster.updateRaftAttributes(m.id, m.peerURLs, m.isLearner, shouldApply);
        if (m.id !== this.id) this.transport?.updatePeer(m.id, m.peerURLs);
      }
    }
    this.triggerConfChange(cc, { resp: member, err: null });
  }

  private triggerConfChange(cc: ConfChange, res: ApplyResult): void {
    const prefix = Number((cc.id >> 48n) & 0xffffn);
    if (prefix === this.idGen.prefix) this.wait.trigger(Number(cc.id & 0xffff_ffff_ffffn), res);
  }

  private async applySnapshot(snap: Snapshot): Promise<void> {
    const index = snap.metadata.index;
    if (index <= this.appliedIndex) return;
    this.lg.info({ 'snapshot-index': index }, 'applying snapshot');
    const dbFile = await this.b.snapshotter.dbFilePath(index);
    const old = this.backend;
    await old.close();
    await fs.rename(dbFile, this.b.dbPath);
    const be = openBackend(this.b.dbPath, this.cfg);
    this.backend = be;
    this.lessor.recover(be.batchTx, () => this.kv.write());
    this.kv.restoreFrom(be);
    this.alarms.reload(be);
    this.cluster.setBackend(be);
    this.cluster.reload();
    if (this.transport !== null) {
      for (const m of this.cluster.memberList()) {
        if (m.id !== this.id && !this.transport.hasPeer(m.id)) this.transport.addPeer(m.id, m.peerURLs);
      }
    }
    this.appliedIndex = index;
    this.appliedTerm = snap.metadata.term;
    this.snapshotIndex = index;
    this.confState = snap.metadata.confState;
    this.appliedWait.trigger(index);
    this.lg.info({ 'snapshot-index': index }, 'applied snapshot');
  }

  private async afterApply(): Promise<void> {
    if (this.fastCampaign) this.maybeCampaign();
    if (this.becameLeader && this.isLeader()) {
      this.becameLeader = false;
      this.lessor.promote(this.cfg.electionMs);
    }
    if (this.appliedIndex - this.snapshotIndex > this.cfg.snapshotCount) await this.triggerSnapshot();
  }

  private maybeCampaign(): void {
    const r = this.node.rn.raft;
    if (r.state !== StateType.StateFollower || this.appliedIndex < r.raftLog.committed) return;
    this.fastCampaign = false;
    const voters = r.trk.config.voters.ids();
    if (voters.size === 1 && voters.has(this.id)) this.node.campaign();
  }

  /** Snapshot of the applied state: backend made durable first, then raft snapshot, WAL release. */
  async triggerSnapshot(): Promise<void> {
    const index = this.appliedIndex;
    if (index <= this.snapshotIndex) return;
    await this.backend.forceCommit();
    const storage = this.b.storage;
    const [snap, err] = storage.createSnapshot(index, this.confState, EMPTY_BYTES);
    if (err !== null) return;
    await this.b.snapshotter.saveSnap(snap);
    await this.b.wal.saveSnapshot({ index, term: snap.metadata.term, confState: snap.metadata.confState });
    this.b.wal.releaseLockTo(index);
    this.snapshotIndex = index;
    this.lg.info({ 'snapshot-index': index }, 'saved snapshot');
    const catchUp = this.cfg.snapshotCatchUpEntries;
    if (index > catchUp) {
      const compactIndex = index - catchUp;
      if (storage.compact(compactIndex) === null) {
        this.lg.info({ 'compact-index': compactIndex }, 'compacted Raft logs');
      }
    }
    void this.purge();
  }

  private async purge(): Promise<void> {
    const wlg = { info: (t: string) => this.lg.info({}, t), warning: (t: string) => this.lg.warn({}, t) };
    try {
      if (this.cfg.maxSnapshots > 0) await this.b.snapshotter.purge(this.cfg.maxSnapshots);
      if (this.cfg.maxWals > 0) await purgeFiles(this.b.walDir, '.wal', this.cfg.maxWals, wlg);
    } catch (err) {
      this.lg.warn({ error: (err as Error).message }, 'failed to purge files');
    }
  }

  private onFatal(err: Error): void {
    if (this.fatal !== null) return;
    this.fatal = err;
    void this.stop();
  }

  // ---- RaftHandler (called by the transport) ----------------------------------------------------

  process(m: Message): void {
    if (this.stopping) return;
    this.node.step(m);
  }

  reportUnreachable(id: bigint): void {
    this.node.reportUnreachable(id);
  }

  reportSnapshot(id: bigint, ok: boolean): void {
    this.node.reportSnapshot(id, ok ? SnapshotStatus.SnapshotFinish : SnapshotStatus.SnapshotFailure);
  }

  isIdRemoved(id: bigint): boolean {
    return this.cluster.isIdRemoved(id);
  }

  async saveSnapshotDb(index: number, db: Readable): Promise<void> {
    await this.b.snapshotter.saveDBFrom(db, index);
  }

  reportCriticalError(err: Error): void {
    this.lg.error({ error: err.message }, 'critical peer error; stopping');
    this.onFatal(err);
  }

  // ---- proposals --------------------------------------------------------------------------------

  header(revision: number = this.kv.rev()): ResponseHeader {
    return { clusterId: this.cluster.clusterId, memberId: this.id, revision, raftTerm: this.r.hardState.term };
  }

  /** Proposes a request and resolves with its apply result (etcd's processInternalRaftRequestOnce). */
  private async propose(body: Omit<InternalRaftRequest, 'idPrefix' | 'id'>): Promise<unknown> {
    if (this.stopping) throw ErrStopped;
    const committed = this.node.rn.raft.raftLog.committed;
    if (committed > this.appliedIndex + MAX_GAP_BETWEEN_APPLY_AND_COMMIT) throw ErrTooManyRequests;
    const req = body as InternalRaftRequest;
    req.idPrefix = this.idGen.prefix;
    req.id = this.idGen.next();
    const data = encodeInternalRaftRequest(req);
    if (data.length > this.cfg.maxRequestBytes) throw ErrRequestTooLarge;
    const id = req.id;
    const result = this.wait.register(id);
    const timer = setTimeout(() => this.wait.trigger(id, { resp: null, err: this.timeoutError() }), this.cfg.requestTimeoutMs);
    try {
      await this.node.propose(data);
    } catch (err) {
      clearTimeout(timer);
      this.wait.trigger(id, { resp: null, err: err as Error });
      throw this.stopping ? ErrStopped : err;
    }
    const res = await result;
    clearTimeout(timer);
    if (res.err !== null) throw res.err;
    if (res.physc !== undefined && req.compaction?.physical) await res.physc;
    return res.resp;
  }

  private timeoutError(): Error {
    if (this.lead === None) return ErrNoLeader;
    return ErrTimeout;
  }

  private checkQuota(cost: number): void {
    if (this.dbSize + cost <= this.quotaBytes) return;
    if (!this.alarms.has(AlarmType.NOSPACE)) {
      this.lg.warn({ 'quota-size-bytes': this.quotaBytes, 'db-size': this.dbSize }, 'database space exceeded');
      void this.propose({ alarm: { action: AlarmAction.ACTIVATE, memberID: this.id, alarm: AlarmType.NOSPACE } }).catch(() => {});
    }
    throw ErrNoSpace;
  }

  private refreshDbSize(): void {
    try {
      this.dbSize = this.backend.size();
    } catch {
      // backend being swapped
    }
  }

  // ---- the API ----------------------------------------------------------------------------------

  async range(r: RangeRequest): Promise<RangeResponse> {
    if (!r.serializable) await this.linearizableReadNotify();
    else if (this.stopping) throw ErrStopped;
    return this.applier.range(r);
  }

  put(r: PutRequest): Promise<PutResponse> {
    this.checkQuota(r.key.length + (r.value?.length ?? 0));
    return this.propose({ put: r }) as Promise<PutResponse>;
  }

  deleteRange(r: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    return this.propose({ deleteRange: r }) as Promise<DeleteRangeResponse>;
  }

  async txn(r: TxnRequest): Promise<TxnResponse> {
    if (isTxnReadOnly(r)) {
      if (!isTxnSerializable(r)) await this.linearizableReadNotify();
      return this.applier.readTxn(r);
    }
    this.checkQuota(txnCost(r));
    return this.propose({ txn: r }) as Promise<TxnResponse>;
  }

  compact(r: CompactionRequest): Promise<CompactionResponse> {
    return this.propose({ compaction: r }) as Promise<CompactionResponse>;
  }

  leaseGrant(r: LeaseGrantRequest): Promise<LeaseGrantResponse> {
    this.checkQuota(64);
    let id = r.ID ?? 0n;
    // No ID given: a random positive int64 from the request ID generator, as etcd does.
    while (id === 0n) id = this.idGen.nextFull() & 0x7fff_ffff_ffff_ffffn;
    return this.propose({ leaseGrant: { TTL: r.TTL, ID: id } }) as Promise<LeaseGrantResponse>;
  }

  leaseRevoke(r: LeaseRevokeRequest): Promise<LeaseRevokeResponse> {
    return this.propose({ leaseRevoke: r }) as Promise<LeaseRevokeResponse>;
  }

  /** Renews a lease; resolves with its TTL. Throws ErrLeaseNotFound; only the leader renews. */
  async leaseRenew(id: bigint): Promise<number> {
    if (this.stopping) throw ErrStopped;
    if (!this.isLeader()) {
      if (this.lead === None) throw ErrNoLeader;
      throw ErrNotPrimary;
    }
    return this.lessor.renew(id);
  }

  async leaseTimeToLive(r: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse> {
    const t = this.lessor.timeToLive(r.ID, r.keys ?? false);
    return {
      header: this.header(),
      ID: t.id,
      TTL: t.ttl,
      grantedTTL: t.grantedTtl,
      keys: t.keys.map((k) => Buffer.from(k.buffer, k.byteOffset, k.byteLength)),
    };
  }

  async leaseLeases(): Promise<LeaseLeasesResponse> {
    return { header: this.header(), leases: this.lessor.leases().map((l) => ({ ID: l.id })) };
  }

  async alarm(r: AlarmRequest): Promise<AlarmResponse> {
    if (r.action === AlarmAction.GET) {
      return { header: this.header(), alarms: this.alarms.get(r.alarm) };
    }
    return this.propose({ alarm: r }) as Promise<AlarmResponse>;
  }

  /** A watch stream over the store (the API layer drives it). */
  newWatchStream(): WatchStream {
    return this.kv.newWatchStream();
  }

  /** One client watch stream (a gRPC Watch call). */
  watchStream(): ServerWatchStream {
    if (this.stopping) throw ErrStopped;
    return new ServerWatchStream(this.kv.newWatchStream());
  }

  versions(): { server: string; cluster: string } {
    return { server: SERVER_VERSION, cluster: CLUSTER_VERSION };
  }

  async hashKV(revision: number): Promise<HashKVResponse> {
    const { hash, currentRev } = this.kv.hashByRev(revision);
    return { header: this.header(currentRev), hash: hash.hash, compactRevision: hash.compactRevision };
  }

  async memberList(): Promise<MemberListResponse> {
    return {
      header: this.header(),
      members: this.cluster.memberList().map((m) => ({
        ID: m.id,
        name: m.name,
        peerURLs: m.peerURLs,
        clientURLs: m.clientURLs,
        isLearner: m.isLearner,
      })),
    };
  }

  async status(): Promise<StatusResponse> {
    const self = this.cluster.member(this.id);
    return {
      header: this.header(),
      version: SERVER_VERSION,
      dbSize: this.backend.size(),
      leader: this.lead,
      raftIndex: this.node.rn.raft.raftLog.committed,
      raftTerm: this.r.hardState.term,
      raftAppliedIndex: this.appliedIndex,
      errors: this.alarms.get().map((a) => `memberID:${a.memberID} alarm:${ALARM_NAMES[a.alarm] ?? a.alarm} `),
      dbSizeInUse: this.backend.sizeInUse(),
      isLearner: self?.isLearner ?? false,
    };
  }

  /** etcd's /health: no alarm, a leader, and a read that succeeds. */
  async isHealthy(serializable = false): Promise<HealthResult> {
    const alarms = this.alarms.get();
    if (alarms.length > 0) {
      return { health: false, reason: `ALARM ${alarms.map((a) => ALARM_NAMES[a.alarm]).join(',')}` };
    }
    if (!serializable && this.lead === None) return { health: false, reason: 'RAFT NO LEADER' };
    try {
      await this.range({ key: Buffer.from('health'), serializable });
    } catch (err) {
      return { health: false, reason: `QGET ERROR:${(err as Error).message}` };
    }
    return { health: true, reason: '' };
  }

  /** Waits until a read started now is linearizable here. */
  linearizableReadNotify(): Promise<void> {
    if (this.stopping) return Promise.reject(ErrStopped);
    return this.reads.wait();
  }

  // ---- background work ----------------------------------------------------------------------------

  private revokeExpiredLeases(): void {
    const q = this.lessor.expiredLeases();
    for (let batch = q.poll(); batch !== undefined; batch = q.poll()) {
      if (!this.isLeader()) continue;
      for (const l of batch) {
        this.leaseRevoke({ ID: l.id }).then(
          () => this.lg.debug({ 'lease-id': l.id.toString(16) }, 'revoked expired lease'),
          (err: Error) => {
            if (err !== ErrLeaseNotFound && err !== ErrStopped) {
              this.lg.warn({ 'lease-id': l.id.toString(16), error: err.message }, 'failed to revoke lease');
            }
          },
        );
      }
    }
  }

  /** Publishes this member's name and client URLs through raft (etcd's publishV3), retrying. */
  private async publish(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.propose({
          memberAttrSet: { memberID: this.id, name: this.cfg.name, clientUrls: this.cfg.clientUrls },
        });
        this.lg.info(
          { 'local-member-id': this.id.toString(16), 'client-urls': this.cfg.clientUrls },
          'published local member to cluster through raft',
        );
        return;
      } catch (err) {
        if (this.stopping) return;
        this.lg.warn({ error: (err as Error).message }, 'failed to publish local member to cluster through raft');
        await new Promise((r) => setTimeout(r, 500).unref());
      }
    }
  }

  // ---- stop ---------------------------------------------------------------------------------------

  /**
   * Stops: new requests fail with ErrStopped, proposals in flight get up to the request timeout to
   * be applied, then the raft loop, lessor and peers stop and the WAL and backend are closed
   * (the backend commits what is pending). Idempotent.
   */
  stop(): Promise<void> {
    if (this.stopped === null) this.stopped = this.doStop();
    return this.stopped;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.compactor.stop();
    const deadline = Date.now() + this.cfg.requestTimeoutMs;
    while (this.wait.size > 0 && Date.now() < deadline && this.fatal === null && this.started) {
      await new Promise((r) => setTimeout(r, 5));
    }
    this.reads.stop();
    await this.r.stop();
    this.wait.triggerAll({ resp: null, err: ErrStopped });
    this.appliedWait.releaseAll();
    this.lessor.stop();
    if (this.transport !== null) await this.transport.stop().catch(() => {});
    this.kv.close();
    await this.kv.settle().catch(() => {});
    await this.backend.close().catch((err: Error) => this.lg.error({ error: err.message }, 'failed to close backend'));
    await this.b.wal.close().catch((err: Error) => this.lg.error({ error: err.message }, 'failed to close WAL'));
    this.lg.info({ 'local-member-id': this.id.toString(16) }, 'stopped etcd server');
    this.resolveDone();
  }
}

function isTxnReadOnly(r: TxnRequest): boolean {
  for (const op of r.success ?? []) if (op.requestRange === undefined) return false;
  for (const op of r.failure ?? []) if (op.requestRange === undefined) return false;
  return true;
}

function isTxnSerializable(r: TxnRequest): boolean {
  for (const op of r.success ?? []) if (!op.requestRange?.serializable) return false;
  for (const op of r.failure ?? []) if (!op.requestRange?.serializable) return false;
  return true;
}

function txnCost(r: TxnRequest): number {
  let n = 0;
  for (const ops of [r.success ?? [], r.failure ?? []]) {
    for (const op of ops) {
      if (op.requestPut) n += op.requestPut.key.length + (op.requestPut.value?.length ?? 0);
      else if (op.requestTxn) n += txnCost(op.requestTxn);
    }
  }
  return n;
}
