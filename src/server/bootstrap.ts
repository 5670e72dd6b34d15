// Bootstrap (etcd's etcdserver/bootstrap.go): identify the data dir, open the backend, and either
// create a new member (IDs from --initial-cluster, a WAL whose metadata names this member and the
// cluster, raft started with the initial members as AddNode entries carrying each member's JSON)
// or restart one (newest usable snapshot, backend recovered from that snapshot's database when it
// is older, WAL replayed from the snapshot into MemoryStorage; --initial-cluster ignored).
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Backend } from '../storage/backend/backend.js';
import { WAL } from '../wal/index.js';
import { Snapshotter, isSnapError } from '../snap/index.js';
import { MemoryStorage, RaftPanic, type Config as RaftConfig, type Logger as RaftLogger, type Peer } from '../raft/index.js';
import type { HardState, Snapshot } from '../raft/raftpb/types.js';
import { Reader, Writer, sizeVarintBig } from '../pkg/protobuf.js';
import type { ServerConfig, ServerLogger } from './config.js';
import { RaftCluster } from './membership/cluster.js';
import { memberToJson } from './membership/member.js';
import { clusterFromRemotePeers } from './membership/join.js';
import { forceStandalone } from './forceNewCluster.js';

export interface Bootstrapped {
  id: bigint;
  cluster: RaftCluster;
  backend: Backend;
  wal: WAL;
  snapshotter: Snapshotter;
  storage: MemoryStorage;
  /** The snapshot restarted from (null on a new member or when there is none). */
  snapshot: Snapshot | null;
  /** Initial peers to bootstrap raft with; null on restart. */
  peers: Peer[] | null;
  hardState: HardState | null;
  memberDir: string;
  snapDir: string;
  walDir: string;
  dbPath: string;
}

export class BootstrapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapError';
  }
}

export function encodeMetadata(nodeId: bigint, clusterId: bigint): Buffer {
  const w = new Writer(2 + sizeVarintBig(nodeId) + sizeVarintBig(clusterId));
  w.tag(1, 0);
  w.varintBig(nodeId);
  w.tag(2, 0);
  w.varintBig(clusterId);
  return w.buf;
}

export function decodeMetadata(b: Uint8Array): { nodeId: bigint; clusterId: bigint } {
  const r = Reader.of(b);
  let nodeId = 0n;
  let clusterId = 0n;
  while (!r.done()) {
    const tag = r.varint();
    if (tag === 0x08) nodeId = r.uint64();
    else if (tag === 0x10) clusterId = r.uint64();
    else r.skip(tag & 7);
  }
  return { nodeId, clusterId };
}

async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).length === 0;
  } catch {
    return true;
  }
}

const sameUrls = (a: string[], b: string[]): boolean => {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((u, i) => u === y[i]);
};

