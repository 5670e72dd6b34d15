// Paths, headers and the admission check every peer request passes: same cluster, addressed to us,
// from a member that was not removed. Status codes and texts follow etcd's rafthttp.

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { NodeId } from '../raft/raftpb/types.js';
import type { TransportLogger } from './options.js';

export const STREAM_PATH = '/raft/stream';
export const SNAPSHOT_PATH = '/raft/snapshot';

export const H_CLUSTER_ID = 'x-etcd-cluster-id';
export const H_FROM = 'x-server-from';
export const H_TO = 'x-raft-to';
export const H_REMOVED = 'x-etcd-removed';

export const ERR_CLUSTER_ID_MISMATCH = 'cluster ID mismatch';
export const ERR_TO_MISMATCH = 'to field mismatch';
export const ERR_REMOVED = 'removed member';
export const ERR_MEMBER_REMOVED = 'the member has been permanently removed from the cluster';

/** etcd prints member and cluster IDs as unpadded lowercase hex. */
export function idHex(id: NodeId): string {
  return id.toString(16);
}

const HEX_ID = /^[0-9a-fA-F]{1,16}$/;

/** Parses an unpadded hex ID; null when malformed. */
export function parseIdHex(s: string | string[] | undefined): NodeId | null {
  if (typeof s !== 'string' || !HEX_ID.test(s)) return null;
  return BigInt('0x' + s);
}

export function requestHeaders(path: string, from: NodeId, to: NodeId, clusterId: NodeId): OutgoingHttpHeaders {
  return {
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/octet-stream',
    [H_CLUSTER_ID]: idHex(clusterId),
    [H_FROM]: idHex(from),
    [H_TO]: idHex(to),
  };
}

export interface Rejection {
  status: number;
  body: string;
  removed?: boolean;
}

/**
 * Admits or rejects a peer request, logging the reason the way etcd does. `from` is the parsed
 * sender ID on success.
 */
export function admit(
  headers: IncomingHttpHeaders,
  localId: NodeId,
  clusterId: NodeId,
  isIdRemoved: (id: NodeId) => boolean,
  lg: TransportLogger,
): { from: NodeId } | Rejection {
  const gcid = headers[H_CLUSTER_ID];
  if (gcid !== idHex(clusterId)) {
    lg.warning(
      `request cluster ID mismatch local-member-id=${idHex(localId)} local-member-cluster-id=${idHex(clusterId)} ` +
        `remote-peer-id=${String(headers[H_FROM])} remote-peer-cluster-id=${String(gcid)}`,
    );
    return { status: 412, body: ERR_CLUSTER_ID_MISMATCH };
  }
  const from = parseIdHex(headers[H_FROM]);
  if (from === null) {
    lg.warning(`failed to parse sender ID local-member-id=${idHex(localId)} from=${String(headers[H_FROM])}`);
    return { status: 400, body: 'invalid from' };
  }
  if (isIdRemoved(from)) {
    lg.warning(
      `rejected request from remote peer because it was removed local-member-id=${idHex(localId)} ` +
        `remote-peer-id-from=${idHex(from)}`,
    );
    return { status: 410, body: ERR_REMOVED, removed: true };
  }
  const to = headers[H_TO];
  if (to !== idHex(localId)) {
    lg.warning(
      `ignored request; ID mismatch local-member-id=${idHex(localId)} remote-peer-id-header=${String(to)} ` +
        `remote-peer-id-from=${idHex(from)} cluster-id=${idHex(clusterId)}`,
    );
    return { status: 412, body: ERR_TO_MISMATCH };
  }
  return { from };
}

/**
 * Turns a refused response into an error, logging cluster-ID mismatches on the sending side as etcd
 * does. Returns [error, memberRemoved].
 */
export function refusal(
  status: number,
  body: string,
  responseHeaders: IncomingHttpHeaders,
  localId: NodeId,
  clusterId: NodeId,
  to: NodeId,
  lg: TransportLogger,
): [Error, boolean] {
  const text = body.replace(/\n$/, '');
  if (status === 412 && text === ERR_CLUSTER_ID_MISMATCH) {
    lg.warning(
      `request sent was ignored by remote peer due to cluster ID mismatch remote-peer-id=${idHex(to)} ` +
        `remote-peer-cluster-id=${String(responseHeaders[H_CLUSTER_ID])} local-member-id=${idHex(localId)} ` +
        `local-member-cluster-id=${idHex(clusterId)}`,
    );
    return [new Error(ERR_CLUSTER_ID_MISMATCH), false];
  }
  if (status === 410) return [new Error(ERR_MEMBER_REMOVED), true];
  if (status === 412) return [new Error(`unhandled error ${JSON.stringify(text)} when precondition failed`), false];
  return [new Error(`unexpected http status ${status}${text ? ` (${text})` : ''}`), false];
}
