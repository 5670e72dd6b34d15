// `snapshot restore`: a new member data directory from a snapshot file, for a NEW cluster (IDs from
// --initial-cluster and the token), laid out exactly as a member that has already started once:
//   <data-dir>/member/snap/db          the snapshot's database, its membership replaced by the new
//                                      members and its consistent index set to the raft snapshot's
//   <wal-dir>                          metadata {member ID, cluster ID}; one AddNode conf-change entry
//                                      per member (term 1, indexes 1..n); HardState {term 1, vote the
//                                      first member, commit n}; a snapshot marker at (n, 1)
//   <data-dir>/member/snap/*.snap      the raft snapshot at (n, 1) with every member a voter
// so `tsetcd` restarts from it (its bootstrap loads the snapshot, keeps the backend since its
// consistent index is not behind, and replays nothing from the WAL) and elects a leader.

import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parseInitialCluster, parseUrls, urlString } from '../embed/config.js';
import { encodeConfChange } from '../raft/raftpb/codec.js';
import {
  ConfChangeType,
  EMPTY_BYTES,
  EntryType,
  emptyConfState,
  type Entry,
  type HardState,
  type Snapshot,
} from '../raft/raftpb/types.js';
import { encodeMetadata } from '../server/bootstrap.js';
import { RaftCluster } from '../server/membership/cluster.js';
import { memberToJson } from '../server/membership/member.js';
import { Snapshotter } from '../snap/index.js';
import { Backend, Bucket } from '../storage/backend/index.js';
import { WAL } from '../wal/index.js';
import type { UtilLogger } from './log.js';
import { SnapshotFileError, copyDbPart, inspectSnapshotFile, verifyTrailingHash } from './snapshotFile.js';

export interface RestoreConfig {
  snapshotPath: string;
  name: string;
  /** '' = `<name>.etcd`. */
  dataDir: string;
  /** '' = `<data-dir>/member/wal`. */
  walDir: string;
  /** --initial-advertise-peer-urls. */
  peerUrls: string[];
  /** `name=url,...` as etcd's --initial-cluster. */
  initialCluster: string;
  initialClusterToken: string;
  skipHashCheck: boolean;
}

export interface RestoreResult {
  memberId: bigint;
  clusterId: bigint;
  /** Index (and term 1) of the raft snapshot the member starts from. */
  snapshotIndex: number;
  dataDir: string;
  walDir: string;
}

export class RestoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreError';
  }
}

const CALLER = 'snapshot/restore.ts';

const sortedEqual = (a: string[], b: string[]): boolean => {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((u, i) => u === y[i]);
};

/** etcd's ServerConfig.VerifyBootstrap for a new cluster; returns the cluster it describes. */
export function buildCluster(cfg: RestoreConfig): RaftCluster {
  const initial = new Map<string, string[]>();
  for (const [name, urls] of parseInitialCluster(cfg.initialCluster)) initial.set(name, urls.map(urlString));
  const peerUrls = parseUrls(cfg.peerUrls.join(',')).map(urlString);
  const local = initial.get(cfg.name);
  if (local === undefined) {
    throw new RestoreError(`couldn't find local name "${cfg.name}" in the initial cluster configuration`);
  }
  if (!sortedEqual(local, peerUrls)) {
    throw new RestoreError(
      `--initial-cluster has ${cfg.name}=${[...local].sort().join(',')} but missing from --initial-advertise-peer-urls=${[...peerUrls].sort().join(',')}`,
    );
  }
  const seen = new Set<string>();
  for (const urls of initial.values()) {
    for (const u of urls) {
      if (seen.has(u)) throw new RestoreError(`initial cluster ${cfg.initialCluster} has duplicate url`);
      seen.add(u);
    }
  }
  if (initial.size === 0) throw new RestoreError('initial cluster unset and no discovery URL found');
  try {
    return RaftCluster.fromInitialCluster(initial, cfg.initialClusterToken, cfg.name);
  } catch (e) {
    throw new RestoreError((e as Error).message);
  }
}