export async function bootstrap(cfg: ServerConfig): Promise<Bootstrapped> {
  const lg = cfg.logger;
  const memberDir = path.join(cfg.dataDir, 'member');
  const walDir = cfg.walDir || path.join(memberDir, 'wal');
  const snapDir = path.join(memberDir, 'snap');
  const dbPath = path.join(snapDir, 'db');
  await fs.mkdir(snapDir, { recursive: true, mode: 0o700 });
  const haveWal = await WAL.exists(walDir);
  const walLogger = { info: (t: string) => lg.info({}, t), warning: (t: string) => lg.warn({}, t) };
  const walFsync = cfg.metrics?.disk.walFsyncDuration;
  const onFsync = walFsync && ((s: number) => walFsync.observe(s));
  const snapshotter = new Snapshotter(snapDir, { logger: walLogger });

  if (!haveWal) {
    // Joining a running cluster: members and IDs come from its peers (membership/join.ts).
    const cluster = cfg.newCluster
      ? RaftCluster.fromInitialCluster(cfg.initialCluster, cfg.initialClusterToken, cfg.name)
      : await clusterFromRemotePeers(cfg, lg);
    const self = cluster.memberByName(cfg.name);
    if (self === undefined) {
      throw new BootstrapError(`couldn't find local name "${cfg.name}" in the initial cluster configuration`);
    }
    if (!sameUrls(self.peerURLs, cfg.peerUrls)) {
      throw new BootstrapError(
        `--initial-cluster has ${cfg.name}=${self.peerURLs.join(',')} but missing from --initial-advertise-peer-urls=${cfg.peerUrls.join(',')}`,
      );
    }
    const backend = openBackend(dbPath, cfg);
    cluster.setBackend(backend);
    const wal = await WAL.create(walDir, encodeMetadata(cluster.localId, cluster.clusterId), {
      logger: walLogger,
      unsafeNoFsync: cfg.unsafeNoFsync,
      onFsync,
    });
    const peers: Peer[] | null = cfg.newCluster
      ? cluster.memberList().map((m) => ({ id: m.id, context: Buffer.from(memberToJson(m)) }))
      : null;
    lg.info(
      {
        'local-member-id': cluster.localId.toString(16),
        'cluster-id': cluster.clusterId.toString(16),
        'initial-cluster': [...cfg.initialCluster].map(([n, u]) => `${n}=${u.join(',')}`).join(','),
      },
      'starting local member',
    );
    return {
      id: cluster.localId,
      cluster,
      backend,
      wal,
      snapshotter,
      storage: new MemoryStorage(),
      snapshot: null,
      peers,
      hardState: null,
      memberDir,
      snapDir,
      walDir,
      dbPath,
    };
  }

  // ---- restart from the WAL (and snapshot) ----
  if (cfg.newCluster && !(await isEmptyDir(memberDir))) {
    lg.info({ 'data-dir': cfg.dataDir }, 'found existing member directory; ignoring --initial-cluster');
  }
  const walSnaps = await WAL.validSnapshotEntries(walDir);
  let snapshot: Snapshot | null = null;
  try {
    snapshot = await snapshotter.loadNewestAvailable(walSnaps);
  } catch (e) {
    if (!isSnapError(e, 'ErrNoSnapshot')) throw e;
  }
  let backend = openBackend(dbPath, cfg);
  if (snapshot !== null) {
    const ci = backend.consistentIndex().index;
    if (ci < snapshot.metadata.index) {
      // The backend is older than the snapshot (a snapshot from the leader was being installed):
      // the database that came with it replaces the backend.
      const snapDb = await snapshotter.dbFilePath(snapshot.metadata.index);
      await backend.close();
      await fs.rename(snapDb, dbPath);
      await fs.rm(`${dbPath}-lock`, { force: true });
      backend = openBackend(dbPath, cfg);
      lg.info({ 'snapshot-index': snapshot.metadata.index }, 'recovered v3 backend from snapshot');
    }
    lg.info(
      { 'snapshot-index': snapshot.metadata.index, 'snapshot-term': snapshot.metadata.term },
      'recovered v2 store from snapshot',
    );
  }
  const walSnap = snapshot
    ? { index: snapshot.metadata.index, term: snapshot.metadata.term }
    : { index: 0, term: 0 };
  const wal = await WAL.open(walDir, walSnap, { logger: walLogger, unsafeNoFsync: cfg.unsafeNoFsync, onFsync });
  const read = await wal.readAll();
  const { nodeId, clusterId } = decodeMetadata(read.metadata);
  // --force-new-cluster: keep committed entries, force-commit the removal of every other member.
  const { hardState, entries } = cfg.forceNewCluster
    ? await forceStandalone(wal, snapshot, read.hardState, read.entries, { nodeId, clusterId }, lg)
    : read;
  const storage = new MemoryStorage();
  if (snapshot !== null) storage.applySnapshot(snapshot);
  storage.setHardState(hardState);
  storage.append(entries);
  const cluster = RaftCluster.fromBackend(backend, nodeId, clusterId);
  if (!cfg.forceNewCluster) {
    lg.info(
      {
        'cluster-id': clusterId.toString(16),
        'local-member-id': nodeId.toString(16),
        'commit-index': hardState.commit,
      },
      'restarting local member',
    );
  }
  return {
    id: nodeId,
    cluster,
    backend,
    wal,
    snapshotter,
    storage,
    snapshot,
    peers: null,
    hardState,
    memberDir,
    snapDir,
    walDir,
    dbPath,
  };
}

export function openBackend(dbPath: string, cfg: ServerConfig): Backend {
  return Backend.open(dbPath, {
    batchInterval: cfg.backendBatchIntervalMs,
    batchLimit: cfg.backendBatchLimit,
    noSync: cfg.unsafeNoFsync,
    onCommit: commitRecorder(cfg),
  });
}

function commitRecorder(cfg: ServerConfig): ((seconds: number) => void) | undefined {
  const h = cfg.metrics?.disk.backendCommitDuration;
  return h && ((s: number) => h.observe(s));
}

/** Heartbeats per election timeout (raft's ElectionTick). */
export function electionTicks(cfg: ServerConfig): number {
  return Math.max(2, Math.floor(cfg.electionMs / cfg.heartbeatMs));
}

/** The raft configuration etcd uses (raft.go: MaxSizePerMsg 1 MiB, 4096/8 inflight, CheckQuorum). */
export function raftConfig(cfg: ServerConfig, id: bigint, storage: MemoryStorage, logger: RaftLogger): RaftConfig {
  return {
    id,
    electionTick: electionTicks(cfg),
    heartbeatTick: 1,
    storage,
    maxSizePerMsg: 1024 * 1024,
    maxInflightMsgs: 4096 / 8,
    maxUncommittedEntriesSize: 1 << 30,
    checkQuorum: true,
    preVote: cfg.preVote,
    logger,
  };
}

/** raft's text logger onto the server's structured one; fatal and panic still throw. */
export function raftLogger(lg: ServerLogger): RaftLogger {
  const f = { logger: 'raft' };
  return {
    debug: (t: string) => lg.debug(f, t),
    info: (t: string) => lg.info(f, t),
    warning: (t: string) => lg.warn(f, t),
    error: (t: string) => lg.error(f, t),
    fatal(t: string): never {
      lg.error(f, t);
      throw new RaftPanic(t);
    },
    panic(t: string): never {
      lg.error(f, t);
      throw new RaftPanic(t);
    },
  };
}
