// Server-side maintenance operations (etcd's EtcdServer MoveLeader / Downgrade and the backend
// calls behind Maintenance.Defragment, Snapshot and Hash). The server satisfies MaintenanceHost
// structurally; each operation is a plain function so server.ts only delegates.
import type { Readable } from 'node:stream';
import type { Node } from '../raft/index.js';
import type { Backend } from '../storage/backend/backend.js';
import type { ServerLogger } from './config.js';
import {
  ErrBadLeaderTransferee,
  ErrDowngradeInProcess,
  ErrInvalidDowngradeTargetVersion,
  ErrNoInflightDowngrade,
  ErrNotLeader,
  ErrTimeoutLeaderTransfer,
  ErrUnknownMethod,
  ErrWrongDowngradeVersionFormat,
} from './errors.js';
import { DowngradeAction, type DowngradeRequest, type DowngradeResponse, type HashResponse } from './etcdserverpb/rpc.js';

export { DowngradeAction };
export type { DowngradeRequest, DowngradeResponse, HashResponse };
import type { Member } from './membership/member.js';

export interface MaintenanceHost {
  readonly id: bigint;
  readonly backend: Backend;
  readonly kv: { hash(): Promise<{ hash: number; revision: number }> };
  readonly cluster: { member(id: bigint): Member | undefined };
  readonly node: Pick<Node, 'transferLeadership'>;
  readonly leader: bigint;
  readonly cfg: { heartbeatMs: number; requestTimeoutMs: number; logger: ServerLogger };
  isLeader(): boolean;
  linearizableReadNotify(): Promise<void>;
  versions(): { server: string; cluster: string };
}

export interface SnapshotSource {
  /** Bytes of the database copy the stream yields. */
  size: number;
  stream: Readable;
}

const hex = (id: bigint): string => id.toString(16);

/** Rewrites the backend compactly (etcd logs the same start and finish lines). */
export async function defragment(h: MaintenanceHost): Promise<void> {
  const lg = h.cfg.logger;
  lg.info({}, 'starting defragment');
  const start = Date.now();
  try {
    await h.backend.defrag();
  } catch (err) {
    lg.warn({ error: (err as Error).message }, 'failed to defragment');
    throw err;
  }
  lg.info({ took: `${Date.now() - start}ms` }, 'finished defragment');
}

/** A consistent copy of the backend to stream to a client (Maintenance.Snapshot). */
export async function snapshot(h: MaintenanceHost): Promise<SnapshotSource> {
  const snap = await h.backend.snapshot();
  h.cfg.logger.info({ 'total-bytes': snap.size }, 'sending database snapshot to client');
  return { size: snap.size, stream: snap.stream as Readable };
}

/** etcd's Hash: every bucket of the backend except the consistent index, at the current revision. */
export async function hash(h: MaintenanceHost): Promise<HashResponse> {
  const r = await h.kv.hash();
  return { header: { revision: r.revision }, hash: r.hash };
}

/**
 * Asks raft to hand leadership from this member to `transferee` and waits, polling every
 * heartbeat, until the transferee leads (etcd's MoveLeader). Only the leader may be asked.
 */
export async function moveLeader(h: MaintenanceHost, transferee: bigint, timeoutMs = h.cfg.requestTimeoutMs): Promise<void> {
  if (!h.isLeader()) throw ErrNotLeader;
  const m = h.cluster.member(transferee);
  if (m === undefined || m.isLearner) throw ErrBadLeaderTransferee;
  const lead = h.leader;
  const lg = h.cfg.logger;
  lg.info({ 'local-member-id': hex(h.id), 'current-leader-member-id': hex(lead), 'transferee-member-id': hex(transferee) }, 'leadership transfer starting');
  const start = Date.now();
  h.node.transferLeadership(lead, transferee);
  const interval = Math.max(1, h.cfg.heartbeatMs);
  while (h.leader !== transferee) {
    if (Date.now() - start >= timeoutMs) throw ErrTimeoutLeaderTransfer;
    await new Promise((r) => setTimeout(r, interval));
  }
  lg.info(
    { 'local-member-id': hex(h.id), 'old-leader-member-id': hex(lead), 'new-leader-member-id': hex(transferee), took: `${Date.now() - start}ms` },
    'leadership transfer finished',
  );
}

/** major.minor of a version; "3.4" is read as "3.4.0" as etcd does. Null when unparsable. */
export function parseClusterVersion(v: string): { major: number; minor: number } | null {
  const semver = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
  const m = semver.exec(v) ?? semver.exec(`${v}.0`);
  if (m === null) return null;
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/**
 * Downgrade (etcd 3.5): validate that the target is one minor version below the cluster version,
 * enable a downgrade job, or cancel it. The job is held by this member only: tsetcd has no older
 * release to downgrade to, so the job changes nothing but what later requests answer.
 */
export class Downgrades {
  private target: string | null = null;

  async downgrade(h: MaintenanceHost, r: DowngradeRequest): Promise<DowngradeResponse> {
    switch (r.action) {
      case DowngradeAction.VALIDATE:
        return this.validate(h, r.version);
      case DowngradeAction.ENABLE: {
        const resp = await this.validate(h, r.version).catch((err: Error) => {
          h.cfg.logger.warn({ error: err.message }, 'reject downgrade request');
          throw err;
        });
        const t = parseClusterVersion(r.version)!;
        this.target = `${t.major}.${t.minor}.0`;
        h.cfg.logger.info({ 'target-version': this.target }, 'the cluster is being downgraded');
        return resp;
      }
      case DowngradeAction.CANCEL:
        await h.linearizableReadNotify();
        if (this.target === null) throw ErrNoInflightDowngrade;
        this.target = null;
        h.cfg.logger.info({}, 'cancelled downgrade');
        return { version: clusterVersion(h) };
      default:
        throw ErrUnknownMethod;
    }
  }

  /** The target of the downgrade job in progress, if any. */
  get inProgress(): string | null {
    return this.target;
  }

  private async validate(h: MaintenanceHost, v: string): Promise<DowngradeResponse> {
    const target = parseClusterVersion(v);
    if (target === null) throw ErrWrongDowngradeVersionFormat;
    await h.linearizableReadNotify();
    const cv = parseClusterVersion(h.versions().cluster)!;
    if (target.major !== cv.major || target.minor !== cv.minor - 1) throw ErrInvalidDowngradeTargetVersion;
    if (this.target !== null) throw ErrDowngradeInProcess;
    return { version: clusterVersion(h) };
  }
}

/** The cluster version as etcd reports it: major.minor.0. */
function clusterVersion(h: MaintenanceHost): string {
  const cv = parseClusterVersion(h.versions().cluster)!;
  return `${cv.major}.${cv.minor}.0`;
}
