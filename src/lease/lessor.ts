// The lessor (etcd's server/lease/lessor.go): grants, revokes, renews and checkpoints leases and
// keeps the key -> lease map the MVCC store maintains through attach/detach.
//
// Only the primary lessor (the one on the raft leader, see promote/demote) tracks expiries: it
// offers expired leases in batches on expiredLeases() for the server to revoke through raft, and
// schedules checkpoints of remaining TTLs through the Checkpointer so a new leader does not restart
// every lease at its full TTL. Leases are persisted in the `lease` bucket as leasepb.Lease; the
// attached keys are not stored, MVCC re-attaches them when it restores.
//
// All methods are synchronous except renew(), which waits for a pending revoke of an expired
// lease. Time comes from the injected clock; start() runs the revoke/checkpoint loop every 500 ms
// (runOnce() does one round, for tests).

import type { BatchTx } from '../storage/backend/backend.js';
import { Bucket } from '../storage/backend/buckets.js';
import { BatchQueue } from './batchQueue.js';
import { ErrLeaseExists, ErrLeaseNotFound, ErrLeaseTTLTooLarge, ErrNotPrimary } from './errors.js';
import { Lease, NO_LEASE } from './lease.js';
import { LeaseExpiredNotifier, LeaseQueue } from './leaseQueue.js';
import { decodeLease, encodeLease, leaseIdKey } from './leasepb.js';

/** The largest TTL a lease can be granted, in seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;

const DEFAULT_CHECKPOINT_INTERVAL_MS = 5 * 60 * 1000;
const DEFAULT_EXPIRED_RETRY_INTERVAL_MS = 3000;
const DEFAULT_REVOKE_RATE = 1000;
const DEFAULT_CHECKPOINT_RATE = 1000;
const DEFAULT_MAX_CHECKPOINT_BATCH = 1000;
const LOOP_INTERVAL_MS = 500;
const EXPIRED_QUEUE_CAPACITY = 16;

/** A write transaction that only deletes (etcd's TxnDelete); the server wires it to MVCC. */
export interface TxnDelete {
  deleteRange(key: Uint8Array, end: Uint8Array | null): unknown;
  end(): void;
}

/** Opens a TxnDelete whose deletes all happen in one revision. */
export type RangeDeleter = () => TxnDelete;

export interface LeaseCheckpoint {
  id: bigint;
  /** Seconds; 0 clears a checkpoint. */
  remainingTtl: number;
}

/** Proposes checkpoints to raft (etcd's Checkpointer); renew() awaits a returned promise. */
export type Checkpointer = (checkpoints: LeaseCheckpoint[]) => void | Promise<unknown>;

/** What the lessor needs of the backend. */
export type LeaseBackend = Pick<BatchTx, 'put' | 'delete' | 'forEach'>;

export type LessorLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;

export interface LessorConfig {
  /** Shortest TTL granted, in seconds; shorter requests are extended (see minLeaseTtl()). */
  minLeaseTtl: number;
  /** Time between checkpoints of a lease (etcd --lease-checkpoint-interval); default 5 min. */
  checkpointIntervalMs?: number;
  /** How long an expired lease waits before it is offered again; default 3 s. */
  expiredLeasesRetryIntervalMs?: number;
  /** Persist checkpointed remaining TTLs (always on in etcd 3.6); default true. */
  checkpointPersist?: boolean;
  /** Maximum leases revoked per second; default 1000. */
  leaseRevokeRate?: number;
  /** Maximum checkpoints proposed per second; default 1000. */
  leaseCheckpointRate?: number;
  /** Maximum checkpoints in one proposal; default 1000. */
  maxCheckpointBatchSize?: number;
  /** Milliseconds clock; default Date.now. */
  now?: () => number;
  log?: LessorLog;
  metrics?: LessorMetrics;
}

/** What the lessor records (the server passes its Prometheus lease metrics). */
export interface LessorMetrics {
  granted: { inc(): void };
  revoked: { inc(): void };
  renewed: { inc(): void };
  /** Granted TTLs, in seconds. */
  ttl: { observe(v: number): void };
}

