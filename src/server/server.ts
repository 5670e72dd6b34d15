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
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
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
import { Arena } from '../pkg/arena.js';
import type { Transport } from '../transport/index.js';
import { AlarmStore } from './alarms.js';
import { Applier, type ApplyResult } from './apply.js';
import { AuthApplier, checkTxnAuth } from './applyAuth.js';
import { AuthGate, ROOT_CONTEXT, type AuthContext, type AuthWatchStream } from './authGate.js';
import { AuthStore, newTokenProvider } from '../auth/index.js';
import { bootstrap, electionTicks, openBackend, raftConfig, raftLogger, type Bootstrapped } from './bootstrap.js';
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
import {
  ErrNoLeader,
  ErrNoSpace,
  ErrRequestTooLarge,
  ErrStopped,
  ErrTimeout,
  ErrTimeoutDueToLeaderFail,
  ErrTimeoutWaitAppliedIndex,
  ErrTooManyRequests,
} from './errors.js';
import { IdGenerator } from './idGen.js';
import { LeaseClient, serveLeaseHttp, type LeaseLocal, type LeaseTtl } from './leaseHttp.js';
import { servePeerInfo } from './peerHttp.js';
import { applyMembershipConfChange } from './membership/confChange.js';
import * as reconfig from './membership/reconfig.js';
import { servePromoteHttp } from './membership/promoteHttp.js';
import { createEtcdMetrics, type EtcdMetrics } from './metrics.js';
import { ApplyMetrics, goDurationOf, installServerCollectors } from './serverMetrics.js';
import type { RaftCluster } from './membership/cluster.js';
import { RaftNode } from './raftNode.js';
import { ReadIndexBatcher } from './readIndex.js';
import { CLUSTER_VERSION, SERVER_VERSION } from './version.js';
import { ServerWatchStream } from './watchStream.js';
import { WaitIndex, Wait } from './wait.js';
import { DeadlineQueue } from './deadlines.js';
import { Compactor } from './compactor.js';
import { CorruptionChecker, HashKVClient, serveHashKV } from './corrupt.js';
import { PeerSessions } from './peerSessions.js';
import * as maintenance from './maintenance.js';

/** Proposals allowed to be committed but not yet applied before new ones are refused (etcd). */
const MAX_GAP_BETWEEN_APPLY_AND_COMMIT = 5000;
const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;
const ALARM_NAMES = ['NONE', 'NOSPACE', 'CORRUPT'];
/** How long a lease request on the leader waits for the committed entries to be applied (etcd). */
const APPLY_WAIT_MS = 1000;

export interface HealthResult {
  health: boolean;
  reason: string;
}

export class EtcdServer implements LeaseLocal {
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
  /** Auth: the store, token checks of requests and auth proposals (authGate.ts). */
  readonly auth: AuthGate;
  private readonly authApplier: AuthApplier;
  private readonly wait = new Wait<ApplyResult>();
  /** Where proposal payloads live while the raft log holds them. */
  private readonly entryArena = new Arena();
  // One sweep expires proposals still waiting after --request-timeout (set up in the constructor).
  private readonly proposeDeadlines: DeadlineQueue;
  readonly appliedWait = new WaitIndex();
  private readonly reads: ReadIndexBatcher;
  private readonly idGen: IdGenerator;
  private readonly compactor: Compactor;
  /** Sessions to other members' peer URLs for lease forwarding and HashKV checks. */
  /** Sessions to other members' peer URLs (lease forwarding, HashKV, promotion forwarding). */
  readonly peerSessions: PeerSessions;
  private readonly leaseClient: LeaseClient;
  private readonly corruption: CorruptionChecker;
  private readonly downgrades = new maintenance.Downgrades();
  /** This member's Prometheus registry (served on /metrics). */
  readonly metrics: EtcdMetrics;
  private readonly applyMetrics: ApplyMetrics;

