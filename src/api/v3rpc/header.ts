// Completes response headers the way etcd's v3rpc header.fill does: cluster ID, member ID and raft
// term always come from the server; the revision is the server's current one unless the response
// already carries the revision it was served at.

import type { EtcdServerApi, ResponseHeader } from '../types.js';

export function fillHeader(h: ResponseHeader | undefined, server: EtcdServerApi): ResponseHeader {
  const cur = server.header();
  if (h === undefined) return cur;
  h.clusterId = cur.clusterId;
  h.memberId = cur.memberId;
  h.raftTerm = cur.raftTerm;
  if (h.revision === 0) h.revision = cur.revision;
  return h;
}

/** `resp` with its header completed by fillHeader. */
export function withHeader<T extends { header?: ResponseHeader }>(resp: T, server: EtcdServerApi): T {
  resp.header = fillHeader(resp.header, server);
  return resp;
}

/** A header at a given revision (watch responses report the revision of their events). */
export function headerAt(server: EtcdServerApi, revision: number): ResponseHeader {
  const h = server.header();
  return { clusterId: h.clusterId, memberId: h.memberId, revision, raftTerm: h.raftTerm };
}
