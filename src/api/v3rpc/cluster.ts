// The Cluster service (etcd's v3rpc ClusterServer): MemberAdd (peer URLs checked here, as etcd's
// types.NewURLs does), MemberRemove, MemberUpdate, MemberList and MemberPromote, each offered when
// the server implements it. Headers carry cluster ID, member ID and raft term but no revision,
// as etcd 3.4's cluster service sends them.

import { ErrGRPCMemberBadURLs } from '../errors.js';
import type { UnaryCall } from '../grpc/server.js';
import type { EtcdServerApi, Member, MemberListResponse, RequestContext, ResponseHeader } from '../types.js';
import type { UnaryHandlers } from './handlers.js';

interface Members {
  header?: ResponseHeader;
  members: Member[];
}

/** The membership operations a server may offer besides MemberList. */
export interface ClusterServerApi {
  memberAdd?(r: { peerURLs: string[]; isLearner: boolean }, ctx: RequestContext): Promise<Members & { member: Member }>;
  memberRemove?(r: { ID: bigint }, ctx: RequestContext): Promise<Members>;
  memberUpdate?(r: { ID: bigint; peerURLs: string[] }, ctx: RequestContext): Promise<Members>;
  memberPromote?(r: { ID: bigint }, ctx: RequestContext): Promise<Members>;
}

/**
 * etcd's types.NewURLs: at least one URL; http(s) URLs need host:port and no path; unix(s) URLs
 * pass as they are. Returns the trimmed URLs sorted, or null when any is invalid.
 */
export function validPeerUrls(urls: string[]): string[] | null {
  if (urls.length === 0) return null;
  const out: string[] = [];
  for (const raw of urls) {
    const s = raw.trim();
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/.exec(s);
    if (m === null) return null;
    const scheme = m[1]!.toLowerCase();
    if (scheme === 'http' || scheme === 'https') {
      if (!/^(\[[^\]]+\]|[^:[\]]*):\d*$/.test(m[2]!.replace(/^[^@]*@/, ''))) return null;
      if (m[3] !== '') return null;
    } else if (scheme !== 'unix' && scheme !== 'unixs') {
      return null;
    }
    out.push(s);
  }
  return out.sort();
}

export function clusterHandlers(s: EtcdServerApi): UnaryHandlers {
  const c = s as EtcdServerApi & ClusterServerApi;
  const h: UnaryHandlers = {};
  const header = (): ResponseHeader => ({ ...s.header(), revision: 0 });
  const withHeader = <T extends { header?: ResponseHeader }>(r: T): T => {
    r.header = header();
    return r;
  };
  if (c.memberList !== undefined) {
    const list = c.memberList.bind(c);
    h.MemberList = async (r: { linearizable: boolean }, call: UnaryCall): Promise<MemberListResponse> =>
      withHeader(await list(r.linearizable, call.ctx));
  }
  if (c.memberAdd !== undefined) {
    const add = c.memberAdd.bind(c);
    h.MemberAdd = async (r: { peerURLs: string[]; isLearner: boolean }, call: UnaryCall) => {
      const urls = validPeerUrls(r.peerURLs);
      if (urls === null) throw ErrGRPCMemberBadURLs;
      return withHeader(await add({ peerURLs: urls, isLearner: r.isLearner }, call.ctx));
    };
  }
  if (c.memberRemove !== undefined) {
    const remove = c.memberRemove.bind(c);
    h.MemberRemove = async (r: { ID: bigint }, call: UnaryCall) => withHeader(await remove({ ID: r.ID }, call.ctx));
  }
  if (c.memberUpdate !== undefined) {
    const update = c.memberUpdate.bind(c);
    h.MemberUpdate = async (r: { ID: bigint; peerURLs: string[] }, call: UnaryCall) =>
      withHeader(await update({ ID: r.ID, peerURLs: r.peerURLs }, call.ctx));
  }
  if (c.memberPromote !== undefined) {
    const promote = c.memberPromote.bind(c);
    h.MemberPromote = async (r: { ID: bigint }, call: UnaryCall) => withHeader(await promote({ ID: r.ID }, call.ctx));
  }
  return h;
}