  appliedIndex = 0;
  private snapshotIndex = 0;
  private confState: ConfState = emptyConfState();
  private lead: bigint = None;
  /** When the current leader was elected (ms); a proposal made shortly before it may have been lost. */
  private leadElectedAt = 0;
  private fastCampaign = false;
  private started = false;
  private stopping = false;
  private raftStopped = false;
  /** Proposals of the server's own (publish, lease expiry, checkpoints, alarms) in flight. */
  private internalPending = 0;
  private stopped: Promise<void> | null = null;
  private fatal: Error | null = null;
  private timers: NodeJS.Timeout[] = [];
  private quotaBytes: number;
  private dbSize = 0;
  /** Resolves when the server stopped on its own (removed, fatal error). */
  readonly done: Promise<void>;
  /** Set when this member stopped because it was removed from the cluster (a clean exit, as etcd's). */
  removed = false;
  private resolveDone!: () => void;

  private constructor(cfg: ServerConfig, b: Bootstrapped) {
    this.cfg = cfg;
    this.proposeDeadlines = new DeadlineQueue(cfg.requestTimeoutMs, (id, start) => this.proposalExpired(id, start));
    this.lg = cfg.logger;
    this.b = b;
    this.peerSessions = new PeerSessions(cfg.peerTls);
    this.leaseClient = new LeaseClient(this.peerSessions);
    this.corruption = new CorruptionChecker(this, new HashKVClient(this.peerSessions));
    this.id = b.id;
    this.cluster = b.cluster;
    this.backend = b.backend;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.idGen = new IdGenerator(this.id);
    this.quotaBytes = cfg.quotaBackendBytes > 0 ? cfg.quotaBackendBytes : DEFAULT_QUOTA_BYTES;
    this.metrics = cfg.metrics ?? createEtcdMetrics();
    this.applyMetrics = new ApplyMetrics(this.metrics, cfg.warningApplyDurationMs ?? 100, (op, ms, limitMs) =>
      this.lg.warn({ took: goDurationOf(ms), 'expected-duration': goDurationOf(limitMs), prefix: '', request: op }, 'apply request took too long'),
    );

    this.lessor = new Lessor(this.backend.batchTx, {
      minLeaseTtl: minLeaseTtl(cfg.electionMs, cfg.heartbeatMs),
      metrics: this.metrics.lease,
      log: (level, msg) => (level === 'warn' ? this.lg.warn({}, msg) : level === 'error' ? this.lg.error({}, msg) : this.lg.debug({}, msg)),
    });
    this.kv = new WatchableStore(this.backend, this.lessor, {
      log: (msg) => this.lg.info({}, msg),
      compactionBatchLimit: cfg.compactionBatchLimit,
    });
    this.lessor.setRangeDeleter(() => this.kv.write());
    // As etcd 3.4: remaining TTLs are checkpointed only with --experimental-enable-lease-checkpoint.
    if (cfg.enableLeaseCheckpoint === true) {
      this.lessor.setCheckpointer((cps) =>
        this.internal(() => this.propose({ leaseCheckpoint: { checkpoints: cps.map((c) => ({ ID: c.id, remainingTTL: c.remainingTtl })) } })),
      );
    }
    this.alarms = new AlarmStore(this.backend);
    this.applier = new Applier(this.kv, this.lessor, this.alarms, this.cluster, this);
    this.auth = this.newAuthGate();
    this.authApplier = new AuthApplier(this.auth.store, this.applier, this.lessor, this);

    const ci = this.backend.consistentIndex();
    if (b.snapshot !== null) {
      this.snapshotIndex = b.snapshot.metadata.index;
      this.confState = b.snapshot.metadata.confState;
      this.appliedIndex = b.snapshot.metadata.index;
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
    this.reads = new ReadIndexBatcher(this.node, this.appliedWait, cfg.requestTimeoutMs, () => this.idGen.nextFull());
    this.compactor = new Compactor(this, cfg.autoCompactionMode, cfg.autoCompactionRetention, this.lg);
    installServerCollectors(this, this.metrics, { proposalsPending: () => this.wait.size, quotaBytes: () => this.quotaBytes });
  }

  /** Bootstraps from the data dir (new member or restart); call start() next. */
  static async create(cfg: ServerConfig): Promise<EtcdServer> {
    // Before bootstrap: the WAL and backend it opens record their fsyncs and commits.
    if (cfg.metrics === undefined) cfg = { ...cfg, metrics: createEtcdMetrics() };
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

  /** The election timeout raft runs with (etcd: TickMs × ElectionTicks). */
  get electionTimeoutMs(): number {
    return electionTicks(this.cfg) * this.cfg.heartbeatMs;
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
    this.corruption.start(this.cfg.corruptCheckTimeMs ?? 0);
    this.refreshDbSize();
    this.timers.push(setInterval(() => this.revokeExpiredLeases(), 100));
    this.timers.push(setInterval(() => this.refreshDbSize(), 1000));
    for (const t of this.timers) t.unref();
    // A single voter need not wait an election timeout to lead (etcd fast-forwards its ticks):
    // it campaigns once the membership entries are applied (see afterApply).
    this.fastCampaign = this.cluster.memberList().length <= 1;
    if (this.fastCampaign) this.maybeCampaign();
    else if (this.cfg.initialElectionTickAdvance !== false) void this.advanceTicksOnPeers();
    else this.lg.info({ 'election-ticks': electionTicks(this.cfg) }, 'skipping initial election tick advance');
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
      if (ss.lead !== None) {
        this.metrics.server.leaderChanges.inc();
        this.leadElectedAt = Date.now();
        this.lg.info({ 'local-member-id': this.id.toString(16), leader: ss.lead.toString(16) }, 'leader changed');
      }
    }
    const wasLeader = this.isLeader();
    this.lead = ss.lead;
    if (wasLeader && ss.raftState !== StateType.StateLeader) this.lessor.demote();
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
        if (e.data.length === 0) {
          // The empty entry a new leader appends: once it is applied, so is everything of earlier
          // terms, and the lessor can take over expiry (etcd promotes here, not on election).
          if (e.term === this.r.hardState.term && this.isLeader()) this.lessor.promote(this.cfg.electionMs);
          if (shouldApply) this.backend.setConsistentIndex(e.index, e.term);
        } else if (shouldApply) {
          const req = decodeInternalRaftRequest(e.data);
          const t0 = performance.now();
          const res = this.authApplier.apply(req, e.index);
          this.applyMetrics.observe(req, res, (performance.now() - t0) / 1000);
          this.backend.setConsistentIndex(e.index, e.term);
          if (req.idPrefix === this.idGen.prefix) this.wait.trigger(req.id, res);
        }
      } else if (e.type === EntryType.EntryConfChange) {
        this.applyConfChange(decodeConfChange(e.data), shouldApply);
        if (shouldApply) this.backend.setConsistentIndex(e.index, e.term);
      } else {
        // ConfChangeV2 is not proposed by this server; hand it to raft so the log stays usable.
        this.lg.warn({ index: e.index }, 'ignoring ConfChangeV2 entry');
      }
      this.appliedIndex = e.index;
    }
    this.appliedWait.trigger(this.appliedIndex);
  }

  private applyConfChange(cc: ConfChange, shouldApply: boolean): void {
    // Validation, raft, membership and peers: membership/confChange.ts.
    const applyToRaft = (c: ConfChange) => this.node.applyConfChange(c);
    const deps = { id: this.id, cluster: this.cluster, transport: this.transport, lg: this.lg, applyToRaft };
    const out = applyMembershipConfChange(deps, cc, shouldApply);
    this.confState = out.confState;
    this.triggerConfChange(cc, { resp: out.err === null ? this.cluster.memberList() : null, err: out.err });
    if (out.removedSelf) {
      this.removed = true;
      this.lg.warn({ 'local-member-id': this.id.toString(16) }, 'the member has been permanently removed from the cluster');
      setImmediate(() => void this.stop());
    }
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
    this.auth.store.recover(be.batchTx);
    this.cluster.setBackend(be);
    this.cluster.reload();
    if (this.transport !== null) {
      for (const m of this.cluster.memberList()) {
        if (m.id !== this.id && !this.transport.hasPeer(m.id)) this.transport.addPeer(m.id, m.peerURLs);
      }
    }
    this.appliedIndex = index;
    this.snapshotIndex = index;
    this.confState = snap.metadata.confState;
    this.appliedWait.trigger(index);
    this.lg.info({ 'snapshot-index': index }, 'applied snapshot');
  }

  private async afterApply(): Promise<void> {
    if (this.fastCampaign) this.maybeCampaign();
    if (this.appliedIndex - this.snapshotIndex > this.cfg.snapshotCount) await this.triggerSnapshot();
  }

  private maybeCampaign(): void {
    const r = this.node.rn.raft;
    if (r.state !== StateType.StateFollower || this.appliedIndex < r.raftLog.committed) return;
    this.fastCampaign = false;
    const voters = r.trk.config.voters.ids();
    if (voters.size === 1 && voters.has(this.id)) this.node.campaign();
  }

  /**
   * etcd's adjustTicks for several members: once streams to more than one peer are up (checked
   * every 50 ms for up to 5 s), skip all but two ticks of the first election timeout, so a fresh
   * cluster elects quickly while a leader's heartbeat still has time to arrive first.
   */
  private async advanceTicksOnPeers(): Promise<void> {
    const t = this.transport;
    if (t === null) return;
    for (let i = 0; i < 100 && !this.stopping; i++) {
      await new Promise((r) => setTimeout(r, 50).unref());
      let active = 0;
      for (const m of this.cluster.memberList()) if (m.id !== this.id && t.activeSince(m.id) > 0) active++;
      if (active > 1) {
        if (this.lead === None && !this.stopping) this.r.advanceTicks(electionTicks(this.cfg) - 2);
        return;
      }
    }
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
    // Messages still count while stop() drains proposals in flight; only a stopped raft loop drops them.
    if (this.raftStopped) return;
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

  /** The auth store over the backend, with the token provider --auth-token names. */
  private newAuthGate(): AuthGate {
    const tp = newTokenProvider(this.cfg.authToken ?? 'simple', {
      indexWaiter: (i) => (i <= this.appliedIndex ? undefined : this.appliedWait.wait(i)),
      simpleTokenTtlMs: this.cfg.authTokenTtlMs,
      log: (msg) => this.lg.info({}, msg),
    });
    const log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => this.lg[level]({}, msg);
    const store = new AuthStore(this.backend.batchTx, tp, { bcryptCost: this.cfg.bcryptCost, log });
    return new AuthGate(store, { propose: (b, c) => this.propose(b, c), linearizableReadNotify: () => this.linearizableReadNotify(), lessor: this.lessor }, this.lg);
  }

  /** Proposes a request and resolves with its apply result (etcd's processInternalRaftRequestOnce). */
  // Not async: the put path is hot, so it returns the waiter's promise directly instead of
  // chaining awaits (one less promise and microtask hop per request).
  private propose(body: Omit<InternalRaftRequest, 'idPrefix' | 'id'>, ctx?: AuthContext): Promise<unknown> {
    if (this.stopping) return Promise.reject(ErrStopped);
    const stamped = this.auth.stamp(body, ctx);
    if (stamped !== undefined) return stamped.then(() => this.proposeStamped(body));
    return this.proposeStamped(body);
  }

  private proposeStamped(body: Omit<InternalRaftRequest, 'idPrefix' | 'id'>): Promise<unknown> {
    const committed = this.node.rn.raft.raftLog.committed;
    if (committed > this.appliedIndex + MAX_GAP_BETWEEN_APPLY_AND_COMMIT) return Promise.reject(ErrTooManyRequests);
    const req = body as InternalRaftRequest;
    req.idPrefix = this.idGen.prefix;
    req.id = this.idGen.next();
    let data: Uint8Array;
    try {
      // The log keeps the payload until the next snapshot: a tightly packed copy (see Arena).
      data = this.entryArena.copy(encodeInternalRaftRequest(req));
    } catch (err) {
      return Promise.reject(err);
    }
    if (data.length > this.cfg.maxRequestBytes) return Promise.reject(ErrRequestTooLarge);
    const id = req.id;
    const result = this.wait.register(id);
    this.proposeDeadlines.add(id);
    // A refused proposal settles its own waiter, so the caller only ever awaits `result`.
    this.node.propose(data).then(undefined, (err: Error) => {
      this.metrics.server.proposalsFailed.inc();
      this.wait.trigger(id, { resp: null, err: this.stopping ? ErrStopped : err });
    });
    if (req.compaction?.physical) return result.then(unwrapPhysical);
    return result.then(unwrapResult);
  }

  private proposalExpired(id: number, start: number): void {
    if (!this.wait.isRegistered(id)) return;
    this.metrics.server.proposalsFailed.inc();
    this.wait.trigger(id, { resp: null, err: this.timeoutError(start) });
  }

  /**
   * Why a proposal made at `start` timed out (etcd's parseProposeCtxErr): made within two election
   * timeouts before the current leader was elected, it was probably lost with the old leader.
   */
  private timeoutError(start: number): Error {
    const elected = this.leadElectedAt;
    if (start < elected && start > elected - 2 * this.cfg.electionMs) return ErrTimeoutDueToLeaderFail;
    if (this.lead === None) return ErrNoLeader;
    return ErrTimeout;
  }

  private checkQuota(cost: number): void {
    if (this.dbSize + cost <= this.quotaBytes) return;
    if (!this.alarms.has(AlarmType.NOSPACE)) {
      this.lg.warn({ 'quota-size-bytes': this.quotaBytes, 'db-size': this.dbSize }, 'database space exceeded');
      void this.internal(() => this.propose({ alarm: { action: AlarmAction.ACTIVATE, memberID: this.id, alarm: AlarmType.NOSPACE } })).catch(() => {});
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

  async range(r: RangeRequest, ctx?: AuthContext): Promise<RangeResponse> {
    if (!r.serializable) await this.linearizableReadNotify();
    else if (this.stopping) throw ErrStopped;
    if (!this.auth.store.isAuthEnabled()) return this.applier.range(r);
    return this.auth.serialize(ctx, (ai) => this.auth.store.isRangePermitted(ai, r.key, r.rangeEnd), () => this.applier.range(r));
  }

  put(r: PutRequest, ctx?: AuthContext): Promise<PutResponse> {
    this.checkQuota(r.key.length + (r.value?.length ?? 0));
    return this.propose({ put: r }, ctx) as Promise<PutResponse>;
  }

  deleteRange(r: DeleteRangeRequest, ctx?: AuthContext): Promise<DeleteRangeResponse> {
    return this.propose({ deleteRange: r }, ctx) as Promise<DeleteRangeResponse>;
  }

  async txn(r: TxnRequest, ctx?: AuthContext): Promise<TxnResponse> {
    if (isTxnReadOnly(r)) {
      if (!isTxnSerializable(r)) await this.linearizableReadNotify();
      if (!this.auth.store.isAuthEnabled()) return this.applier.readTxn(r);
      return this.auth.serialize(ctx, (ai) => checkTxnAuth(this.auth.store, ai, r), () => this.applier.readTxn(r));
    }
    this.checkQuota(txnCost(r));
    return this.propose({ txn: r }, ctx) as Promise<TxnResponse>;
  }

  compact(r: CompactionRequest, ctx?: AuthContext): Promise<CompactionResponse> {
    return this.propose({ compaction: r }, ctx) as Promise<CompactionResponse>;
  }

  async leaseGrant(r: LeaseGrantRequest, ctx?: AuthContext): Promise<LeaseGrantResponse> {
    this.checkQuota(64);
    let id = r.ID ?? 0n;
    // No ID given: a random positive int64 from the request ID generator, as etcd does.
    while (id === 0n) id = this.idGen.nextFull() & 0x7fff_ffff_ffff_ffffn;
    await this.auth.requireAuthInfo(ctx);
    return this.propose({ leaseGrant: { TTL: r.TTL, ID: id } }, ctx) as Promise<LeaseGrantResponse>;
  }

  async leaseRevoke(r: LeaseRevokeRequest, ctx?: AuthContext): Promise<LeaseRevokeResponse> {
    if (ctx !== ROOT_CONTEXT) await this.auth.requireAuthInfo(ctx);
    return this.propose({ leaseRevoke: r }, ctx) as Promise<LeaseRevokeResponse>;
  }

  /**
   * Renews a lease; resolves with its TTL. Only the leader's lessor renews: a follower (or a
   * leader not yet promoted) forwards to the leader's peer listener, retrying until the request
   * timeout. Throws ErrLeaseNotFound, ErrNoLeader or ErrTimeout.
   */
  async leaseRenew(id: bigint, ctx?: AuthContext): Promise<number> {
    if (this.stopping) throw ErrStopped;
    await this.auth.checkLeaseKeys(ctx, [id], true);
    if (this.isLeader()) {
      try {
        return await this.renewLocal(id);
      } catch (err) {
        if (err !== ErrNotPrimary) throw err;
      }
    }
    return this.forwardToLeader(
      () => this.renewLocal(id),
      (url, ms) => this.leaseClient.renew(url, id, ms),
    );
  }

  async leaseTimeToLive(r: LeaseTimeToLiveRequest, ctx?: AuthContext): Promise<LeaseTimeToLiveResponse> {
    if (this.stopping) throw ErrStopped;
    const keys = r.keys ?? false;
    await this.auth.requireAuthInfo(ctx);
    if (keys) await this.auth.checkLeaseKeys(ctx, [r.ID], false);
    const t = this.isLeader()
      ? await this.timeToLiveLocal(r.ID, keys)
      : await this.forwardToLeader(
          () => this.timeToLiveLocal(r.ID, keys),
          (url, ms) => this.leaseClient.timeToLive(url, r.ID, keys, ms),
        );
    return {
      header: this.header(),
      ID: r.ID,
      TTL: t.ttl,
      grantedTTL: t.grantedTtl,
      keys: t.keys.map((k) => Buffer.from(k.buffer, k.byteOffset, k.byteLength)),
    };
  }

  /** LeaseLocal: renews on this member's lessor once it applied what is committed. */
  async renewLocal(id: bigint): Promise<number> {
    await this.waitAppliedIndex();
    return this.lessor.renew(id);
  }

  /** LeaseLocal: the lease as this member's lessor sees it. */
  async timeToLiveLocal(id: bigint, keys: boolean): Promise<LeaseTtl> {
    await this.waitAppliedIndex();
    const t = this.lessor.timeToLive(id, keys);
    return { ttl: t.ttl, grantedTtl: t.grantedTtl, keys: t.keys };
  }

  /**
   * Runs a lease request on the leader (etcd sends renewals outside raft): locally when this
   * member leads, else over HTTP to each of the leader's peer URLs, retrying every 50 ms until the
   * request timeout. ErrLeaseNotFound ends the retries.
   */
  private async forwardToLeader<T>(local: () => Promise<T>, remote: (peerUrl: string, timeoutMs: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.cfg.requestTimeoutMs;
    while (!this.stopping) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const lead = this.lead;
      const leader = lead === None ? undefined : this.cluster.member(lead);
      try {
        if (lead === this.id) return await local();
        // One attempt may not use the whole budget: a leader gone silent must not hold up retries.
        const attemptMs = Math.min(left, 1000 + 2 * this.cfg.electionMs);
        for (const url of leader?.peerURLs ?? []) {
          try {
            return await remote(url, attemptMs);
          } catch (err) {
            if (err === ErrLeaseNotFound) throw err;
          }
        }
      } catch (err) {
        if (err === ErrLeaseNotFound) throw err;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (this.stopping) throw ErrStopped;
    throw this.lead === None ? ErrNoLeader : ErrTimeout;
  }

  /** Waits until everything committed when called is applied (etcd's waitAppliedIndex, 1 s). */
  private async waitAppliedIndex(): Promise<void> {
    const committed = this.node.rn.raft.raftLog.committed;
    if (this.appliedIndex >= committed) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(ErrTimeoutWaitAppliedIndex), APPLY_WAIT_MS);
    });
    try {
      await Promise.race([this.appliedWait.wait(committed), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Serves what the peer listener does not route to raft: lease forwarding, /members, /version. */
  servePeer(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean {
    return serveLeaseHttp(this, stream, headers) || servePeerInfo(this, stream, headers) || serveHashKV(this, stream, headers) ||
      servePromoteHttp(this, stream, headers);
  }

  async leaseLeases(ctx?: AuthContext): Promise<LeaseLeasesResponse> {
    await this.auth.checkLeaseKeys(ctx, null, false);
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
  watchStream(ctx?: AuthContext): AuthWatchStream {
    if (this.stopping) throw ErrStopped;
    return this.auth.guardWatch(new ServerWatchStream(this.kv.newWatchStream()), ctx);
  }

  versions(): { server: string; cluster: string } {
    return { server: SERVER_VERSION, cluster: CLUSTER_VERSION };
  }

  // ---- maintenance (logic in maintenance.ts and corrupt.ts) ----

  /** --experimental-initial-corrupt-check: compare hashes with peers before start(); throws on a mismatch. */
  async checkInitialHashKV(): Promise<void> {
    if (this.cfg.initialCorruptCheck) await this.corruption.initialCheck();
  }

  async defragment(): Promise<void> {
    await maintenance.defragment(this);
    this.refreshDbSize();
  }

  snapshot(): Promise<maintenance.SnapshotSource> {
    return maintenance.snapshot(this);
  }

  hash(): Promise<maintenance.HashResponse> {
    return maintenance.hash(this);
  }

  moveLeader(transferee: bigint, timeoutMs?: number): Promise<void> {
    return maintenance.moveLeader(this, transferee, timeoutMs);
  }

  downgrade(r: maintenance.DowngradeRequest): Promise<maintenance.DowngradeResponse> {
    return this.downgrades.downgrade(this, r);
  }

  async hashKV(revision: number, ctx?: AuthContext): Promise<HashKVResponse> {
    await this.auth.checkAdmin(ctx);
    const { hash, currentRev } = this.kv.hashByRev(revision);
    return { header: this.header(currentRev), hash: hash.hash, compactRevision: hash.compactRevision };
  }

  async memberList(linearizable = false): Promise<MemberListResponse> {
    if (linearizable) await this.linearizableReadNotify();
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

  // ---- membership requests (logic and safety checks in membership/reconfig.ts) ----

  async memberAdd(r: { peerURLs: string[]; isLearner: boolean }, ctx?: AuthContext): Promise<reconfig.PbMemberList & { member: Member }> {
    await this.auth.checkAdmin(ctx);
    return reconfig.memberAdd(this, r.peerURLs, r.isLearner);
  }

  async memberRemove(r: { ID: bigint }, ctx?: AuthContext): Promise<reconfig.PbMemberList> {
    await this.auth.checkAdmin(ctx);
    return reconfig.memberRemove(this, r.ID);
  }

  async memberUpdate(r: { ID: bigint; peerURLs: string[] }, ctx?: AuthContext): Promise<reconfig.PbMemberList> {
    await this.auth.checkAdmin(ctx);
    return reconfig.memberUpdate(this, r.ID, r.peerURLs);
  }

  async memberPromote(r: { ID: bigint }, ctx?: AuthContext): Promise<reconfig.PbMemberList> {
    await this.auth.checkAdmin(ctx);
    return reconfig.memberPromote(this, r.ID, () => this.stopping);
  }

  /** A promotion forwarded by another member (this one should be the leader). */
  promoteLocal(id: bigint): ReturnType<typeof reconfig.promoteLocal> {
    return reconfig.promoteLocal(this, id);
  }

  /** Learners serve only serializable reads and Status (the API layer refuses the rest). */
  isLearner(): boolean {
    return this.cluster.isLocalMemberLearner();
  }

  /** Proposes a conf change; resolves with the members once it is applied (etcd's configure). */
  async configure(cc: ConfChange): Promise<ReturnType<RaftCluster['memberList']>> {
    if (this.stopping) throw ErrStopped;
    cc.id = this.idGen.nextFull();
    const id = Number(cc.id & 0xffff_ffff_ffffn);
    const result = this.wait.register(id);
    const start = Date.now();
    const timer = setTimeout(() => this.wait.trigger(id, { resp: null, err: this.timeoutError(start) }), this.cfg.requestTimeoutMs);
    try {
      await this.node.proposeConfChange(cc);
    } catch (err) {
      clearTimeout(timer);
      this.wait.trigger(id, { resp: null, err: err as Error });
      throw this.stopping ? ErrStopped : err;
    }
    const res = await result;
    clearTimeout(timer);
    if (res.err !== null) throw res.err;
    // Let raft advance past the change first, or a next change could find it still pending.
    await new Promise((r) => setImmediate(r));
    this.lg.info(
      { 'local-member-id': this.id.toString(16), 'raft-conf-change': ConfChangeType[cc.type], 'raft-conf-change-node-id': cc.nodeId.toString(16) },
      'applied a configuration change through raft',
    );
    return res.resp as ReturnType<RaftCluster['memberList']>;
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
    const h = await this.checkHealth(serializable);
    (h.health ? this.metrics.server.healthSuccess : this.metrics.server.healthFailures).inc();
    return h;
  }

  private async checkHealth(serializable: boolean): Promise<HealthResult> {
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
        this.internal(() => this.leaseRevoke({ ID: l.id }, ROOT_CONTEXT)).then(
          () => {
            this.metrics.server.leaseExpired.inc();
            this.lg.debug({ 'lease-id': l.id.toString(16) }, 'revoked expired lease');
          },
          (err: Error) => {
            if (err !== ErrLeaseNotFound && err !== ErrStopped) {
              this.lg.warn({ 'lease-id': l.id.toString(16), error: err.message }, 'failed to revoke lease');
            }
          },
        );
      }
    }
  }

  /** Runs a proposal of the server's own: stop() does not wait for it to be applied. */
  private async internal<T>(propose: () => Promise<T>): Promise<T> {
    this.internalPending++;
    try {
      return await propose();
    } finally {
      this.internalPending--;
    }
  }

  /** Publishes this member's name and client URLs through raft (etcd's publishV3), retrying. */
  private async publish(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.internal(() =>
          this.propose({ memberAttrSet: { memberID: this.id, name: this.cfg.name, clientUrls: this.cfg.clientUrls } }),
        );
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
    await this.corruption.stop();
    const deadline = Date.now() + this.cfg.requestTimeoutMs;
    // Client proposals get to finish; the server's own ones are simply abandoned.
    while (this.wait.size > this.internalPending && Date.now() < deadline && this.fatal === null && this.started) {
      await new Promise((r) => setTimeout(r, 5));
    }
    this.reads.stop();
    this.raftStopped = true;
    await this.r.stop();
    this.wait.triggerAll({ resp: null, err: ErrStopped });
    this.proposeDeadlines.stop();
    this.appliedWait.releaseAll();
    this.lessor.stop();
    this.peerSessions.close();
    if (this.transport !== null) await this.transport.stop().catch(() => {});
    this.kv.close();
    this.auth.store.close();
    await this.kv.settle().catch(() => {});
    await this.backend.close().catch((err: Error) => this.lg.error({ error: err.message }, 'failed to close backend'));
    await this.b.wal.close().catch((err: Error) => this.lg.error({ error: err.message }, 'failed to close WAL'));
    this.lg.info({ 'local-member-id': this.id.toString(16) }, 'stopped etcd server');
    this.resolveDone();
  }
}

function unwrapResult(res: ApplyResult): unknown {
  if (res.err !== null) throw res.err;
  return res.resp;
}

/** A physical compaction answers only once the old revisions are gone from the backend. */
function unwrapPhysical(res: ApplyResult): unknown {
  if (res.err !== null) throw res.err;
  if (res.physc === undefined) return res.resp;
  return res.physc.then(() => res.resp);
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