/**
 * etcd's minimum lease TTL: 1.5 election timeouts, as whole heartbeats, rounded up to seconds
 * (`(3*electionTicks)/2 * heartbeat`, electionTicks = election timeout / heartbeat interval).
 */
export function minLeaseTtl(electionTimeoutMs: number, heartbeatMs: number): number {
  const electionTicks = Math.trunc(electionTimeoutMs / heartbeatMs);
  const minMs = Math.trunc((3 * electionTicks) / 2) * heartbeatMs;
  return Math.ceil(minMs / 1000);
}

export interface LeaseTimeToLive {
  id: bigint;
  /** Remaining seconds (truncated). */
  ttl: number;
  grantedTtl: number;
  keys: Uint8Array[];
}

export class Lessor {
  private leaseMap = new Map<bigint, Lease>();
  private itemMap = new Map<string, bigint>();
  private readonly expiredNotifier = new LeaseExpiredNotifier();
  private readonly checkpointHeap = new LeaseQueue();
  private readonly expiredQ = new BatchQueue<Lease>(EXPIRED_QUEUE_CAPACITY);

  private be: LeaseBackend;
  private rd: RangeDeleter | null = null;
  private cp: Checkpointer | null = null;

  readonly minLeaseTtl: number;
  private readonly checkpointIntervalMs: number;
  private readonly expiredRetryMs: number;
  private readonly checkpointPersist: boolean;
  private readonly revokeRate: number;
  private readonly checkpointRate: number;
  private readonly maxCheckpointBatch: number;
  private readonly now: () => number;
  private readonly log: LessorLog;
  private readonly metrics: LessorMetrics | undefined;

  private primary = false;
  /** Wakes renewals waiting on an expired lease when this lessor is demoted or stopped. */
  private demoteWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(be: LeaseBackend, cfg: LessorConfig) {
    this.be = be;
    this.minLeaseTtl = cfg.minLeaseTtl;
    this.checkpointIntervalMs = cfg.checkpointIntervalMs || DEFAULT_CHECKPOINT_INTERVAL_MS;
    this.expiredRetryMs = cfg.expiredLeasesRetryIntervalMs || DEFAULT_EXPIRED_RETRY_INTERVAL_MS;
    this.checkpointPersist = cfg.checkpointPersist ?? true;
    this.revokeRate = cfg.leaseRevokeRate ?? DEFAULT_REVOKE_RATE;
    this.checkpointRate = cfg.leaseCheckpointRate ?? DEFAULT_CHECKPOINT_RATE;
    this.maxCheckpointBatch = cfg.maxCheckpointBatchSize ?? DEFAULT_MAX_CHECKPOINT_BATCH;
    this.now = cfg.now ?? Date.now;
    this.log = cfg.log ?? (() => {});
    this.metrics = cfg.metrics;
    this.initAndRecover();
  }

  setRangeDeleter(rd: RangeDeleter | null): void {
    this.rd = rd;
  }

  setCheckpointer(cp: Checkpointer | null): void {
    this.cp = cp;
  }

  isPrimary(): boolean {
    return this.primary;
  }

  // ---- lifecycle ----

