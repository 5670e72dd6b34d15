// Joining a running cluster (--initial-cluster-state=existing, etcd's GetClusterFromRemotePeers
// and ValidateClusterAndAssignIDs): ask the other members listed in --initial-cluster for the
// member list (GET /members on their peer listeners, cluster ID in X-Etcd-Cluster-ID), check it
// names the same members by peer URLs, and take the running cluster's member and cluster IDs.
// Raft then starts with no peers: the leader's log (or a snapshot) brings the membership.
import type { SecureClientSessionOptions } from 'node:http2';
import type { ServerLogger } from '../config.js';
import { PeerSessions } from '../peerSessions.js';
import { MembershipError, RaftCluster } from './cluster.js';
import { type Member, membersFromJsonArray } from './member.js';

export const MEMBERS_PATH = '/members';
/** etcd's per-peer timeout when fetching the cluster. */
export const FETCH_TIMEOUT_MS = 10_000;

export interface JoinConfig {
  name: string;
  initialCluster: Map<string, string[]>;
  initialClusterToken: string;
  /** TLS for https peer URLs (--peer-* certificates). */
  peerTls?: SecureClientSessionOptions;
}

export interface RemoteCluster {
  clusterId: bigint;
  members: Member[];
}

/** The membership of the running cluster this member joins, with the running cluster's IDs. */
export async function clusterFromRemotePeers(
  cfg: JoinConfig,
  lg: ServerLogger,
  opts: { timeoutMs?: number; tls?: SecureClientSessionOptions } = {},
): Promise<RaftCluster> {
  const cl = RaftCluster.fromInitialCluster(cfg.initialCluster, cfg.initialClusterToken, cfg.name);
  const urls = remotePeerUrls(cl, cfg.name);
  const existing = await getClusterFromRemotePeers(urls, lg, { tls: cfg.peerTls, ...opts });
  if (existing === null) {
    throw new MembershipError('cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs');
  }
  try {
    cl.assignIdsFrom(existing.members, existing.clusterId, cfg.name);
  } catch (err) {
    const desc = existing.members.map((m) => `${m.id.toString(16)}=${m.peerURLs.join(',')}`).join(' ');
    const cid = existing.clusterId.toString(16);
    throw new MembershipError(`error validating peerURLs {ClusterID:${cid} Members:[${desc}]}: ${(err as Error).message}`);
  }
  return cl;
}

/** Peer URLs of every member but the named one, sorted (etcd's getRemotePeerURLs). */
export function remotePeerUrls(cl: RaftCluster, localName: string): string[] {
  const urls: string[] = [];
  for (const m of cl.memberList()) if (m.name !== localName) urls.push(...m.peerURLs);
  return urls.sort();
}

/** Asks each URL in turn; the first member list answered wins, null when none answers. */
export async function getClusterFromRemotePeers(
  urls: string[],
  lg: ServerLogger,
  opts: { timeoutMs?: number; tls?: SecureClientSessionOptions } = {},
): Promise<RemoteCluster | null> {
  for (const u of urls) {
    try {
      return await fetchMembers(u, opts.timeoutMs ?? FETCH_TIMEOUT_MS, opts.tls);
    } catch (err) {
      lg.warn({ address: u + MEMBERS_PATH, error: (err as Error).message }, 'failed to get cluster response');
    }
  }
  return null;
}

export async function fetchMembers(peerUrl: string, timeoutMs: number, tls?: SecureClientSessionOptions): Promise<RemoteCluster> {
  const sessions = new PeerSessions(tls);
  try {
    const r = await sessions.request(new URL(peerUrl).origin, { ':method': 'GET', ':path': MEMBERS_PATH }, '', timeoutMs);
    if (r.status === 0) throw new Error(r.error ?? 'request failed');
    if (r.status !== 200) throw new Error(`unexpected status ${r.status}`);
    const v = r.headers['x-etcd-cluster-id'];
    const cid = typeof v === 'string' ? v : undefined;
    if (cid === undefined || !/^[0-9a-fA-F]{1,16}$/.test(cid)) throw new Error(`invalid X-Etcd-Cluster-ID "${cid}"`);
    return { clusterId: BigInt('0x' + cid), members: membersFromJsonArray(r.body.toString('utf8')) };
  } finally {
    sessions.close();
  }
}