async function isNonEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).length > 0;
  } catch (e) {
    // Something there that is not a readable directory counts as existing.
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

export async function restoreSnapshot(cfg: RestoreConfig, lg: UtilLogger): Promise<RestoreResult> {
  const cluster = buildCluster(cfg);
  const dataDir = cfg.dataDir || `${cfg.name}.etcd`;
  if (await isNonEmptyDir(dataDir)) throw new RestoreError(`data-dir "${dataDir}" exists`);
  let walDir = cfg.walDir;
  if (walDir === '') walDir = path.join(dataDir, 'member', 'wal');
  else if (existsSync(walDir)) throw new RestoreError(`wal-dir "${walDir}" exists`);
  const snapDir = path.join(dataDir, 'member', 'snap');
  const where = { path: cfg.snapshotPath, 'wal-dir': walDir, 'data-dir': dataDir, 'snap-dir': snapDir };
  lg.info(CALLER, 'restoring snapshot', where);

  const createdDataDir = !existsSync(dataDir);
  try {
    const info = await inspectSnapshotFile(cfg.snapshotPath);
    if (!cfg.skipHashCheck) {
      if (!info.hasHash) throw new SnapshotFileError('snapshot missing hash but --skip-hash-check=false');
      await verifyTrailingHash(cfg.snapshotPath, info);
    }
    await fs.mkdir(snapDir, { recursive: true, mode: 0o700 });
    const dbPath = path.join(snapDir, 'db');
    await copyDbPart(cfg.snapshotPath, info, dbPath);

    const members = cluster.memberList();
    const index = members.length;
    const term = 1;
    await resetBackend(dbPath, cluster, index, term, lg);

    const hardState: HardState = { term, vote: members[0]!.id, commit: index };
    const entries: Entry[] = members.map((m, i) => ({
      term,
      index: i + 1,
      type: EntryType.EntryConfChange,
      data: encodeConfChange({
        type: ConfChangeType.ConfChangeAddNode,
        nodeId: m.id,
        context: Buffer.from(memberToJson(m)),
        id: 0n,
      }),
    }));
    const confState = { ...emptyConfState(), voters: members.map((m) => m.id) };
    const wal = await WAL.create(walDir, encodeMetadata(cluster.localId, cluster.clusterId));
    try {
      await wal.save(hardState, entries);
      const raftSnap: Snapshot = { data: EMPTY_BYTES, metadata: { index, term, confState } };
      await new Snapshotter(snapDir).saveSnap(raftSnap);
      await wal.saveSnapshot({ index, term, confState });
    } finally {
      await wal.close();
    }
    lg.info(CALLER, 'restored snapshot', where);
    return { memberId: cluster.localId, clusterId: cluster.clusterId, snapshotIndex: index, dataDir, walDir };
  } catch (e) {
    // Leave nothing half-made behind, so the same command can simply be run again.
    if (createdDataDir) await fs.rm(dataDir, { recursive: true, force: true }).catch(() => {});
    else await fs.rm(path.join(dataDir, 'member'), { recursive: true, force: true }).catch(() => {});
    if (cfg.walDir !== '') await fs.rm(walDir, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
}

/**
 * Replaces the snapshot's membership with the new cluster's and sets the consistent index to the
 * raft snapshot's, so the restarted member applies every entry after it (an old, higher consistent
 * index would make it skip them as already applied).
 */
async function resetBackend(dbPath: string, cluster: RaftCluster, index: number, term: number, lg: UtilLogger): Promise<void> {
  const be = Backend.open(dbPath);
  try {
    for (const bucket of [Bucket.Members, Bucket.MembersRemoved]) {
      const keys: Buffer[] = [];
      be.readTx.forEach(bucket, (k) => keys.push(k));
      for (const k of keys) be.batchTx.delete(bucket, k);
    }
    cluster.setBackend(be);
    for (const m of cluster.memberList()) {
      cluster.addMember(m, true);
      lg.info('membership/cluster.ts', 'added member', {
        'cluster-id': cluster.clusterId.toString(16),
        'local-member-id': '0',
        'added-peer-id': m.id.toString(16),
        'added-peer-peer-urls': m.peerURLs,
      });
    }
    be.setConsistentIndex(index, term);
  } finally {
    await be.close();
  }
  await fs.rm(`${dbPath}-lock`, { force: true });
}