  /** Starts the loop that offers expired leases and proposes due checkpoints. */
  start(): void {
    if (this.timer !== null || this.stopped) return;
    this.timer = setInterval(() => this.runOnce(), LOOP_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.wakeDemoteWaiters();
  }

  /** One round of the loop: offer expired leases, propose due checkpoints. */
  runOnce(): void {
    this.revokeExpiredLeases();
    this.checkpointScheduledLeases();
  }

  /** Batches of expired leases for the server to revoke (etcd's ExpiredLeasesC). */
  expiredLeases(): BatchQueue<Lease> {
    return this.expiredQ;
  }

  // ---- grant, revoke, renew, checkpoint ----

  grant(id: bigint, ttl: number): Lease {
    if (id === NO_LEASE) throw ErrLeaseNotFound;
    if (ttl > MAX_LEASE_TTL) throw ErrLeaseTTLTooLarge;
    if (this.leaseMap.has(id)) throw ErrLeaseExists;
    const l = new Lease(id, Math.max(ttl, this.minLeaseTtl), 0, this.now);
    if (this.primary) l.refresh(0);
    else l.forever();
    this.leaseMap.set(id, l);
    this.persist(l);
    if (this.primary) {
      this.expiredNotifier.registerOrUpdate(l.id, l.expiry);
      this.scheduleCheckpointIfNeeded(l);
    }
    if (this.metrics !== undefined) {
      this.metrics.granted.inc();
      this.metrics.ttl.observe(l.ttl);
    }
    return l;
  }

  /**
   * Deletes the lease's keys in one MVCC revision and removes the lease; the lease record is
   * deleted in the same synchronous run, hence in the same backend batch as the key deletions.
   * The lease stays registered while its keys are deleted so MVCC's detach calls find it.
   */
  revoke(id: bigint): void {
    const l = this.leaseMap.get(id);
    if (l === undefined) throw ErrLeaseNotFound;
    // Sorted, so every member deletes in the same order and their backend hashes agree.
    const keys = l.sortedKeys();
    const txn = this.rd !== null ? this.rd() : null;
    if (txn !== null) for (const k of keys) txn.deleteRange(k, null);
    this.leaseMap.delete(id);
    for (const skey of l.items.keys()) if (this.itemMap.get(skey) === id) this.itemMap.delete(skey);
    this.be.delete(Bucket.Lease, leaseIdKey(id));
    if (txn !== null) txn.end();
    l.markRevoked();
    this.metrics?.revoked.inc();
  }

  /** Records a checkpointed remaining TTL (applied from raft on every member). */
  checkpoint(id: bigint, remainingTtl: number): void {
    const l = this.leaseMap.get(id);
    if (l === undefined) return;
    // Only the remaining TTL changes; promote() applies it to the expiry.
    l.remainingTtl = remainingTtl;
    if (this.checkpointPersist) this.persist(l);
    if (this.primary) this.scheduleCheckpointIfNeeded(l);
  }

  /**
   * Renews a lease to its full TTL and returns the TTL. Only the primary renews (ErrNotPrimary
   * otherwise). An expired lease may be on its way to revocation: wait for that to finish.
   */
  async renew(id: bigint): Promise<number> {
    if (!this.primary) throw ErrNotPrimary;
    const l = this.leaseMap.get(id);
    if (l === undefined) throw ErrLeaseNotFound;
    const clearRemainingTtl = this.cp !== null && l.remainingTtl > 0;
    if (l.expired()) {
      let wake: () => void = () => {};
      const demoted = new Promise<'demoted'>((resolve) => {
        wake = () => resolve('demoted');
        this.demoteWaiters.push(wake);
      });
      const outcome = await Promise.race([l.waitRevoked().then(() => 'revoked' as const), demoted]);
      const i = this.demoteWaiters.indexOf(wake);
      if (i >= 0) this.demoteWaiters.splice(i, 1);
      throw outcome === 'revoked' ? ErrLeaseNotFound : ErrNotPrimary;
    }
    // Clearing a set checkpoint keeps the raft entries per lease to two per checkpoint interval.
    if (clearRemainingTtl && this.cp !== null) {
      await this.cp([{ id: l.id, remainingTtl: 0 }]);
    }
    l.refresh(0);
    // A lease revoked while the checkpoint was in flight must not be re-registered.
    if (this.primary && this.leaseMap.get(id) === l) this.expiredNotifier.registerOrUpdate(l.id, l.expiry);
    this.metrics?.renewed.inc();
    return l.ttl;
  }

  lookup(id: bigint): Lease | undefined {
    return this.leaseMap.get(id);
  }

  /** All leases, soonest expiry first. */
  leases(): Lease[] {
    const ls = [...this.leaseMap.values()];
    ls.sort((a, b) => cmpRemaining(a.remaining(), b.remaining()));
    return ls;
  }

  /** What etcd's LeaseTimeToLive reports for a lease; throws ErrLeaseNotFound. */
  timeToLive(id: bigint, withKeys: boolean): LeaseTimeToLive {
    const l = this.leaseMap.get(id);
    if (l === undefined) throw ErrLeaseNotFound;
    return { id, ttl: l.remainingSeconds(), grantedTtl: l.ttl, keys: withKeys ? l.keys() : [] };
  }

  // ---- primary / secondary ----

  /** Makes this lessor primary: every lease restarts from its remaining TTL plus `extendMs`. */
  promote(extendMs: number): void {
    this.primary = true;
    for (const l of this.leaseMap.values()) {
      l.refresh(extendMs);
      this.expiredNotifier.registerOrUpdate(l.id, l.expiry);
      this.scheduleCheckpointIfNeeded(l);
    }
    if (this.leaseMap.size < this.revokeRate) return; // no possibility of a pile-up

    // Spread expiries so that at most 3/4 of the revoke rate expire in any one second.
    const leases = this.leases();
    let baseWindow = leases[0].remaining();
    let nextWindow = baseWindow + 1000;
    let expires = 0;
    const targetPerSecond = Math.trunc((3 * this.revokeRate) / 4);
    for (const l of leases) {
      const remaining = l.remaining();
      if (remaining > nextWindow) {
        baseWindow = remaining;
        nextWindow = baseWindow + 1000;
        expires = 1;
        continue;
      }
      expires++;
      if (expires <= targetPerSecond) continue;
      let rateDelay = 1000 * (expires / targetPerSecond);
      // Leases already n seconds past the base window need n seconds less delay.
      rateDelay -= remaining - baseWindow;
      const delay = Math.trunc(rateDelay);
      nextWindow = baseWindow + delay;
      l.refresh(delay + extendMs);
      this.expiredNotifier.registerOrUpdate(l.id, l.expiry);
      this.scheduleCheckpointIfNeeded(l);
    }
  }

  /** Stops tracking expiries: leases never expire on a non-primary lessor. */
  demote(): void {
    for (const l of this.leaseMap.values()) l.forever();
    this.checkpointHeap.clear();
    this.expiredNotifier.clear();
    this.primary = false;
    this.wakeDemoteWaiters();
  }

  private wakeDemoteWaiters(): void {
    const w = this.demoteWaiters;
    this.demoteWaiters = [];
    for (const f of w) f();
  }

  // ---- keys ----

  /** Attaches a key to a lease (called by MVCC on put); throws ErrLeaseNotFound. */
  attach(id: bigint, key: Uint8Array): void {
    const l = this.leaseMap.get(id);
    if (l === undefined) throw ErrLeaseNotFound;
    const skey = keyString(key);
    l.items.add(skey);
    this.itemMap.set(skey, id);
  }

  /**
   * Detaches a key from a lease (called by MVCC on overwrite or delete). Returns false when the
   * lease does not exist: etcd's Detach reports ErrLeaseNotFound there and MVCC only logs it, so
   * this never throws in the middle of a write transaction.
   */
  detach(id: bigint, key: Uint8Array): boolean {
    const skey = keyString(key);
    if (this.itemMap.get(skey) === id) this.itemMap.delete(skey);
    const l = this.leaseMap.get(id);
    if (l === undefined) return false;
    l.items.delete(skey);
    return true;
  }

  /** The lease a key is attached to, or NO_LEASE. */
  getLease(key: Uint8Array): bigint {
    return this.itemMap.get(keyString(key)) ?? NO_LEASE;
  }

  // ---- recovery ----

  /** Reloads every lease from the backend (after a snapshot is installed). */
  recover(be: LeaseBackend, rd: RangeDeleter | null): void {
    this.be = be;
    this.rd = rd;
    this.leaseMap = new Map();
    this.itemMap = new Map();
    this.expiredNotifier.clear();
    this.checkpointHeap.clear();
    this.initAndRecover();
  }

  private initAndRecover(): void {
    this.be.forEach(Bucket.Lease, (_k, v) => {
      const r = decodeLease(v);
      // Recovered leases never expire until promoted; their keys come back with MVCC's restore.
      const l = new Lease(r.id, Math.max(r.ttl, this.minLeaseTtl), r.remainingTtl, this.now);
      this.leaseMap.set(r.id, l);
    });
  }

  private persist(l: Lease): void {
    this.be.put(Bucket.Lease, leaseIdKey(l.id), encodeLease({ id: l.id, ttl: l.ttl, remainingTtl: l.remainingTtl }));
  }

  // ---- expiry ----

  private revokeExpiredLeases(): void {
    if (!this.primary) return;
    const ls = this.findExpiredLeases(Math.trunc(this.revokeRate / 2));
    // A full queue means the consumer is busy: the leases are offered again after the retry interval.
    if (ls.length > 0) this.expiredQ.trySend(ls);
  }

  /** Expired leases, at most `limit`; each found lease is re-queued to be offered again later. */
  findExpiredLeases(limit: number): Lease[] {
    const leases: Lease[] = [];
    const now = this.now();
    for (;;) {
      const item = this.expiredNotifier.peek();
      if (item === undefined) break;
      const l = this.leaseMap.get(item.id);
      if (l === undefined) {
        // revoked already
        this.expiredNotifier.unregister();
        continue;
      }
      if (now < item.time) break;
      // Offer it again after the retry interval unless the revoke goes through by then.
      this.expiredNotifier.registerOrUpdate(item.id, now + this.expiredRetryMs);
      if (l.expired()) {
        leases.push(l);
        if (leases.length === limit) break;
      }
    }
    return leases;
  }

  // ---- checkpoints ----

  private scheduleCheckpointIfNeeded(l: Lease): void {
    if (this.cp === null) return;
    if (l.getRemainingTtl() > Math.trunc(this.checkpointIntervalMs / 1000)) {
      this.log('debug', `Scheduling lease checkpoint leaseID=${l.id} intervalMs=${this.checkpointIntervalMs}`);
      this.checkpointHeap.push({ id: l.id, time: this.now() + this.checkpointIntervalMs, index: -1 });
    }
  }

  private checkpointScheduledLeases(): void {
    const rounds = Math.trunc(this.checkpointRate / 2);
    for (let i = 0; i < rounds; i++) {
      const cps = this.primary ? this.findDueScheduledCheckpoints(this.maxCheckpointBatch) : [];
      if (cps.length > 0 && this.cp !== null) {
        const r = this.cp(cps);
        if (r instanceof Promise) {
          r.catch((err: unknown) => this.log('warn', `failed to checkpoint leases: ${String(err)}`));
        }
      }
      if (cps.length < this.maxCheckpointBatch) return;
    }
  }

  /** Due checkpoints of leases whose remaining TTL is below their granted TTL, at most `limit`. */
  findDueScheduledCheckpoints(limit: number): LeaseCheckpoint[] {
    if (this.cp === null) return [];
    const now = this.now();
    const cps: LeaseCheckpoint[] = [];
    while (this.checkpointHeap.length > 0 && cps.length < limit) {
      const lt = this.checkpointHeap.peek()!;
      if (lt.time > now) break;
      this.checkpointHeap.pop();
      const l = this.leaseMap.get(lt.id);
      if (l === undefined) continue;
      if (!(now < l.expiry)) continue;
      const remainingTtl = Math.ceil((l.expiry - now) / 1000);
      if (remainingTtl >= l.ttl) continue;
      this.log('debug', `Checkpointing lease leaseID=${lt.id} remainingTTL=${remainingTtl}`);
      cps.push({ id: lt.id, remainingTtl });
    }
    return cps;
  }
}

function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

function cmpRemaining(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1;
}
