// Connects an EtcdServer to its Prometheus metrics: the values read on scrape (leader, raft
// indexes, db size, WAL bytes, MVCC counts, watchers, peer traffic) and the per-apply duration
// histogram. Recording on the hot path is left to the few counters the server bumps itself;
// everything that already lives in a component is read only when /metrics is scraped.

import { ErrCompacted } from '../storage/mvcc/errors.js';
import type { ApplyResult } from './apply.js';
import type { InternalRaftRequest } from './etcdserverpb/raftInternal.js';
import type { EtcdMetrics, HistogramMetric, PeerSamples } from './metrics.js';
import type { EtcdServer } from './server.js';
import { CLUSTER_VERSION } from './version.js';

/** What the collectors need that the server keeps private. */
export interface ServerPrivates {
  proposalsPending(): number;
  quotaBytes(): number;
}

/** etcd logs (and counts as slow) an apply that takes longer than this (--experimental-warning-apply-duration). */
const DEFAULT_SLOW_APPLY_MS = 100;

/** A duration as Go's time.Duration String() writes it (the unit etcd's log fields use). */
export function goDurationOf(ms: number): string {
  if (ms === 0) return '0s';
  const trim = (x: number) => String(Number(x.toFixed(6)));
  if (ms < 0.001) return `${trim(ms * 1e6)}ns`;
  if (ms < 1) return `${trim(ms * 1e3)}µs`;
  if (ms < 1000) return `${trim(ms)}ms`;
  return `${trim(ms / 1000)}s`;
}

/** Registers the scrape-time collectors of `s` into `m`. */
export function installServerCollectors(s: EtcdServer, m: EtcdMetrics, p: ServerPrivates): void {
  m.setServerId(s.id);
  m.setClusterVersion(CLUSTER_VERSION.split('.').slice(0, 2).join('.'));
  const hex = (id: bigint) => id.toString(16);
  // Per-peer counters appear with the first byte or failure, as etcd creates its series lazily.
  const peers = (f: (t: NonNullable<EtcdServer['transport']>, id: bigint) => number | undefined, zeros = false): PeerSamples =>
    function* () {
      const t = s.transport;
      if (t === null) return;
      for (const id of t.peerIds()) {
        const v = f(t, id);
        if (v !== undefined && (zeros || v !== 0)) yield [hex(id), v] as const;
      }
    };
  // The backend is closed and replaced while a snapshot from the leader is installed.
  const backendSafe = (f: () => number) => () => {
    try {
      return f();
    } catch {
      return 0;
    }
  };
  const kv = s.kv;
  m.setCollectors({
    hasLeader: () => s.leader !== 0n,
    isLeader: () => s.isLeader(),
    isLearner: () => s.cluster.member(s.id)?.isLearner ?? false,
    proposalsCommitted: () => s.node.rn.raft.raftLog.committed,
    proposalsApplied: () => s.appliedIndex,
    proposalsPending: p.proposalsPending,
    quotaBackendBytes: p.quotaBytes,
    walWriteBytes: () => s.r.wal.stats.bytesWritten,
    dbTotalSize: backendSafe(() => s.backend.size()),
    dbTotalSizeInUse: backendSafe(() => s.backend.sizeInUse()),
    mvccRange: () => kv.opCounts.range,
    mvccPut: () => kv.opCounts.put,
    mvccDelete: () => kv.opCounts.delete,
    mvccTxn: () => kv.opCounts.txn,
    keys: () => kv.liveKeys,
    currentRevision: () => kv.rev(),
    compactRevision: () => Math.max(kv.compactMainRev, 0),
    watchers: () => {
      let n = kv.synced.size + kv.unsynced.size;
      for (const v of kv.victims) n += v.size;
      return n;
    },
    slowWatchers: () => kv.unsynced.size,
    peerSentBytes: peers((t, id) => t.peerStats(id)?.sentBytes),
    peerSentFailures: peers((t, id) => t.peerStats(id)?.dropped),
    activePeers: peers((t, id) => (t.activeSince(id) > 0 ? 1 : 0), true),
    peerReceivedBytes: function* () {
      const t = s.transport;
      if (t === null) return;
      for (const [id, st] of t.receivedBytesFrom()) if (st.bytes !== 0) yield [hex(id), st.bytes] as const;
    },
    knownPeers: function* () {
      for (const mem of s.cluster.memberList()) if (mem.id !== s.id) yield [hex(mem.id), 1] as const;
    },
  });
}

/** etcd's op label of an InternalRaftRequest (the name of its request field, capitalised). */
function opOf(r: InternalRaftRequest): string {
  if (r.put !== undefined) return 'Put';
  if (r.txn !== undefined) return 'Txn';
  if (r.deleteRange !== undefined) return 'DeleteRange';
  if (r.range !== undefined) return 'Range';
  if (r.leaseGrant !== undefined) return 'LeaseGrant';
  if (r.leaseRevoke !== undefined) return 'LeaseRevoke';
  if (r.leaseCheckpoint !== undefined) return 'LeaseCheckpoint';
  if (r.compaction !== undefined) return 'Compaction';
  if (r.alarm !== undefined) return 'Alarm';
  if (r.memberAttrSet !== undefined) return 'ClusterMemberAttrSet';
  return 'unknown';
}

/**
 * etcd_server_apply_duration_seconds{version="v3",op,success} and etcd_server_slow_apply_total.
 * Label children are cached per op, so an apply costs one map probe and one observe.
 */
export class ApplyMetrics {
  private readonly byOp = new Map<string, [ok: HistogramMetric, failed: HistogramMetric]>();

  private readonly slowSeconds: number;

  /** `onSlow` hears of each apply slower than `slowMs` (etcd's "apply request took too long"). */
  constructor(
    private readonly m: EtcdMetrics,
    private readonly slowMs = DEFAULT_SLOW_APPLY_MS,
    private readonly onSlow?: (op: string, ms: number, slowMs: number) => void,
  ) {
    this.slowSeconds = slowMs / 1000;
  }

  observe(req: InternalRaftRequest, res: ApplyResult, seconds: number): void {
    const op = opOf(req);
    let h = this.byOp.get(op);
    if (h === undefined) {
      const d = this.m.server.applyDuration;
      h = [d.labels('v3', op, 'true'), d.labels('v3', op, 'false')];
      this.byOp.set(op, h);
    }
    // A compacted revision is the caller's mistake, not a failed apply (as etcd counts it).
    const ok = res.err === null || res.err === ErrCompacted;
    h[ok ? 0 : 1].observe(seconds);
    if (seconds > this.slowSeconds) {
      this.m.server.slowApplies.inc();
      this.onSlow?.(op, seconds * 1000, this.slowMs);
    }
  }
}
