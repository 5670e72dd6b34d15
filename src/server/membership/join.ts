// Joining a running cluster (--initial-cluster-state=existing, etcd's GetClusterFromRemotePeers
// and ValidateClusterAndAssignIDs): ask the other members listed in --initial-cluster for the
// member list (GET /members on their peer listeners, cluster ID in X-Etcd-Cluster-ID), check it
// names the same members by peer URLs, and take the running cluster's member and cluster IDs.
// Raft then starts with no peers: the leader's log (or a snapshot) brings the membership.
import * as http2 from 'node:http2';
import type { SecureClientSessionOptions } from 'node:http2';
import type { ServerLogger } from '../config.js';
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

export function fetchMembers(peerUrl: string, timeoutMs: number, tls?: SecureClientSessionOptions): Promise<RemoteCluster> {
  return new Promise<RemoteCluster>((resolve, reject) => {
    let session: http2.ClientHttp2Session;
    try {
      const origin = new URL(peerUrl).origin;
      session = origin.startsWith('https:') ? http2.connect(origin, tls ?? {}) : http2.connect(origin);
    } catch (err) {
      reject(err as Error);
      return;
    }
    session.on('error', () => {});
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      f();
    };
    const timer = setTimeout(() => finish(() => reject(new Error('request timed out'))), timeoutMs);
    let req: http2.ClientHttp2Stream;
    try {
      req = session.request({ ':method': 'GET', ':path': MEMBERS_PATH });
    } catch (err) {
      finish(() => reject(err as Error));
      return;
    }
    let status = 0;
    let cid: string | undefined;
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      status = Number(h[':status'] ?? 0);
      const v = h['x-etcd-cluster-id'];
      cid = typeof v === 'string' ? v : undefined;
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', (err) => finish(() => reject(err)));
    req.on('close', () =>
      finish(() => {
        if (status !== 200) return reject(new Error(`unexpected status ${status}`));
        if (cid === undefined || !/^[0-9a-fA-F]{1,16}$/.test(cid)) return reject(new Error(`invalid X-Etcd-Cluster-ID "${cid}"`));
        try {
          resolve({ clusterId: BigInt('0x' + cid), members: membersFromJsonArray(Buffer.concat(chunks).toString('utf8')) });
        } catch (err) {
          reject(err as Error);
        }
      }),
    );
    req.end();
  });
}
